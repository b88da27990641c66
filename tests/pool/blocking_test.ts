/**
 * `blocking()` under `serve()`, over real sockets: a synchronous app runs
 * in a worker with the request's body and environ, and a fast route beside
 * it answers at once while it computes.
 */
import assert from "node:assert/strict";
import { blocking } from "../../pool/mod.ts";
import { Client, HOST, textApp, withServer } from "../http.ts";

const WORK = new URL("./work.ts", import.meta.url);

Deno.test("blocking: a synchronous app runs in a worker with the body and environ; a fast route answers within 100 ms meanwhile", async () => {
  const slow = blocking(WORK, "report", { size: 2 });
  try {
    await withServer([["/slow", slow], ["/", textApp("fast")]], {}, async ({ port, errors }) => {
      // Warm the worker (its start and the module's import are not what this measures).
      const warm = await Client.connect(port);
      assert.ok(await warm.write(`GET /slow?n=1 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      assert.equal((await warm.response("GET", 5000)).body, "GET /slow fib(1)=1 body=");
      await warm.close();

      const computing = await Client.connect(port);
      assert.ok(
        await computing.write(
          `POST /slow/x?n=36 HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\n\r\nhello`,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 50)); // the worker is computing now
      for (let i = 0; i < 3; i++) {
        const fast = await Client.connect(port);
        const sent = Date.now();
        assert.ok(await fast.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
        assert.equal((await fast.response()).body, "fast");
        const took = Date.now() - sent;
        assert.ok(took < 100, `the fast route took ${took} ms while the worker computed`);
        await fast.close();
      }
      const response = await computing.response("POST", 20_000);
      assert.equal(response.status, 200);
      assert.equal(response.body, "POST /slow/x fib(36)=14930352 body=hello");
      assert.match(response.raw, /X-Worker: yes\r\n/);
      await computing.close();
      assert.deepEqual(errors, []);
    });
  } finally {
    await slow.pool.close();
  }
});
