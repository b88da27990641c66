import assert from "node:assert/strict";
import { LazyStartResponseMiddleware } from "../../middleware/mod.ts";
import type { Environ, StartResponse } from "../../wsgi/mod.ts";
import { Client, get, responseTo, startServer, TEXT } from "../http.ts";

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
  const t = startServer(LazyStartResponseMiddleware(maybeReady));
  try {
    const response = await responseTo(t.port, get("/", { host: "test" }));
    assert.equal(response.status, 504);
    assert.equal(response.text, "nobody was ready");
  } finally {
    await t.stop();
  }
});

Deno.test("LazyStartResponseMiddleware: without it, the headers went out with the operation's empty chunk", async () => {
  const t = startServer(maybeReady);
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // startResponse with excInfo after the headers were sent rethrows: the response is cut short.
    const { text: raw, closed } = await client.readUntilClose();
    await client.close();
    assert.ok(closed, `the server did not close the connection: ${JSON.stringify(raw)}`);
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /Transfer-Encoding: chunked\r\n/);
    assert.ok(!raw.endsWith("0\r\n\r\n"), "no terminating chunk: the client sees a truncated message");
    assert.equal(t.errors.length, 1);
    assert.match(String(t.errors[0].error), /OperationTimeout/);
  } finally {
    await t.stop();
  }
});

Deno.test("LazyStartResponseMiddleware: an app without body still gets its headers; write() works", async () => {
  const t = startServer(LazyStartResponseMiddleware((_environ, startResponse) => {
    const write = startResponse("200 OK", TEXT);
    write("written");
    return [];
  }));
  const empty = startServer(LazyStartResponseMiddleware((_environ, startResponse) => {
    startResponse("204 No Content", []);
    return [];
  }));
  try {
    assert.equal((await responseTo(t.port, get("/", { host: "test" }))).text, "written");
    assert.equal((await responseTo(empty.port, get("/", { host: "test" }))).status, 204);
  } finally {
    await t.stop();
    await empty.stop();
  }
});
