/**
 * Clients that do not read: the server's writes stall. An app's own array
 * must not change under a write still in flight, and a stalled write is
 * bounded by `sockoperTimeout`, whatever else the connection waits for.
 */
import assert from "node:assert/strict";
import { serve } from "../../wsgi/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { HOST } from "../http.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const REQUEST = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
/** Enough 20 kB answers to fill loopback's socket buffers (a few MB) several times over. */
const COUNT = 400;

Deno.test("slow client: an app that refills one array for every answer: no answer carries the next one's bytes", async () => {
  const SIZE = 20_000;
  const shared = new Uint8Array(SIZE);
  let served = 0;
  const app: App = (_environ, startResponse) => {
    shared.fill(0x61 + (served++ % 26)); // this answer's letter, in the array the last answer used
    startResponse("200 OK", [["Content-Length", String(SIZE)]]);
    return [shared];
  };
  const server = serve(app, { hostname: HOST, port: 0, onError: () => {} });
  const client = await Deno.connect({ hostname: HOST, port: (server.addr as Deno.NetAddr).port });
  try {
    // One request at a time, not reading: past a few MB the server's writes stall, and requests keep coming.
    const sending = (async () => {
      for (let i = 0; i < COUNT; i++) {
        await client.write(REQUEST);
        await sleep(2);
      }
    })();
    await sleep(300);
    let data = new Uint8Array(0);
    const buf = new Uint8Array(1 << 20);
    let parsed = 0;
    const wrong: string[] = [];
    const deadline = Date.now() + 20_000;
    while (parsed < COUNT && Date.now() < deadline) {
      const n = await client.read(buf);
      if (n === null) break;
      const next = new Uint8Array(data.length + n);
      next.set(data);
      next.set(buf.subarray(0, n), data.length);
      data = next;
      for (;;) {
        const head = new TextDecoder("latin1").decode(data.subarray(0, 200));
        const end = head.indexOf("\r\n\r\n");
        if (end < 0 || data.length < end + 4 + SIZE) break;
        const body = data.subarray(end + 4, end + 4 + SIZE);
        const letter = 0x61 + (parsed % 26);
        const at = body.findIndex((b) => b !== letter);
        if (at >= 0) wrong.push(`answer ${parsed}: byte ${at} is ${String.fromCharCode(body[at])}`);
        parsed++;
        data = data.subarray(end + 4 + SIZE);
      }
    }
    await sending;
    assert.deepEqual(wrong, []);
    assert.equal(parsed, COUNT);
  } finally {
    client.close();
    await server.shutdown(500);
  }
});

Deno.test("slow client: a late head while an answer's write is stalled: the connection closes after sockoperTimeout", async () => {
  // The answers are strings (the server's own bytes): each is sent without waiting before the next
  // request is read. Once the client stops reading, one of those writes stalls; then a head starts
  // and never ends. The 408 cannot go out behind the stalled write: the write's own deadline closes.
  const body = "a".repeat(60_000);
  const app: App = (_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [body];
  };
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    headersTimeout: 300,
    keepAliveTimeout: 5000,
    sockoperTimeout: 1000,
    onError: () => {},
  });
  const client = await Deno.connect({ hostname: HOST, port: (server.addr as Deno.NetAddr).port });
  try {
    for (let i = 0; i < 150; i++) {
      await client.write(REQUEST);
      await sleep(2);
    }
    await client.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    const started = Date.now();
    while (server.server.connections > 0 && Date.now() - started < 6000) await sleep(50);
    const waited = Date.now() - started;
    assert.equal(
      server.server.connections,
      0,
      `the connection was still open ${waited} ms after the late head began`,
    );
    assert.ok(waited < 4000, `closed after ${waited} ms`);
  } finally {
    client.close();
    await server.shutdown(500);
  }
});
