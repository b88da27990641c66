/** `relay`: the result's close() is called once, however the response ends (PEP 3333). */
import assert from "node:assert/strict";
import { relay } from "../../middleware/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { exchange, startServer } from "../http.ts";

/** An app whose result is an iterable with a close() that counts its calls. */
function closable(fail: boolean) {
  const closed = { count: 0 };
  const app: App = (_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    const items = ["a", "b"];
    return {
      *[Symbol.iterator]() {
        yield items[0];
        if (fail) throw new Error("failed mid-body");
        yield items[1];
      },
      close() {
        closed.count++;
      },
    };
  };
  return { app, closed };
}

for (const fail of [false, true]) {
  Deno.test(`relay: the wrapped result's close() runs once (${fail ? "the app fails" : "a normal end"})`, async () => {
    const { app, closed } = closable(fail);
    const wrapped: App = (environ, startResponse) => relay(app(environ, startResponse));
    const server = startServer(wrapped);
    try {
      const result = await exchange(server.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assert.ok(result.closed);
      assert.equal(closed.count, 1);
      assert.equal(server.errors.length, fail ? 1 : 0);
    } finally {
      await server.stop();
    }
  });
}
