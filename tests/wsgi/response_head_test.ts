/**
 * The head cache: an app that answers the same status and fields again
 * reuses their checked, encoded bytes — and an app that changes them, even
 * in the same array, gets the new ones. Fields above U+007F go out as one
 * byte each.
 */
import assert from "node:assert/strict";
import type { App } from "../../wsgi/mod.ts";
import { dateHeader, dateLine, HeadCache, KnownHead, ServerLines } from "../../wsgi/response_head.ts";
import { Output } from "../../wsgi/output.ts";
import { exchange, latin1, normalizeDate, SOFTWARE, startServer } from "../http.ts";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_CLOSE = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

Deno.test("HeadCache: the same strings in a new array hit; a changed value, name, status or length misses", () => {
  const heads = new HeadCache(4);
  const first = heads.get("200 OK", [["Content-Type", "text/plain"]]);
  assert.equal(heads.get("200 OK", [["Content-Type", "text/plain"]]), first, "same content, new arrays");
  assert.notEqual(heads.get("200 OK", [["Content-Type", "text/html"]]), first);
  assert.notEqual(heads.get("200 OK", [["Content-type", "text/plain"]]), first);
  assert.notEqual(heads.get("201 Created", [["Content-Type", "text/plain"]]), first);
  assert.notEqual(heads.get("200 OK", [["Content-Type", "text/plain"], ["X-A", "1"]]), first);
  assert.equal(latin1(first.bytes(1)), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
  assert.equal(latin1(first.bytes(0)), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n");
});

Deno.test("HeadCache: a bad header list is refused every time, never cached", () => {
  const heads = new HeadCache();
  for (let i = 0; i < 2; i++) {
    assert.throws(() => heads.get("200 OK", [["Bad Name", "x"]]), /header name "Bad Name"/);
    assert.throws(
      () => heads.get("200 OK", undefined as unknown as [string, string][]),
      /headers must be an array of \[name, value\] pairs, got undefined/,
    );
    assert.throws(
      () => heads.get("200 OK", [["X", "a"], "no" as unknown as [string, string]]),
      /header 1 must be a \[name, value\] pair of strings/,
    );
  }
});

Deno.test("HeadCache: a 205 with a non-zero Content-Length is refused every time; 0 or none is kept", () => {
  const heads = new HeadCache();
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => heads.get("205 Reset Content", [["Content-Length", "12"]]),
      new TypeError(
        "startResponse: a 205 response has no content (RFC 9110 §15.3.6), but its Content-Length is 12; " +
          "leave Content-Length out (the server sends 0) or set it to 0",
      ),
    );
  }
  assert.equal(heads.get("205 Reset Content", [["Content-Length", "0"]]).facts.contentLength, 0);
  assert.equal(heads.get("205", []).facts.contentLength, -1);
  assert.equal(heads.get("200 OK", [["Content-Length", "12"]]).facts.contentLength, 12);
});

Deno.test("KnownHead: what the fields say (length, Date, Server, close) is learnt once", () => {
  const known = new KnownHead("200 OK", [["Content-Length", "5"], ["date", "x"], ["Connection", "close"]]);
  assert.deepEqual(known.facts, { contentLength: 5, date: true, server: false, close: true });
});

Deno.test("head cache: an app that changes its shared header array between requests sends the new fields", async () => {
  const headers: [string, string][] = [["Content-Type", "text/plain"], ["X-Count", "0"]];
  let count = 0;
  const app: App = (_environ, startResponse) => {
    headers[1][1] = String(count++);
    startResponse("200 OK", headers);
    return ["ok"];
  };
  const server = startServer(app);
  try {
    const result = await exchange(server.port, GET + GET + GET_CLOSE);
    const one = (n: number, close = "") =>
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Count: ${n}\r\nDate: <date>\r\nServer: ${SOFTWARE}\r\n` +
      `Content-Length: 2\r\n${close}\r\nok`;
    assert.equal(normalizeDate(result.text), one(0) + one(1) + one(2, "Connection: close\r\n"));
  } finally {
    await server.stop();
  }
});

Deno.test("head: a long field value with bytes above 0x7F goes out one byte per code point", async () => {
  const value = "café, naïve, and some more text to pass the fast path";
  const app: App = (_environ, startResponse) => {
    startResponse("200 OK", [["X-Text", value]]);
    return [];
  };
  const server = startServer(app);
  try {
    const result = await exchange(server.port, GET_CLOSE);
    assert.equal(
      normalizeDate(result.text),
      `HTTP/1.1 200 OK\r\nX-Text: ${value}\r\nDate: <date>\r\nServer: ${SOFTWARE}\r\nContent-Length: 0\r\n` +
        "Connection: close\r\n\r\n",
    );
  } finally {
    await server.stop();
  }
});

Deno.test("Output.latin1: text of 32+ code points with some above 0x7F is copied one byte each", async () => {
  const { Output } = await import("../../wsgi/output.ts");
  const written: Uint8Array[] = [];
  const conn = { write: (data: Uint8Array) => (written.push(data.slice()), Promise.resolve(data.length)) };
  const out = new Output(conn as unknown as Deno.Conn);
  const text = "ASCII first, then \xe9\xff and more ASCII after it";
  out.latin1(text);
  out.latin1("short \xe9");
  await out.flush();
  assert.equal(latin1(written[0]), text + "short \xe9");
});

Deno.test("Output: many small pieces (a pipelined batch of answers) leave in one write, up to 16 KiB", async () => {
  const { Output } = await import("../../wsgi/output.ts");
  const written: Uint8Array[] = [];
  const conn = { write: (data: Uint8Array) => (written.push(data.slice()), Promise.resolve(data.length)) };
  const outputs = Array.from({ length: 40 }, () => new Output(conn as unknown as Deno.Conn));
  // Forty outputs gathering at once empty the shared pool of blocks, so some start with small ones.
  const answer = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!".padEnd(120, " ");
  for (const out of outputs) for (let i = 0; i < 40; i++) out.latin1(answer);
  for (const out of outputs) await out.flush();
  assert.equal(written.length, 40, "one write per output");
  for (const data of written) assert.equal(data.length, 40 * 120);
});

Deno.test("head: the Date line follows the clock (read once a second, not once a response)", async () => {
  const app: App = (_environ, startResponse) => {
    startResponse("200 OK", []);
    return ["ok"];
  };
  const server = startServer(app);
  try {
    const dateOf = async () => {
      const result = await exchange(server.port, GET_CLOSE);
      return Date.parse(/\r\nDate: ([^\r]+)\r\n/.exec(result.text)![1]);
    };
    const first = await dateOf();
    assert.ok(Math.abs(first - Date.now()) <= 2000, "close to now");
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const second = await dateOf();
    assert.ok(
      second - first >= 1000 && second - first <= 3000,
      `moved on by about 2 s: ${second - first} ms`,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("Date: one IMF-fixdate format for the server's own answers (dateHeader) and the apps' (ServerLines)", async () => {
  assert.equal(dateLine(784111777), "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", "RFC 9110 §5.6.7's example");
  const written: Uint8Array[] = [];
  const conn = { write: (data: Uint8Array) => (written.push(data.slice()), Promise.resolve(data.length)) };
  const lines = new ServerLines("test/1");
  // Retried if the clock crosses a second between the two reads.
  for (let attempt = 0; attempt < 3; attempt++) {
    written.length = 0;
    const text = dateHeader();
    const out = new Output(conn as unknown as Deno.Conn);
    lines.write(out, { contentLength: -1, date: false, server: false, close: false });
    await out.flush();
    if (dateHeader() !== text) continue;
    assert.equal(latin1(written[0]), `${text}Server: test/1\r\n`);
    return;
  }
  assert.fail("the clock moved on at every attempt");
});

Deno.test("KnownHead.withLines: head, server lines and Content-Length prefix in one array, made again when the lines change", () => {
  const known = new KnownHead("200 OK", [["Content-Type", "text/plain"]]);
  const monday = new TextEncoder().encode("Date: Mon\r\nServer: s\r\n");
  const tuesday = new TextEncoder().encode("Date: Tue\r\nServer: s\r\n");
  const first = known.withLines(1, monday, true);
  assert.equal(
    latin1(first),
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon\r\nServer: s\r\nContent-Length: ",
  );
  assert.equal(known.withLines(1, monday, true), first, "the same array while the lines are the same");
  assert.equal(
    latin1(known.withLines(0, monday, false)),
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nDate: Mon\r\nServer: s\r\n",
  );
  const next = known.withLines(1, tuesday, true);
  assert.notEqual(next, first);
  assert.equal(
    latin1(next),
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Tue\r\nServer: s\r\nContent-Length: ",
  );
});
