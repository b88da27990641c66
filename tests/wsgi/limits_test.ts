/**
 * Each limit and timeout, with small values: maxRequestLine (414),
 * maxHeaderBytes and maxHeaders (431), maxBodyBytes (413, up front),
 * headersTimeout (slowloris → 408), keepAliveTimeout, sockoperTimeout,
 * maxConnections (503), and the defaults.
 */
import assert from "node:assert/strict";
import { Sleep } from "../../core/mod.ts";
import { type App, DEFAULT_LIMITS, serve } from "../../wsgi/mod.ts";
import { resolveLimits } from "../../wsgi/options.ts";
import {
  Client,
  deferred,
  delay,
  DS,
  exchange,
  header,
  normalizeDate,
  parseResponses,
  startServer,
  type TestServer,
  textApp,
  withClient,
} from "../http.ts";

/** Reads the whole body, answers `ok <length>`. */
const readAll: App = async function* (environ, startResponse) {
  let n = 0;
  for await (const chunk of environ["wsgi.input"]) n += chunk.length;
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  yield `ok ${n}`;
};

/** Sends `request`, reads until close; returns the one response's status (0 if none) and whether it closed. */
async function statusOf(
  server: TestServer,
  request: string,
): Promise<{ status: number; closed: boolean; body: string }> {
  const result = await exchange(server.port, request);
  assert.ok(result.closed, `hung: ${JSON.stringify(result.text.slice(0, 300))}`);
  assert.ok(result.responses.length <= 1);
  return {
    status: result.responses[0]?.status ?? 0,
    closed: result.closed,
    body: result.responses[0]?.body ?? "",
  };
}

/** A request line of exactly `n` bytes (CRLF not counted). */
function requestLine(n: number): string {
  const fixed = "GET / HTTP/1.1".length;
  return `GET /${"a".repeat(n - fixed)} HTTP/1.1`;
}

// ---- maxRequestLine ----

Deno.test("limits: maxRequestLine — up to the limit served, one byte more is 414", async () => {
  const server = startServer(readAll, { maxRequestLine: 64 });
  try {
    assert.equal(requestLine(64).length, 64);
    assert.equal(
      (await statusOf(server, `${requestLine(40)}\r\nHost: x\r\nConnection: close\r\n\r\n`)).status,
      200,
    );
    assert.equal(
      (await statusOf(server, `${requestLine(63)}\r\nHost: x\r\nConnection: close\r\n\r\n`)).status,
      200,
    );
    assert.equal(
      (await statusOf(server, `${requestLine(65)}\r\nHost: x\r\nConnection: close\r\n\r\n`)).status,
      414,
    );
    assert.equal((await statusOf(server, `${requestLine(500)}\r\nHost: x\r\n\r\n`)).status, 414);
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: maxRequestLine — a request line of exactly the limit is served (boundary)", async () => {
  const server = startServer(readAll, { maxRequestLine: 64 });
  try {
    const result = await statusOf(server, `${requestLine(64)}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(result.status, 200, "a line of maxRequestLine bytes is not longer than the limit");
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: maxRequestLine — refused before the line ends (no waiting for CRLF)", async () => {
  await withClient(readAll, { maxRequestLine: 64 }, async (client) => {
    await client.write(`GET /${"a".repeat(200)}`);
    const response = await client.response();
    assert.equal(response.status, 414);
    assert.equal(header(response, "connection"), "close");
    assert.ok((await client.readUntilClose()).closed);
  });
});

// ---- maxHeaderBytes and maxHeaders ----

Deno.test("limits: maxHeaderBytes — a header section under it is served, over it 431", async () => {
  const server = startServer(readAll, { maxHeaderBytes: 256 });
  try {
    const fill = (n: number) =>
      `GET / HTTP/1.1\r\nHost: x\r\nX-Fill: ${"v".repeat(n)}\r\nConnection: close\r\n\r\n`;
    assert.equal((await statusOf(server, fill(150))).status, 200);
    assert.equal((await statusOf(server, fill(300))).status, 431);
    // Many small fields adding up.
    assert.equal(
      (await statusOf(server, `GET / HTTP/1.1\r\nHost: x\r\n${"X-A: 1234567890\r\n".repeat(20)}\r\n`)).status,
      431,
    );
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: maxHeaderBytes — refused before the head ends", async () => {
  await withClient(readAll, { maxHeaderBytes: 256 }, async (client) => {
    await client.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Fill: ${"v".repeat(1000)}`);
    const response = await client.response();
    assert.equal(response.status, 431);
    assert.ok((await client.readUntilClose()).closed);
  });
});

Deno.test("limits: maxHeaderBytes also bounds trailers (431)", async () => {
  const server = startServer(readAll, { maxHeaderBytes: 256 });
  try {
    const result = await statusOf(
      server,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: ${
        "v".repeat(400)
      }\r\n\r\n`,
    );
    assert.equal(result.status, 431);
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: maxHeaders — exactly the limit served, one more is 431", async () => {
  const server = startServer(readAll, { maxHeaders: 5 });
  try {
    const fields = (n: number) => `GET / HTTP/1.1\r\nHost: x\r\n${"X-A: 1\r\n".repeat(n - 1)}\r\n`;
    const five = await exchange(server.port, fields(5).replace("X-A: 1\r\n", "Connection: close\r\n"));
    assert.equal(five.responses[0]?.status, 200);
    assert.equal((await statusOf(server, fields(6))).status, 431);
    assert.equal((await statusOf(server, fields(100))).status, 431);
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: maxHeaders also bounds trailer fields (431)", async () => {
  const server = startServer(readAll, { maxHeaders: 5 });
  try {
    const result = await statusOf(
      server,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${
        "T: 1\r\n".repeat(10)
      }\r\n`,
    );
    assert.equal(result.status, 431);
  } finally {
    await server.stop(500);
  }
});

// ---- maxBodyBytes ----

Deno.test("limits: maxBodyBytes by Content-Length — the limit served, one more refused up front (413)", async () => {
  const server = startServer(readAll, { maxBodyBytes: 100 });
  try {
    const ok = await statusOf(
      server,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n${"x".repeat(100)}`,
    );
    assert.deepEqual([ok.status, ok.body], [200, "ok 100"]);
    // Only the head is sent: the answer cannot wait for the body.
    const client = await Client.connect(server.port);
    try {
      await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
      const response = await client.response();
      assert.equal(response.status, 413);
      assert.equal(header(response, "connection"), "close");
      assert.ok((await client.readUntilClose()).closed);
    } finally {
      await client.close();
    }
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: maxBodyBytes by chunk size — refused up front from the size line (413)", async () => {
  const server = startServer(readAll, { maxBodyBytes: 100 });
  try {
    const ok = await statusOf(
      server,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n64\r\n${
        "x".repeat(100)
      }\r\n0\r\n\r\n`,
    );
    assert.deepEqual([ok.status, ok.body], [200, "ok 100"]);
    const client = await Client.connect(server.port);
    try {
      await client.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n");
      const response = await client.response();
      assert.equal(response.status, 413);
      assert.ok((await client.readUntilClose()).closed);
    } finally {
      await client.close();
    }
    const sum = await statusOf(
      server,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${"x".repeat(64)}\r\n40\r\n`,
    );
    assert.equal(sum.status, 413, "the sum of chunk sizes counts");
  } finally {
    await server.stop(500);
  }
});

// ---- headersTimeout ----

/**
 * Sends `request` one byte every `every` ms until the server answers or
 * closes; returns what came back.
 */
async function slowloris(client: Client, request: string, every: number) {
  const reading = client.readUntilClose(5000);
  let done = false;
  reading.finally(() => done = true);
  for (const byte of request) {
    if (done || !(await client.write(byte))) break;
    await delay(every);
  }
  return await reading;
}

Deno.test("limits: headersTimeout — a slowloris client (a byte every 50 ms) gets 408 and is dropped", async () => {
  const server = startServer(readAll, { headersTimeout: 300 });
  try {
    const client = await Client.connect(server.port);
    try {
      const request = `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`;
      const outcome = await slowloris(client, request, 50);
      assert.ok(outcome.closed, "the slow client must be dropped");
      const { responses, rest } = parseResponses(outcome.text);
      assert.equal(rest, "");
      assert.equal(responses.length, 1, JSON.stringify(outcome.text));
      assert.equal(responses[0].status, 408);
      assert.equal(header(responses[0], "connection"), "close");
    } finally {
      await client.close();
    }
    await statusOf(server, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").then((r) =>
      assert.equal(r.status, 200)
    );
  } finally {
    await server.stop(500);
  }
});

Deno.test("limits: headersTimeout — the next request's head on a keep-alive connection too", async () => {
  await withClient(readAll, { headersTimeout: 300, keepAliveTimeout: 10_000 }, async (client) => {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await client.response()).status, 200);
    const outcome = await slowloris(
      client,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`,
      50,
    );
    assert.ok(outcome.closed);
    assert.equal(parseResponses(outcome.text).responses[0]?.status, 408);
  });
});

Deno.test("limits: headersTimeout — a connection that sends nothing is closed", async () => {
  await withClient(readAll, { headersTimeout: 200 }, async (client) => {
    const outcome = await client.readUntilClose(5000);
    assert.ok(outcome.closed, "an idle new connection must be closed");
    if (outcome.text !== "") assert.equal(parseResponses(outcome.text).responses[0]?.status, 408);
  });
});

// ---- keepAliveTimeout ----

Deno.test("limits: keepAliveTimeout — an idle keep-alive connection is closed after it", async () => {
  await withClient(readAll, { keepAliveTimeout: 200 }, async (client) => {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await client.response()).status, 200);
    // Still open right after the response.
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const second = await client.response();
    assert.equal(second.status, 200);
    assert.equal(header(second, "connection"), undefined);
    const outcome = await client.readUntilClose(5000);
    assert.ok(outcome.closed, "the idle connection must be closed");
    assert.equal(outcome.text, "", "closed quietly");
  });
});

Deno.test("limits: keepAliveTimeout does not cut a new connection's first request (headersTimeout does)", async () => {
  await withClient(readAll, { keepAliveTimeout: 50, headersTimeout: 5000 }, async (client) => {
    await delay(200);
    await client.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const response = await client.response();
    assert.equal(response.status, 200);
  });
});

// ---- sockoperTimeout ----

Deno.test("limits: sockoperTimeout — a body that stops coming: 408 Request Timeout, the connection closes, the app's read fails", async () => {
  const failed = deferred<unknown>();
  const app: App = async function* (environ, startResponse) {
    let n = 0;
    try {
      for await (const chunk of environ["wsgi.input"]) n += chunk.length;
    } catch (error) {
      failed.resolve(error);
      throw error;
    }
    failed.resolve(null);
    startResponse("200 OK", []);
    yield `ok ${n}`;
  };
  await withClient(app, { sockoperTimeout: 200 }, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    const outcome = await client.readUntilClose(5000);
    assert.ok(outcome.closed, "the connection must be closed");
    assert.equal(
      normalizeDate(outcome.text),
      `HTTP/1.1 408 Request Timeout\r\n${DS}Content-Type: text/plain; charset=utf-8\r\nContent-Length: 60\r\n` +
        "Connection: close\r\n\r\n408 Request Timeout\nthe request body did not arrive in time\n",
    );
    const error = await failed.promise;
    assert.ok(error instanceof Error, "the app's read fails");
  });
});

Deno.test("limits: sockoperTimeout — a body that stops coming after the response began: the connection closes, nothing more is sent", async () => {
  const app: App = async function* (environ, startResponse) {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "reading";
    yield new Sleep(1); // the head and "reading" go out
    for await (const _ of environ["wsgi.input"]) { /* wait for all of it */ }
    yield "done";
  };
  await withClient(app, { sockoperTimeout: 200 }, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    const outcome = await client.readUntilClose(5000);
    assert.ok(outcome.closed, "the connection must be closed");
    assert.equal(
      normalizeDate(outcome.text),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n\r\n7\r\nreading\r\n`,
    );
  });
});

Deno.test("limits: sockoperTimeout — a client that stops reading a large response is dropped, the app stopped", async () => {
  const ended = deferred<void>();
  let produced = 0;
  const block = "x".repeat(64 * 1024);
  const app: App = async function* (_environ, startResponse) {
    try {
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      while (produced < 512 * 1024 * 1024) {
        produced += block.length;
        yield block;
      }
    } finally {
      ended.resolve();
    }
  };
  await withClient(app, { sockoperTimeout: 200 }, async (client) => {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Never read: the server's writes stall once the socket buffers are full.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<"hang">((resolve) => timer = setTimeout(() => resolve("hang"), 10_000));
    const outcome = await Promise.race([ended.promise, hang]);
    clearTimeout(timer);
    assert.notEqual(outcome, "hang", "the stalled write must time out and stop the app");
    assert.ok(produced < 512 * 1024 * 1024, "stopped before producing everything");
  });
});

// ---- maxConnections ----

Deno.test("limits: maxConnections — the extra connection gets 503 and is closed", async () => {
  const server = startServer(textApp("hi"), { maxConnections: 2 });
  const held: Client[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const client = await Client.connect(server.port);
      held.push(client);
      await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await client.response()).status, 200);
    }
    const extra = await exchange(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.ok(extra.closed, "the extra connection is closed");
    assert.equal(extra.responses.length, 1, JSON.stringify(extra.text));
    const busy = extra.responses[0];
    assert.equal(busy.status, 503);
    assert.equal(header(busy, "connection"), "close");
    assert.ok(header(busy, "date") !== undefined && header(busy, "server") !== undefined);
    // The held connections still work.
    await held[0].write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await held[0].response()).status, 200);
    // Once one closes, a new connection is served again.
    await held.pop()!.close();
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      const retry = await exchange(server.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      status = retry.responses[0]?.status ?? 0;
      if (status !== 200) await delay(10);
    }
    assert.equal(status, 200);
  } finally {
    for (const client of held) await client.close();
    await server.stop(500);
  }
});

// ---- defaults ----

Deno.test("limits: DEFAULT_LIMITS are the documented safe defaults", () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, {
    maxRequestLine: 8192,
    maxHeaderBytes: 16384,
    maxHeaders: 100,
    maxBodyBytes: 10 * 1024 * 1024,
    maxDrainBytes: 65536,
    headersTimeout: 30_000,
    keepAliveTimeout: 65_000,
    sockoperTimeout: 60_000,
    maxConnections: 100_000,
  });
  assert.deepEqual(resolveLimits(), { ...DEFAULT_LIMITS });
  assert.equal(resolveLimits({ headersTimeout: 5 }).headersTimeout, 5);
  assert.equal(resolveLimits({ headersTimeout: 5 }).keepAliveTimeout, 65_000);
});

Deno.test("limits: a limit that is not an integer >= 1 is refused, naming the option", () => {
  for (const value of [0, -1, 1.5, Number.NaN, Infinity, "5"]) {
    assert.throws(
      () => resolveLimits({ maxHeaders: value as number }),
      (error: unknown) => error instanceof RangeError && error.message.includes("maxHeaders"),
    );
  }
  assert.throws(() => serve(textApp(), { hostname: "127.0.0.1", port: 0, keepAliveTimeout: 0 }), RangeError);
});

Deno.test("limits: the defaults are in force when no option is given", async () => {
  const server = startServer(readAll);
  try {
    assert.deepEqual(
      {
        maxRequestLine: server.server.server.limits.maxRequestLine,
        maxHeaders: server.server.server.limits.maxHeaders,
      },
      { maxRequestLine: 8192, maxHeaders: 100 },
    );
    assert.equal(
      (await statusOf(server, `GET /${"a".repeat(8100)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
        .status,
      200,
    );
    assert.equal(
      (await statusOf(server, `GET /${"a".repeat(8200)} HTTP/1.1\r\nHost: x\r\n\r\n`)).status,
      414,
    );
    assert.equal(
      (await statusOf(
        server,
        `GET / HTTP/1.1\r\nHost: x\r\n${"X: 1\r\n".repeat(98)}Connection: close\r\n\r\n`,
      )).status,
      200,
    );
    assert.equal(
      (await statusOf(server, `GET / HTTP/1.1\r\nHost: x\r\n${"X: 1\r\n".repeat(100)}\r\n`)).status,
      431,
    );
  } finally {
    await server.stop(500);
  }
});
