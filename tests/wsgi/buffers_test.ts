/**
 * Read buffers under load: with more connections reading at once than there
 * are spare buffers, reads fall back to small arrays that grow as a head
 * needs — every request still parses exactly, whatever its size.
 */
import assert from "node:assert/strict";
import type { App } from "../../wsgi/mod.ts";
import { Client, startServer } from "../http.ts";

const CONNECTIONS = 400;

/** Answers the length of its X-Pad header. */
const padLength: App = (environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [String((environ.HTTP_X_PAD as string | undefined)?.length ?? -1)];
};

Deno.test(`buffers: ${CONNECTIONS} idle keep-alive connections, then heads of 40 B to 6 KB on each, all parsed`, async () => {
  const t = startServer(padLength);
  const clients: Client[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) clients.push(await Client.connect(t.port));
    // A first request on each, so every connection then waits idle, reading, at the same time.
    const first = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    await Promise.all(clients.map((c) => c.write(first)));
    for (const c of clients) assert.equal((await c.response()).body, "-1");
    const sizes = clients.map((_, i) => (i * 97) % 6000);
    await Promise.all(
      clients.map((c, i) =>
        c.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(sizes[i]) || "-"}\r\n\r\n`)
      ),
    );
    for (let i = 0; i < clients.length; i++) {
      const response = await clients[i].response();
      assert.equal(response.status, 200);
      assert.equal(response.body, String(Math.max(sizes[i], 1)));
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await t.stop();
  }
});
