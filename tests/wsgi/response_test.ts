/**
 * Responses, byte for byte (the Date value normalised): framing (Content-Length,
 * chunked, close-delimited), HTTP/1.0 and 1.1, HEAD and bodiless statuses,
 * Content-Length enforcement, Connection handling, PEP 3333 startResponse
 * rules, and the server's answers to failing apps.
 */
import assert from "node:assert/strict";
import type { App, ServeOptions } from "../../wsgi/mod.ts";
import { hello } from "../../examples/hello.ts";
import {
  Client,
  DS,
  exchange,
  header,
  type Logged,
  normalizeDate,
  parseResponses,
  startServer,
  utf8AsLatin1,
} from "../http.ts";

const GET11 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET11_CLOSE = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
const GET10 = "GET / HTTP/1.0\r\n\r\n";

interface RoundTrip {
  /** The connection's whole output, Date normalised. */
  text: string;
  closed: boolean;
  errors: Logged[];
}

/** Sends `request` on one connection, reads until the server closes; the Date value is normalised. */
async function roundTrip(app: App, request: string, options: ServeOptions = {}): Promise<RoundTrip> {
  const server = startServer(app, options);
  try {
    const result = await exchange(server.port, request);
    assert.ok(result.closed, `the connection hung: ${JSON.stringify(result.text)}`);
    return { text: normalizeDate(result.text), closed: result.closed, errors: server.errors };
  } finally {
    await server.stop(500);
  }
}

/**
 * Sends `request`, reads one response (for `method`), then proves the
 * connection is still open with a second request; returns the first
 * response's bytes, Date normalised.
 */
async function keptAlive(
  app: App,
  request: string,
  method = "GET",
  options: ServeOptions = {},
): Promise<string> {
  const server = startServer(app, options);
  try {
    const client = await Client.connect(server.port);
    try {
      await client.write(request);
      const first = await client.response(method);
      assert.ok(await client.write(GET11_CLOSE), "the connection must stay open");
      const second = await client.response();
      assert.equal(second.status, 200);
      const after = await client.readUntilClose();
      assert.ok(after.closed);
      assert.equal(after.text, "");
      return normalizeDate(first.raw);
    } finally {
      await client.close();
    }
  } finally {
    await server.stop(500);
  }
}

const chunks = (...parts: (string | Uint8Array)[]): App =>
  async function* (_environ, startResponse) {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    for (const part of parts) yield part;
  };

// ---- framing ----

Deno.test("response: array app gets a Content-Length (keep-alive)", async () => {
  const raw = await keptAlive(hello, GET11);
  assert.equal(
    raw,
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 13\r\n\r\nHello, World!`,
  );
});

Deno.test("response: array app, Connection: close from the client is honoured and announced", async () => {
  const { text } = await roundTrip(hello, GET11_CLOSE);
  assert.equal(
    text,
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 13\r\nConnection: close\r\n\r\nHello, World!`,
  );
});

Deno.test("response: array of several chunks is sent as is", async () => {
  const app: App = (_e, sr) => {
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return ["Hello", ", ", "World!"];
  };
  const raw = await keptAlive(app, GET11);
  assert.ok(raw.startsWith(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}`), raw);
  assert.equal(parseBody(raw), "Hello, World!");
});

Deno.test("response: generator with one chunk gets a Content-Length", async () => {
  const app: App = function* (_e, sr) {
    sr("200 OK", [["Content-Type", "text/plain"]]);
    yield "Hello";
  };
  assert.equal(
    await keptAlive(app, GET11),
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 5\r\n\r\nHello`,
  );
});

Deno.test("response: async generator with one chunk gets a Content-Length", async () => {
  assert.equal(
    await keptAlive(chunks("Hello"), GET11),
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 5\r\n\r\nHello`,
  );
});

Deno.test("response: several chunks are chunked on HTTP/1.1 (empty chunks skipped)", async () => {
  assert.equal(
    await keptAlive(chunks("a", "", "bb", "ccc"), GET11),
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n\r\n` +
      "1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n",
  );
});

Deno.test("response: sync generator with several chunks is chunked on HTTP/1.1", async () => {
  const app: App = function* (_e, sr) {
    sr("200 OK", []);
    yield "ab";
    yield "c";
  };
  assert.equal(
    await keptAlive(app, GET11),
    `HTTP/1.1 200 OK\r\n${DS}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n`,
  );
});

Deno.test("response: an app that yields nothing gets Content-Length: 0", async () => {
  // deno-lint-ignore require-yield
  const app: App = function* (_e, sr) {
    sr("200 OK", []);
  };
  assert.equal(await keptAlive(app, GET11), `HTTP/1.1 200 OK\r\n${DS}Content-Length: 0\r\n\r\n`);
});

// ---- HTTP/1.0 ----

Deno.test("response: HTTP/1.0, several chunks: close-delimited", async () => {
  const { text } = await roundTrip(chunks("a", "bb", "ccc"), GET10);
  assert.equal(text, `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n${DS}Connection: close\r\n\r\nabbccc`);
});

Deno.test("response: HTTP/1.0, known length: Content-Length, then close", async () => {
  const { text } = await roundTrip(hello, GET10);
  assert.equal(
    text,
    `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 13\r\nConnection: close\r\n\r\nHello, World!`,
  );
});

Deno.test("response: HTTP/1.0 keep-alive only when asked, and announced", async () => {
  const raw = await keptAlive(hello, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  assert.equal(
    raw,
    `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!`,
  );
});

Deno.test("response: HTTP/1.0 keep-alive asked but length unknown: close-delimited and closed", async () => {
  const { text } = await roundTrip(chunks("a", "bb"), "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  assert.equal(text, `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n${DS}Connection: close\r\n\r\nabb`);
});

Deno.test("response: the status line is in the request's version (max 1.1), reason kept", async () => {
  const app: App = (_e, sr) => {
    sr("299 Some Reason", []);
    return ["x"];
  };
  for (const [version, expected] of [["1.0", "1.0"], ["1.1", "1.1"], ["1.2", "1.1"], ["1.9", "1.1"]]) {
    const { text } = await roundTrip(app, `GET / HTTP/${version}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(text.startsWith(`HTTP/${expected} 299 Some Reason\r\n`), `${version}: ${JSON.stringify(text)}`);
  }
});

Deno.test("response: a status without a reason phrase keeps the SP of the status-line grammar", async () => {
  const app: App = (_e, sr) => {
    sr("200", []);
    return ["x"];
  };
  const { text } = await roundTrip(app, GET11_CLOSE);
  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
  assert.ok(
    text.startsWith("HTTP/1.1 200 \r\n") || text.startsWith("HTTP/1.1 500 "),
    `status line ${JSON.stringify(text.slice(0, text.indexOf("\r\n") + 2))}`,
  );
});

// ---- HEAD and bodiless statuses ----

Deno.test("response: HEAD has the headers of GET and no body", async () => {
  const get = await keptAlive(hello, GET11);
  const head = await keptAlive(hello, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD");
  assert.equal(head, get.slice(0, get.indexOf("\r\n\r\n") + 4));
});

Deno.test("response: HEAD of a chunked app: same headers, no body, no last chunk", async () => {
  const get = await keptAlive(chunks("a", "bb"), GET11);
  const head = await keptAlive(chunks("a", "bb"), "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD");
  assert.equal(head, get.slice(0, get.indexOf("\r\n\r\n") + 4));
  assert.equal(
    head,
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n\r\n`,
  );
});

Deno.test("response: pipelined GET after HEAD stays in sync", async () => {
  for (const app of [hello, chunks("a", "bb")]) {
    const { text } = await roundTrip(
      app,
      "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n" +
        GET11_CLOSE,
    );
    const { responses, rest } = parseResponses(text, ["HEAD", "GET", "HEAD", "GET"]);
    assert.equal(rest, "", JSON.stringify(text));
    assert.deepEqual(responses.map((r) => [r.status, r.body]), [
      [200, ""],
      [200, app === hello ? "Hello, World!" : "abb"],
      [200, ""],
      [200, app === hello ? "Hello, World!" : "abb"],
    ]);
  }
});

Deno.test("response: 204 has no body and no framing; the next request follows", async () => {
  const app: App = (environ, sr) => {
    if (environ.PATH_INFO === "/204") {
      sr("204 No Content", []);
      return ["ignored"];
    }
    sr("200 OK", []);
    return ["next"];
  };
  const { text } = await roundTrip(app, "GET /204 HTTP/1.1\r\nHost: x\r\n\r\n" + GET11_CLOSE);
  assert.equal(
    text,
    `HTTP/1.1 204 No Content\r\n${DS}\r\n` +
      `HTTP/1.1 200 OK\r\n${DS}Content-Length: 4\r\nConnection: close\r\n\r\nnext`,
  );
});

Deno.test("response: 304 has no body (its Content-Length kept); the next request follows", async () => {
  const app: App = async function* (environ, sr) {
    if (environ.PATH_INFO === "/304") {
      sr("304 Not Modified", [["ETag", '"v1"'], ["Content-Length", "13"]]);
      return;
    }
    sr("200 OK", []);
    yield "next";
  };
  const { text } = await roundTrip(app, "GET /304 HTTP/1.1\r\nHost: x\r\n\r\n" + GET11_CLOSE);
  assert.equal(
    text,
    `HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 13\r\n${DS}\r\n` +
      `HTTP/1.1 200 OK\r\n${DS}Content-Length: 4\r\nConnection: close\r\n\r\nnext`,
  );
});

// ---- Content-Length from the app ----

Deno.test("response: the app's Content-Length is honoured (no chunking), connection kept", async () => {
  const app: App = async function* (_e, sr) {
    sr("200 OK", [["Content-Length", "5"]]);
    yield "he";
    yield "llo";
  };
  assert.equal(await keptAlive(app, GET11), `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n${DS}\r\nhello`);
});

Deno.test("response: an app sending more than its Content-Length is cut and the connection closed", async () => {
  const app: App = async function* (_e, sr) {
    sr("200 OK", [["Content-Length", "3"]]);
    yield "he";
    yield "llo";
    yield "more";
  };
  const { text, errors } = await roundTrip(app, GET11);
  assert.equal(text, `HTTP/1.1 200 OK\r\nContent-Length: 3\r\n${DS}\r\nhel`);
  assert.ok(errors.some((e) => String(e.error).includes("Content-Length")), "the overrun is logged");
});

Deno.test("response: a first chunk over the Content-Length is cut, Connection: close announced", async () => {
  const app: App = function* (_e, sr) {
    sr("200 OK", [["Content-Length", "3"]]);
    yield "hello";
  };
  const { text } = await roundTrip(app, GET11);
  assert.equal(text, `HTTP/1.1 200 OK\r\nContent-Length: 3\r\n${DS}Connection: close\r\n\r\nhel`);
});

Deno.test("response: an app sending less than its Content-Length: the connection is closed", async () => {
  const app: App = async function* (_e, sr) {
    sr("200 OK", [["Content-Length", "10"]]);
    yield "hello";
  };
  const { text, errors } = await roundTrip(app, GET11 + GET11);
  assert.equal(text, `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n${DS}\r\nhello`);
  assert.ok(errors.some((e) => String(e.error).includes("Content-Length")), "the shortfall is logged");
});

// ---- Connection ----

Deno.test("response: Connection: close from the app is honoured, not repeated", async () => {
  const app: App = (_e, sr) => {
    sr("200 OK", [["Connection", "close"]]);
    return ["bye"];
  };
  const { text } = await roundTrip(app, GET11 + GET11);
  assert.equal(text, `HTTP/1.1 200 OK\r\nConnection: close\r\n${DS}Content-Length: 3\r\n\r\nbye`);
});

Deno.test("response: Connection: close among other tokens from the client", async () => {
  const { text } = await roundTrip(
    hello,
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n" + GET11,
  );
  const { responses, rest } = parseResponses(text);
  assert.equal(responses.length, 1);
  assert.equal(rest, "");
  assert.equal(header(responses[0], "connection"), "close");
});

Deno.test("response: the app's Date and Server are kept, not doubled", async () => {
  const app: App = (_e, sr) => {
    sr("200 OK", [["Date", "Thu, 01 Jan 1970 00:00:00 GMT"], ["Server", "mine"]]);
    return ["x"];
  };
  const server = startServer(app);
  try {
    const { text } = await exchange(server.port, GET11_CLOSE);
    assert.equal(
      text,
      "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: mine\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
    );
  } finally {
    await server.stop(500);
  }
});

Deno.test("response: the software option sets Server", async () => {
  const { text } = await roundTrip(hello, GET11_CLOSE, { software: "test/9" });
  assert.ok(text.includes("\r\nServer: test/9\r\n"));
});

// ---- chunks ----

Deno.test("response: strings are sent as UTF-8 (non-ASCII), lengths in bytes", async () => {
  const s = "héllo ✓ 😀";
  const bytes = utf8AsLatin1(s);
  const single = await keptAlive(chunks(s), GET11);
  assert.equal(
    single,
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: ${bytes.length}\r\n\r\n${bytes}`,
  );
  const two = await keptAlive(chunks(s, "é"), GET11);
  assert.equal(
    two,
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n\r\n` +
      `${bytes.length.toString(16)}\r\n${bytes}\r\n2\r\n${utf8AsLatin1("é")}\r\n0\r\n\r\n`,
  );
});

Deno.test("response: Uint8Array chunks are sent untouched", async () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const app: App = (_e, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    return [all];
  };
  const raw = await keptAlive(app, GET11);
  const expected = String.fromCharCode(...all);
  assert.equal(
    raw,
    `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n${DS}Content-Length: 256\r\n\r\n${expected}`,
  );
});

Deno.test("response: a large body (several writes) arrives intact", async () => {
  const big = "x".repeat(300_000);
  const { text } = await roundTrip(chunks(big, "y"), GET11_CLOSE);
  const { responses, rest } = parseResponses(text);
  assert.equal(rest, "");
  assert.equal(responses[0].body, big + "y");
});

// ---- startResponse (PEP 3333) ----

Deno.test("response: startResponse a second time without excInfo → 500", async () => {
  const app: App = (_e, sr) => {
    sr("200 OK", []);
    sr("201 Created", []);
    return ["x"];
  };
  const { text, errors } = await roundTrip(app, GET11);
  assert.ok(text.startsWith("HTTP/1.1 500 Internal Server Error\r\n"), text);
  assert.equal(errors.length, 1);
});

Deno.test("response: startResponse with excInfo before the headers went out replaces them", async () => {
  const app: App = function* (_e, sr) {
    sr("200 OK", [["X-First", "1"]]);
    try {
      throw new Error("boom");
    } catch (error) {
      sr("503 Oops", [["X-Second", "2"]], error);
    }
    yield "sorry";
  };
  const { text } = await roundTrip(app, GET11_CLOSE);
  assert.equal(
    text,
    `HTTP/1.1 503 Oops\r\nX-Second: 2\r\n${DS}Content-Length: 5\r\nConnection: close\r\n\r\nsorry`,
  );
});

Deno.test("response: startResponse with excInfo after the headers went out rethrows it", async () => {
  let rethrown: unknown = null;
  const boom = new Error("boom");
  const app: App = async function* (_e, sr) {
    sr("200 OK", []);
    yield "a";
    yield "b";
    try {
      sr("500 Oops", [], boom);
    } catch (error) {
      rethrown = error;
    }
    yield "c";
  };
  const { text } = await roundTrip(app, GET11_CLOSE);
  assert.equal(rethrown, boom);
  assert.equal(
    text,
    `HTTP/1.1 200 OK\r\n${DS}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n`,
  );
});

Deno.test("response: the write() callable sends data before the iterable's", async () => {
  const app: App = (_e, sr) => {
    const write = sr("200 OK", [["Content-Type", "text/plain"]]);
    write("Hello");
    write(new TextEncoder().encode(", "));
    write("");
    return ["World!"];
  };
  const { text } = await roundTrip(app, GET11_CLOSE);
  const { responses, rest } = parseResponses(text);
  assert.equal(rest, "");
  assert.equal(responses[0].status, 200);
  assert.equal(responses[0].body, "Hello, World!");
});

Deno.test("response: write() with a declared Content-Length", async () => {
  const app: App = function* (_e, sr) {
    const write = sr("200 OK", [["Content-Length", "6"]]);
    write("abc");
    yield "def";
  };
  assert.equal(await keptAlive(app, GET11), `HTTP/1.1 200 OK\r\nContent-Length: 6\r\n${DS}\r\nabcdef`);
});

for (
  const [what, headers] of [
    ["CR LF in a value", [["X-Bad", "a\r\nInjected: 1"]]],
    ["LF in a value", [["X-Bad", "a\nInjected: 1"]]],
    ["CR in a value", [["X-Bad", "a\rInjected: 1"]]],
    ["NUL in a value", [["X-Bad", "a\0b"]]],
    ["CR LF in a name", [["X-Bad\r\nInjected", "1"]]],
    ["NUL in a name", [["X\0Bad", "1"]]],
    ["Transfer-Encoding set by the app", [["Transfer-Encoding", "chunked"]]],
  ] as [string, [string, string][]][]
) {
  Deno.test(`response: header with ${what} → 500, logged`, async () => {
    const app: App = (_e, sr) => {
      sr("200 OK", headers);
      return ["x"];
    };
    const { text, errors } = await roundTrip(app, GET11);
    assert.ok(text.startsWith("HTTP/1.1 500 Internal Server Error\r\n"), JSON.stringify(text));
    assert.ok(!text.includes("Injected"), "nothing of the bad header may be sent");
    assert.equal(errors.length, 1, "the error is logged");
    assert.ok(errors[0].error instanceof Error);
  });
}

// ---- failing apps ----

Deno.test("response: an app throwing before its headers → 500, short body, no stack", async () => {
  const app: App = () => {
    throw new Error("secret detail");
  };
  const { text, errors } = await roundTrip(app, GET11);
  assert.equal(
    text,
    `HTTP/1.1 500 Internal Server Error\r\n${DS}Content-Type: text/plain; charset=utf-8\r\n` +
      "Content-Length: 26\r\nConnection: close\r\n\r\n500 Internal Server Error\n",
  );
  assert.equal(errors.length, 1);
  assert.equal((errors[0].error as Error).message, "secret detail");
});

Deno.test("response: an async generator throwing after startResponse, before a chunk → 500", async () => {
  // deno-lint-ignore require-yield
  const app: App = async function* (_e, sr) {
    sr("200 OK", [["X-A", "1"]]);
    await Promise.resolve();
    throw new Error("late");
  };
  const { text } = await roundTrip(app, GET11);
  assert.ok(text.startsWith("HTTP/1.1 500 Internal Server Error\r\n"), text);
  assert.ok(!text.includes("X-A"));
});

Deno.test("response: debug: true puts the stack in the 500 body", async () => {
  const app: App = () => {
    throw new Error("visible detail");
  };
  const { text } = await roundTrip(app, GET11, { debug: true });
  const { responses } = parseResponses(text);
  assert.equal(responses[0].status, 500);
  assert.ok(responses[0].body.startsWith("500 Internal Server Error\n"));
  assert.ok(responses[0].body.includes("visible detail"), responses[0].body);
  assert.match(responses[0].body, /\n\s+at /, "a stack trace");
});

Deno.test("response: a 500 to HEAD has no body", async () => {
  const app: App = () => {
    throw new Error("x");
  };
  const { text } = await roundTrip(app, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.ok(text.startsWith("HTTP/1.1 500 "));
  assert.ok(text.endsWith("\r\n\r\n"), JSON.stringify(text));
});

Deno.test("response: an app throwing after its headers went out: truncated, connection closed", async () => {
  const app: App = async function* (_e, sr) {
    sr("200 OK", []);
    yield "a";
    yield "b";
    throw new Error("midway");
  };
  const { text, errors } = await roundTrip(app, GET11 + GET11);
  assert.equal(text, `HTTP/1.1 200 OK\r\n${DS}Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n`);
  assert.equal(errors.length, 1);
  const { responses } = parseResponses(text);
  assert.equal(responses[0].terminated, false, "the client sees a truncated message");
});

Deno.test('response: an app throwing after flushing its headers with "": truncated', async () => {
  const app: App = async function* (_e, sr) {
    sr("200 OK", [["Content-Length", "10"]]);
    yield "abc";
    yield "";
    throw new Error("midway");
  };
  const { text } = await roundTrip(app, GET11 + GET11);
  assert.equal(text, `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n${DS}\r\nabc`);
});

for (
  const [what, app] of [
    ["yielding a number", function* (_e, sr) {
      sr("200 OK", []);
      yield 42 as unknown as string;
    }],
    ["yielding an object", function* (_e, sr) {
      sr("200 OK", []);
      yield {} as unknown as string;
    }],
    ["returning a number", (_e, sr) => {
      sr("200 OK", []);
      return 42 as unknown as string[];
    }],
    ["returning null", (_e, sr) => {
      sr("200 OK", []);
      return null as unknown as string[];
    }],
    ["returning a plain object", (_e, sr) => {
      sr("200 OK", []);
      return {} as unknown as string[];
    }],
    ["returning an array holding a number", (_e, sr) => {
      sr("200 OK", []);
      return [1] as unknown as string[];
    }],
    ["never calling startResponse", function* () {}],
    ["sending a body before startResponse", function* () {
      yield "early";
    }],
    ["giving a malformed status", (_e, sr) => {
      sr("OK", []);
      return ["x"];
    }],
    ["giving headers that are not pairs", (_e, sr) => {
      sr("200 OK", [["X-A"]] as unknown as [string, string][]);
      return ["x"];
    }],
  ] as [string, App][]
) {
  Deno.test(`response: an app ${what} → 500, logged, server still serves`, async () => {
    const server = startServer(app);
    try {
      const result = await exchange(server.port, GET11);
      assert.ok(result.closed);
      assert.equal(result.responses.length, 1, JSON.stringify(result.text));
      assert.equal(result.responses[0].status, 500);
      assert.equal(header(result.responses[0], "connection"), "close");
      assert.equal(server.errors.length, 1);
    } finally {
      await server.stop(500);
    }
  });
}

/** The body of a response in `raw` (Content-Length or chunked). */
function parseBody(raw: string): string {
  return parseResponses(raw, ["GET"], true).responses[0].body;
}

Deno.test("response: startResponse with excInfo after a body chunk rethrows, even while the server holds that chunk", async () => {
  const failure = new Error("late failure");
  let rethrown: unknown = null;
  const app: App = function* (_environ, startResponse) {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "first ";
    try {
      startResponse("500 Internal Server Error", [["Content-Type", "text/plain"]], failure);
    } catch (error) {
      rethrown = error;
    }
    yield "second";
  };
  const result = await roundTrip(app, GET11_CLOSE);
  assert.equal(rethrown, failure, "the headers count as sent: excInfo is rethrown");
  assert.equal(
    result.text,
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      "6\r\nfirst \r\n6\r\nsecond\r\n0\r\n\r\n",
  );
});

Deno.test("response: 205 Reset Content goes out with Content-Length: 0 and no content, whatever the app yields", async () => {
  let calls = 0;
  const app: App = function* (_environ, startResponse) {
    // The second request (keptAlive's proof that the connection lives on) gets a plain 200.
    startResponse(calls++ === 0 ? "205 Reset Content" : "200 OK", [["Content-Type", "text/plain"]]);
    yield "this must not be sent";
  };
  const text = await keptAlive(app, GET11);
  assert.equal(
    text,
    `HTTP/1.1 205 Reset Content\r\nContent-Type: text/plain\r\n${DS}Content-Length: 0\r\n\r\n`,
  );
});

/** Answers /205 with a 205 (and `headers`), produced by `produce`; anything else with a plain 200. */
function resetContent(
  headers: [string, string][],
  produce: (write: (chunk: string) => void) => Iterable<string>,
): App {
  return function* (environ, startResponse) {
    if (environ.PATH_INFO !== "/205") {
      startResponse("200 OK", []);
      yield "next";
      return;
    }
    yield* produce(startResponse("205 Reset Content", headers));
  };
}

for (
  const [what, produce] of [
    ["two chunks", function* () {
      yield "first";
      yield "second";
    }],
    ['a "" flushing the head, then a chunk', function* () {
      yield "";
      yield "late";
    }],
    ["write(), then a chunk", function* (write) {
      write("written");
      yield "yielded";
    }],
  ] as [string, (write: (chunk: string) => void) => Iterable<string>][]
) {
  Deno.test(`response: a 205 whose app produces ${what} has Content-Length: 0 (never chunked), no content; the connection lives on`, async () => {
    const app = resetContent([["Content-Type", "text/plain"]], produce);
    const head = (version: string, extra = "") =>
      `HTTP/${version} 205 Reset Content\r\nContent-Type: text/plain\r\n${DS}Content-Length: 0\r\n${extra}\r\n`;
    assert.equal(await keptAlive(app, "GET /205 HTTP/1.1\r\nHost: x\r\n\r\n"), head("1.1"));
    assert.equal(await keptAlive(app, "HEAD /205 HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD"), head("1.1"));
    assert.equal(
      await keptAlive(app, "GET /205 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
      head("1.0", "Connection: keep-alive\r\n"),
    );
  });
}

Deno.test("response: a 205 with Content-Length: 0 from the app goes out as is", async () => {
  const app = resetContent([["Content-Length", "0"]], function* () {});
  assert.equal(
    await keptAlive(app, "GET /205 HTTP/1.1\r\nHost: x\r\n\r\n"),
    `HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n${DS}\r\n`,
  );
});

Deno.test("response: a 205 with a non-zero Content-Length is refused → 500, logged with what to do", async () => {
  const app = resetContent([["Content-Type", "text/plain"], ["Content-Length", "12"]], function* () {
    yield "hello world!";
  });
  const { text, errors } = await roundTrip(app, "GET /205 HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.equal(
    text,
    `HTTP/1.1 500 Internal Server Error\r\n${DS}Content-Type: text/plain; charset=utf-8\r\n` +
      "Content-Length: 26\r\nConnection: close\r\n\r\n500 Internal Server Error\n",
  );
  assert.equal(errors.length, 1);
  assert.ok(errors[0].error instanceof TypeError);
  assert.equal(
    errors[0].error.message,
    "startResponse: a 205 response has no content (RFC 9110 §15.3.6), but its Content-Length is 12; " +
      "leave Content-Length out (the server sends 0) or set it to 0",
  );
});

Deno.test("response: a 204's Content-Length: 0 is not sent (RFC 9110 §8.6); a non-zero one is refused → 500", async () => {
  const noContent = (length: string): App => (_environ, sr) => {
    sr("204 No Content", [["X-Id", "7"], ["Content-Length", length]]);
    return [];
  };
  const zero = await roundTrip(noContent("0"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + GET11_CLOSE);
  assert.equal(
    zero.text,
    `HTTP/1.1 204 No Content\r\nX-Id: 7\r\n${DS}\r\n` +
      `HTTP/1.1 204 No Content\r\nX-Id: 7\r\n${DS}Connection: close\r\n\r\n`,
  );
  assert.equal(zero.errors.length, 0);
  const five = await roundTrip(noContent("5"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.equal(
    five.text,
    `HTTP/1.1 500 Internal Server Error\r\n${DS}Content-Type: text/plain; charset=utf-8\r\n` +
      "Content-Length: 26\r\nConnection: close\r\n\r\n500 Internal Server Error\n",
  );
  assert.ok(five.errors[0].error instanceof TypeError);
  assert.equal(
    five.errors[0].error.message,
    "startResponse: a 204 response has no content and no Content-Length (RFC 9110 §8.6), but its Content-Length " +
      "is 5; leave Content-Length out",
  );
});
