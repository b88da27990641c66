/**
 * examples/echo.ts answers the JSON contract exactly: method, raw path, raw
 * query, lower-cased headers (repeats joined with ", ", cookie with "; "),
 * and the body as ISO-8859-1.
 */
import assert from "node:assert/strict";
import { echo } from "../../examples/echo.ts";
import { exchange, header, latin1, normalizeDate, SOFTWARE, startServer } from "../http.ts";

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` to the echo app; returns the parsed JSON (and checks the response around it). */
async function echoOf(request: string | Uint8Array): Promise<Echo> {
  const server = startServer(echo);
  try {
    const result = await exchange(server.port, request);
    assert.ok(result.closed, "hung");
    assert.equal(result.rest, "");
    assert.equal(result.responses.length, 1, result.text);
    const response = result.responses[0];
    assert.equal(response.status, 200);
    assert.equal(header(response, "content-type"), "application/json; charset=utf-8");
    assert.equal(header(response, "content-length"), String(response.body.length));
    assert.deepEqual(server.errors, []);
    // The JSON is UTF-8 on the wire.
    const json = new TextDecoder().decode(Uint8Array.from(response.body, (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } finally {
    await server.stop(500);
  }
}

Deno.test("echo: the exact response bytes of a simple GET", async () => {
  const server = startServer(echo);
  try {
    const result = await exchange(
      server.port,
      "GET /hi?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    const json =
      '{"method":"GET","path":"/hi","query":"x=1","headers":{"host":"h","connection":"close"},"body":""}';
    assert.equal(
      normalizeDate(result.text),
      `HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nDate: <date>\r\nServer: ${SOFTWARE}\r\n` +
        `Content-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`,
    );
  } finally {
    await server.stop(500);
  }
});

Deno.test("echo: origin-form — raw path (percent-encoding kept), raw query", async () => {
  const got = await echoOf(
    "GET /a%20b/%2F/c%C3%A9?q=%20x&y=&z HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
  );
  assert.deepEqual(got, {
    method: "GET",
    path: "/a%20b/%2F/c%C3%A9",
    query: "q=%20x&y=&z",
    headers: { host: "example.com", connection: "close" },
    body: "",
  });
});

Deno.test("echo: absolute-form — path without scheme and authority", async () => {
  const got = await echoOf(
    "GET http://example.com:8080/p/q?r=1 HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
  );
  assert.equal(got.path, "/p/q");
  assert.equal(got.query, "r=1");
  const bare = await echoOf(
    "GET http://example.com?a HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
  );
  assert.equal(bare.path, "/");
  assert.equal(bare.query, "a");
});

Deno.test("echo: query with a second ? and an empty query", async () => {
  const got = await echoOf("GET /p?a=1?b=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.deepEqual([got.path, got.query], ["/p", "a=1?b=2"]);
  const empty = await echoOf("GET /p? HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.deepEqual([empty.path, empty.query], ["/p", ""]);
});

Deno.test('echo: headers lower-cased, repeats joined with ", ", cookies with "; ", OWS trimmed', async () => {
  const got = await echoOf(
    "GET / HTTP/1.1\r\nHost: x\r\nX-Multi: one\r\nx-multi:two  \r\nX-MULTI: \tthree\r\n" +
      "Cookie: a=1\r\nCookie: b=2; c=3\r\nAccept: */*\r\nX-Empty:\r\nX-Obs: caf\xe9\r\nConnection: close\r\n\r\n",
  );
  assert.deepEqual(got.headers, {
    host: "x",
    "x-multi": "one, two, three",
    cookie: "a=1; b=2; c=3",
    accept: "*/*",
    "x-empty": "",
    "x-obs": "caf\xe9",
    connection: "close",
  });
});

Deno.test("echo: method as received", async () => {
  const got = await echoOf("PURGE /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(got.method, "PURGE");
  const del = await echoOf("DELETE /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(del.method, "DELETE");
});

Deno.test("echo: a binary body comes back as ISO-8859-1, byte for byte", async () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const head =
    `POST /bin HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 256\r\nConnection: close\r\n\r\n`;
  const request = new Uint8Array(head.length + 256);
  request.set(new TextEncoder().encode(head));
  request.set(all, head.length);
  const got = await echoOf(request);
  assert.equal(got.body, latin1(all));
  assert.equal(got.headers["content-length"], "256");
  assert.equal(got.method, "POST");
});

Deno.test("echo: a large body", async () => {
  const body = "0123456789".repeat(20_000);
  const got = await echoOf(
    `PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  assert.equal(got.body, body);
});

Deno.test("echo: a chunked body is de-chunked; extensions skipped; trailers not in headers", async () => {
  const got = await echoOf(
    "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nw\x00rld\xff\r\n0\r\nX-Trailer: t\r\n\r\n",
  );
  assert.equal(got.body, "hello w\x00rld\xff");
  assert.deepEqual(got.headers, { host: "x", "transfer-encoding": "chunked", connection: "close" });
});

Deno.test("echo: HTTP/1.0 request", async () => {
  const got = await echoOf("POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
  assert.deepEqual(got, {
    method: "POST",
    path: "/old",
    query: "",
    headers: { "content-length": "2" },
    body: "hi",
  });
});
