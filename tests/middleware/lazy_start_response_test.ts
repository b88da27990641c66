import assert from "node:assert/strict";
import { LazyStartResponseMiddleware } from "../../middleware/mod.ts";
import type { Environ, StartResponse } from "../../wsgi/mod.ts";
import { Client, get, start } from "../e2e/client.ts";

const TEXT: [string, string][] = [["Content-Type", "text/plain"]];

async function* maybeReady(environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", TEXT);
  yield environ.cogen.core.events.WaitForSignal("ready", { timeout: 20 });
  if (environ.cogen.result instanceof Error) {
    startResponse("504 Gateway Timeout", TEXT, environ.cogen.exception);
    yield "nobody was ready";
    return;
  }
  yield "ready";
}

Deno.test("LazyStartResponseMiddleware: the status can still change after an operation failed", async () => {
  const t = start(LazyStartResponseMiddleware(maybeReady));
  try {
    const response = await get(t.port, "/");
    assert.equal(response.status, 504);
    assert.equal(response.text, "nobody was ready");
  } finally {
    await t.close();
  }
});

Deno.test("LazyStartResponseMiddleware: without it, the headers went out with the operation's empty chunk", async () => {
  const t = start(maybeReady);
  try {
    const client = await Client.connect(t.port);
    await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // startResponse with excInfo after the headers were sent rethrows: the response is cut short.
    const raw = await client.readAll();
    client.close();
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /Transfer-Encoding: chunked\r\n/);
    assert.ok(!raw.endsWith("0\r\n\r\n"), "no terminating chunk: the client sees a truncated message");
    assert.equal(t.errors.length, 1);
    assert.match(String(t.errors[0][0]), /OperationTimeout/);
  } finally {
    await t.close();
  }
});

Deno.test("LazyStartResponseMiddleware: an app without body still gets its headers; write() works", async () => {
  const t = start(LazyStartResponseMiddleware((_environ, startResponse) => {
    const write = startResponse("200 OK", TEXT);
    write("written");
    return [];
  }));
  const empty = start(LazyStartResponseMiddleware((_environ, startResponse) => {
    startResponse("204 No Content", []);
    return [];
  }));
  try {
    assert.equal((await get(t.port, "/")).text, "written");
    assert.equal((await get(empty.port, "/")).status, 204);
  } finally {
    await t.close();
    await empty.close();
  }
});
