import assert from "node:assert/strict";
import { SynchronousInputMiddleware } from "../../middleware/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { Client, responseTo, startServer } from "../http.ts";

const lines: App = (environ, startResponse) => {
  const input = environ["wsgi.input"];
  const first = new TextDecoder().decode(input.readline());
  const rest = input.readlines().map((line) => new TextDecoder().decode(line));
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify({ first, rest, buffered: input.buffered })];
};

Deno.test("SynchronousInputMiddleware: the app reads the buffered body synchronously", async () => {
  const t = startServer(SynchronousInputMiddleware(lines, { bufferLength: 4 }));
  try {
    const body = "one\ntwo\nthree";
    const response = await responseTo(
      t.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.deepEqual(JSON.parse(response.text), { first: "one\n", rest: ["two\n", "three"], buffered: true });
    const chunked = await responseTo(
      t.port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\na\nb\nc\r\n0\r\nX-T: 1\r\n\r\n",
    );
    assert.deepEqual(JSON.parse(chunked.text), { first: "a\n", rest: ["b\n", "c"], buffered: true });
  } finally {
    await t.stop();
  }
});

Deno.test("SynchronousInputMiddleware: read(n) in pieces, and other requests run while one body trickles in", async () => {
  const app: App = (environ, startResponse) => {
    const input = environ["wsgi.input"];
    const parts = [input.read(2), input.read(2), input.read()].map((p) => new TextDecoder().decode(p));
    startResponse("200 OK", [["Content-Type", "application/json"]]);
    return [JSON.stringify(parts)];
  };
  const t = startServer(SynchronousInputMiddleware(app));
  try {
    const slow = await Client.connect(t.port);
    assert.ok(await slow.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab"));
    // While that body is incomplete, another request is served.
    const quick = await responseTo(
      t.port,
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz",
    );
    assert.deepEqual(JSON.parse(quick.text), ["xy", "z", ""]);
    assert.ok(await slow.write("cdef"));
    assert.deepEqual(JSON.parse((await slow.response()).text), ["ab", "cd", "ef"]);
    await slow.close();
  } finally {
    await t.stop();
  }
});

Deno.test("SynchronousInputMiddleware: a body that never completes fails the request, not the server", async () => {
  const t = startServer(SynchronousInputMiddleware(lines), { sockoperTimeout: 100 });
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial"));
    assert.ok(
      (await client.readUntilClose(3000)).closed,
      "the connection is closed after the socket-operation timeout",
    );
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("SynchronousInputMiddleware: bufferLength must be a positive integer", () => {
  assert.throws(
    () => SynchronousInputMiddleware(lines, { bufferLength: 0 }),
    /bufferLength must be an integer >= 1, got 0/,
  );
});
