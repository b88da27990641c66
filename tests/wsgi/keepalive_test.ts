/**
 * Persistent connections: pipelining, draining unread bodies, Expect:
 * 100-continue, and half-closed clients.
 */
import assert from "node:assert/strict";
import { type App, type Environ, Sleep } from "../../mod.ts";
import {
  Client,
  deferred,
  delay,
  header,
  parseResponses,
  startServer,
  textApp,
  withClient,
} from "../http.ts";

/** Answers with the path; odd paths answer after a short wait (so steps interleave). */
const pathApp: App = async function* (environ: Environ, startResponse) {
  const n = Number(environ.PATH_INFO.slice(1));
  if (n % 2 === 1) await delay(10 - n);
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  yield environ.PATH_INFO;
};

/** Reads the body one byte at a time, answers it back. */
const echoBody: App = async function* (environ, startResponse) {
  const input = environ["wsgi.input"];
  let body = "";
  for (;;) {
    const chunk = await input.readAsync(1);
    if (chunk.length === 0) break;
    body += String.fromCharCode(...chunk);
  }
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  yield `body=${body}`;
};

const req = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

Deno.test("keep-alive: 10 pipelined requests in one write are answered in order", async () => {
  await withClient(pathApp, {}, async (client) => {
    let requests = "";
    for (let i = 0; i < 10; i++) requests += req(`/${i}`, i === 9 ? "Connection: close\r\n" : "");
    await client.write(requests);
    const responses = await client.responses(10);
    assert.deepEqual(responses.map((r) => r.body), Array.from({ length: 10 }, (_, i) => `/${i}`));
    assert.deepEqual(responses.map((r) => r.status), Array(10).fill(200));
    assert.equal(header(responses[9], "connection"), "close");
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    assert.equal(after.text, "");
  });
});

Deno.test("keep-alive: pipelined requests followed by part of a head: the answers go out before the rest arrives", async () => {
  // An app that answers with an array is served synchronously: nothing else would flush its answers.
  const arrayApp: App = (environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [environ.PATH_INFO];
  };
  await withClient(arrayApp, {}, async (client) => {
    await client.write(req("/0") + req("/1") + "GET /2 HTTP/1.1\r\nHo");
    // The two answers come although the third head is not complete (they used to wait for its bytes).
    const responses = await client.responses(2);
    assert.deepEqual(responses.map((r) => r.body), ["/0", "/1"]);
    await client.write("st: x\r\nConnection: close\r\n\r\n");
    const last = await client.responses(1);
    assert.equal(last[0].body, "/2");
  });
});

Deno.test("keep-alive: pipelined requests split at every byte are answered in order", async () => {
  await withClient(pathApp, {}, async (client) => {
    const requests = req("/0") + "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
      req("/2", "Connection: close\r\n");
    for (const byte of requests) await client.write(byte);
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    const { responses, rest } = parseResponses(after.text);
    assert.equal(rest, "");
    assert.deepEqual(responses.map((r) => r.body), ["/0", "/1", "/2"]);
  });
});

Deno.test("keep-alive: sequential requests on one connection", async () => {
  await withClient(pathApp, {}, async (client) => {
    for (let i = 0; i < 5; i++) {
      await client.write(req(`/${i}`));
      const response = await client.response();
      assert.equal(response.body, `/${i}`);
      assert.equal(header(response, "connection"), undefined);
    }
  });
});

Deno.test("keep-alive: an unread Content-Length body is drained, the next request served", async () => {
  await withClient(pathApp, {}, async (client) => {
    await client.write(
      "POST /0 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + req("/2", "Connection: close\r\n"),
    );
    const after = await client.readUntilClose();
    const { responses, rest } = parseResponses(after.text);
    assert.equal(rest, "");
    assert.deepEqual(responses.map((r) => r.body), ["/0", "/2"]);
    assert.equal(header(responses[0], "connection"), undefined);
  });
});

Deno.test("keep-alive: an unread chunked body (with trailers) is drained, the next request served", async () => {
  await withClient(pathApp, {}, async (client) => {
    await client.write(
      "POST /0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
        req("/2", "Connection: close\r\n"),
    );
    const after = await client.readUntilClose();
    const { responses, rest } = parseResponses(after.text);
    assert.equal(rest, "");
    assert.deepEqual(responses.map((r) => r.body), ["/0", "/2"]);
  });
});

Deno.test("keep-alive: an unread body that looks like a request is drained, never answered", async () => {
  const server = startServer(pathApp);
  try {
    const smuggled = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n";
    const client = await Client.connect(server.port);
    try {
      await client.write(
        `GET /0 HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
          req("/2", "Connection: close\r\n"),
      );
      const after = await client.readUntilClose();
      assert.ok(after.closed);
      const { responses, rest } = parseResponses(after.text);
      assert.equal(rest, "");
      assert.deepEqual(responses.map((r) => r.body), ["/0", "/2"]);
    } finally {
      await client.close();
    }
  } finally {
    await server.stop(500);
  }
});

Deno.test("keep-alive: the response to an unread body is sent before that body arrives", async () => {
  await withClient(textApp("early"), {}, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");
    const response = await client.response();
    assert.equal(response.body, "early");
    await client.write("hello" + req("/next", "Connection: close\r\n"));
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    const { responses } = parseResponses(after.text);
    if (header(response, "connection") !== "close") assert.equal(responses.length, 1);
  });
});

Deno.test("keep-alive: a body that never comes does not swallow the response already made", async () => {
  await withClient(textApp("early"), { sockoperTimeout: 200 }, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");
    const after = await client.readUntilClose();
    assert.ok(after.closed, "the connection is closed in the end");
    const { responses } = parseResponses(after.text);
    assert.equal(
      responses.length,
      1,
      `the app's answer must reach the client: got ${JSON.stringify(after.text)}`,
    );
    assert.equal(responses[0].body, "early");
  });
});

Deno.test("keep-alive: an unread body over maxDrainBytes closes the connection", async () => {
  await withClient(pathApp, { maxDrainBytes: 16 }, async (client) => {
    await client.write(
      `POST /0 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${"x".repeat(100)}` + req("/2"),
    );
    const after = await client.readUntilClose();
    assert.ok(after.closed, "the connection must close");
    const { responses, rest } = parseResponses(after.text);
    assert.equal(rest, "");
    assert.deepEqual(responses.map((r) => r.body), ["/0"], "the pipelined request is not answered");
    assert.equal(header(responses[0], "connection"), "close", "the close is announced");
  });
});

Deno.test("keep-alive: an unread chunked body over maxDrainBytes closes the connection", async () => {
  await withClient(pathApp, { maxDrainBytes: 16 }, async (client) => {
    await client.write(
      `POST /0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${
        "x".repeat(100)
      }\r\n0\r\n\r\n` + req("/2"),
    );
    const after = await client.readUntilClose();
    assert.ok(after.closed, "the connection must close");
    const { responses } = parseResponses(after.text);
    assert.deepEqual(responses.map((r) => r.body), ["/0"]);
  });
});

// ---- Expect: 100-continue ----

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

Deno.test("expect: 100 Continue is sent when the app first reads, exactly once", async () => {
  await withClient(echoBody, {}, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    assert.ok(
      await client.readUntil((t) => t.length >= CONTINUE.length),
      "the 100 must come before the body is sent",
    );
    assert.equal(client.received, CONTINUE);
    const interim = await client.response();
    assert.equal(interim.status, 100);
    await client.write("he");
    await delay(20);
    await client.write("llo");
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.equal(response.body, "body=hello");
    assert.equal(client.received.split("100 Continue").length - 1, 1, "exactly one 100");
    // The connection goes on.
    await client.write(req("/next", "Connection: close\r\n"));
    const next = await client.response();
    assert.equal(next.status, 200);
  });
});

Deno.test("expect: no 100 before the app reads", async () => {
  const called = deferred();
  const go = deferred();
  const app: App = async function* (environ, startResponse) {
    called.resolve();
    await go.promise;
    let n = 0;
    for await (const chunk of environ["wsgi.input"]) n += chunk.length;
    startResponse("200 OK", []);
    yield `read ${n}`;
  };
  const server = startServer(app);
  try {
    const client = await Client.connect(server.port);
    try {
      await client.write("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
      await called.promise;
      assert.equal(
        await client.readUntil((t) => t.length > 0, 100),
        false,
        "nothing is sent before the app reads",
      );
      go.resolve();
      const interim = await client.response();
      assert.equal(interim.status, 100);
      await client.write("abc");
      const response = await client.response();
      assert.equal(response.body, "read 3");
    } finally {
      go.resolve();
      await client.close();
    }
  } finally {
    await server.stop(500);
  }
});

Deno.test("expect: never a 100 when the app answers without reading; then close or drain", async () => {
  await withClient(textApp("no thanks"), {}, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    const response = await client.response();
    assert.equal(response.status, 200, "the final answer comes first, no 100");
    assert.equal(response.body, "no thanks");
    if (header(response, "connection") === "close") {
      const after = await client.readUntilClose();
      assert.ok(after.closed);
      assert.equal(after.text, "");
    } else {
      await client.write("hello" + req("/next", "Connection: close\r\n"));
      const after = await client.readUntilClose();
      const { responses } = parseResponses(after.text);
      assert.equal(responses.length, 1);
      assert.equal(responses[0].status, 200);
    }
    assert.ok(!client.received.includes("100 Continue"));
  });
});

Deno.test("expect: 100-continue is ignored in an HTTP/1.0 request", async () => {
  await withClient(echoBody, {}, async (client) => {
    await client.write("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert.equal(await client.readUntil((t) => t.length > 0, 100), false);
    await client.write("abc");
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    const { responses } = parseResponses(after.text);
    assert.equal(responses.length, 1);
    assert.equal(responses[0].status, 200);
    assert.equal(responses[0].body, "body=abc");
  });
});

Deno.test("expect: 100-continue with a chunked body", async () => {
  await withClient(echoBody, {}, async (client) => {
    await client.write(
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    assert.equal((await client.response()).status, 100);
    await client.write("3\r\nabc\r\n0\r\n\r\n");
    const response = await client.response();
    assert.equal(response.body, "body=abc");
    assert.equal(client.received.split("100 Continue").length - 1, 1);
  });
});

// ---- half-close ----

Deno.test("half-close: a full request then a half-close still gets its response", async () => {
  await withClient(textApp("still here"), {}, async (client) => {
    await client.write(req("/"));
    await client.closeWrite();
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    const { responses, rest } = parseResponses(after.text);
    assert.equal(rest, "");
    assert.equal(responses.length, 1);
    assert.equal(responses[0].body, "still here");
  });
});

Deno.test("half-close: pipelined requests then a half-close are all answered", async () => {
  await withClient(pathApp, {}, async (client) => {
    await client.write(
      req("/0") + req("/1") + "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
    );
    await client.closeWrite();
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    const { responses } = parseResponses(after.text);
    assert.deepEqual(responses.map((r) => r.body), ["/0", "/1", "/2"]);
  });
});

Deno.test("half-close: a body read to the end after the half-close", async () => {
  await withClient(echoBody, {}, async (client) => {
    await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd");
    await client.closeWrite();
    const after = await client.readUntilClose();
    const { responses } = parseResponses(after.text);
    assert.equal(responses.length, 1);
    assert.equal(responses[0].body, "body=abcd");
  });
});

Deno.test("half-close while the app waits on an operation counts as the client leaving (DESIGN: EOF during a wait)", async () => {
  // A half-close cannot be told from a close until something is written; while an app waits on an
  // operation the server must notice departures at once, so EOF then means "gone": the app is stopped.
  // (Half-closed clients of apps that do not wait still get their response: see the tests above.)
  const events: string[] = [];
  const app: App = async function* (_environ, startResponse) {
    try {
      yield new Sleep(2000);
      startResponse("200 OK", []);
      yield "after the wait";
    } finally {
      events.push("finally");
    }
  };
  await withClient(app, {}, async (client) => {
    await client.write(req("/"));
    await client.closeWrite();
    const after = await client.readUntilClose();
    assert.ok(after.closed);
    assert.equal(after.text, "");
    assert.deepEqual(events, ["finally"]);
  });
});
