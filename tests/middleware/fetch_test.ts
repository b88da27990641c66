/**
 * Interop with fetch handlers, over real sockets on 127.0.0.1: a Hono app on
 * our server through `fromFetchHandler`, and our apps (the long-poll example
 * among them) on `Deno.serve` through `toFetchHandler`.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { Await, Scheduler, Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { fromFetchHandler, staticFiles, toFetchHandler, validator } from "../../middleware/mod.ts";
import type { App, Environ, Route, StartResponse } from "../../wsgi/mod.ts";
import { signal, stats, wait } from "../../examples/longpoll.ts";
import {
  Client,
  deferred,
  delay,
  header,
  headerAll,
  HOST,
  normalizeDate,
  responseTo,
  SOFTWARE,
  startServer,
  TEXT,
  until,
} from "../http.ts";

const LONGPOLL: Route[] = [["/wait", wait], ["/signal", signal], ["/stats", stats]];

/** A Deno.serve server on 127.0.0.1, port 0, and a fetch whose requests `stop` aborts. */
interface DenoServer {
  base: string;
  /** Fetches `path` from the server. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Aborts every fetch still under way (a failed test must not leave a body Deno.serve waits on), shuts down. */
  stop(): Promise<void>;
}

function startDeno(handler: Deno.ServeHandler<Deno.NetAddr>): DenoServer {
  const server = Deno.serve({ hostname: HOST, port: 0, onListen() {} }, handler);
  const base = `http://${HOST}:${server.addr.port}`;
  const controller = new AbortController();
  return {
    base,
    fetch: (path, init = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        signal: init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal,
      }),
    async stop() {
      controller.abort();
      // Deno.serve waits for every handler: one that never settles is this test's failure, not a hang.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("Deno.serve did not shut down: a handler never settled")),
          2000,
        );
      });
      try {
        await Promise.race([server.shutdown(), stuck]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** How many coroutines wait on the signal `name`. */
function waitersOf(sched: Scheduler, name: string): number {
  return sched.signals.get(name)?.waiters.length ?? 0;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `n` bytes that are not all alike (a shifted or truncated body would not compare equal). */
function pattern(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

/** Reads `reader` until the text received so far includes `marker`; returns that text. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, marker: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(marker)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the body ended before ${JSON.stringify(marker)}; got ${JSON.stringify(text)}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

// ---- a Hono app on our server ----

/** What the Hono app lets the tests watch. */
interface Probe {
  /** Released by the test: the SSE handler waits for it between its two events. */
  gate: PromiseWithResolvers<void>;
  /** Set once the SSE handler has written its first event and waits at the gate. */
  waiting: boolean;
  /** Set when the SSE stream was aborted (the client left). */
  streamAborted: boolean;
  /** Set when the request's signal aborted. */
  requestAborted: boolean;
}

function honoApp(probe: Probe): Hono {
  const app = new Hono();
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  app.get("/raw/*", (c) => {
    c.header("Set-Cookie", "a=1; Path=/", { append: true });
    c.header("Set-Cookie", "b=2; Path=/", { append: true });
    return c.json({ url: c.req.url, cookie: c.req.header("cookie"), thing: c.req.header("x-thing") });
  });
  app.post("/echo", async (c) => c.json(await c.req.json()));
  app.post("/upload", async (c) => {
    // Read as it arrives: several reads for a body larger than one.
    const reader = c.req.raw.body!.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      parts.push(r.value);
      size += r.value.length;
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    return c.json({ size, reads: parts.length, sha256: await sha256(body) });
  });
  app.get("/events", (c) => {
    c.req.raw.signal.addEventListener("abort", () => probe.requestAborted = true);
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => {
        probe.streamAborted = true;
      });
      await stream.writeSSE({ event: "hello", data: "first" });
      probe.waiting = true;
      await probe.gate.promise;
      await stream.writeSSE({ data: "second", id: "2" });
    });
  });
  return app;
}

function newProbe(): Probe {
  return { gate: deferred(), waiting: false, streamAborted: false, requestAborted: false };
}

Deno.test("fromFetchHandler + Hono: a param route answers JSON with a Content-Length; an unknown path is 404", async () => {
  const t = startServer(fromFetchHandler(honoApp(newProbe()).fetch));
  try {
    const user = await fetch(`http://${HOST}:${t.port}/users/42`);
    assert.equal(user.status, 200);
    assert.equal(user.headers.get("content-type"), "application/json");
    assert.equal(user.headers.get("content-length"), "11");
    assert.deepEqual(await user.json(), { id: "42" });
    const missing = await fetch(`http://${HOST}:${t.port}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "404 Not Found");
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});

Deno.test("fromFetchHandler + Hono: the URL keeps the target as received; Cookie fields join with ;, Set-Cookie stay apart", async () => {
  const t = startServer(fromFetchHandler(honoApp(newProbe()).fetch));
  try {
    const response = await responseTo(
      t.port,
      "GET /raw/a%2Fb/caf%C3%A9?x=%20&y HTTP/1.1\r\nHost: test:8080\r\nCookie: a=1\r\nX-Thing: v\r\n" +
        "Cookie: b=2\r\nConnection: close\r\n\r\n",
    );
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.text), {
      url: "http://test:8080/raw/a%2Fb/caf%C3%A9?x=%20&y",
      cookie: "a=1; b=2",
      thing: "v",
    });
    assert.deepEqual(headerAll(response, "set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
  } finally {
    await t.stop();
  }
});

Deno.test("fromFetchHandler + Hono: a POSTed JSON body is echoed", async () => {
  const t = startServer(fromFetchHandler(honoApp(newProbe()).fetch));
  try {
    const sent = { hello: "wörld", n: [1, 2, 3], nested: { ok: true } };
    const response = await fetch(`http://${HOST}:${t.port}/echo`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(sent),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), sent);
  } finally {
    await t.stop();
  }
});

Deno.test("fromFetchHandler + Hono: a 1 MB body arrives whole and in several reads, with Content-Length or chunked", async () => {
  const t = startServer(fromFetchHandler(honoApp(newProbe()).fetch));
  try {
    const body = pattern(1 << 20);
    const expected = await sha256(body);
    const sized = await fetch(`http://${HOST}:${t.port}/upload`, { method: "POST", body });
    const a = await sized.json();
    assert.equal(a.size, 1 << 20);
    assert.equal(a.sha256, expected);
    assert.ok(a.reads > 1, `the body came in ${a.reads} read(s): it was buffered up front`);
    // A stream body goes out chunked.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < body.length; i += 100_000) controller.enqueue(body.slice(i, i + 100_000));
        controller.close();
      },
    });
    const chunked = await fetch(`http://${HOST}:${t.port}/upload`, { method: "POST", body: stream });
    const b = await chunked.json();
    assert.equal(b.size, 1 << 20);
    assert.equal(b.sha256, expected);
  } finally {
    await t.stop();
  }
});

Deno.test("fromFetchHandler + Hono: streamSSE events reach the client while the handler still waits", async () => {
  const probe = newProbe();
  const t = startServer(fromFetchHandler(honoApp(probe).fetch));
  try {
    const response = await fetch(`http://${HOST}:${t.port}/events`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body!.getReader();
    const first = await readUntil(reader, "\n\n");
    assert.equal(first, "event: hello\ndata: first\n\n");
    await until(() => probe.waiting, 2000, "the handler to wait at its gate");
    probe.gate.resolve();
    let rest = "";
    const decoder = new TextDecoder();
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    assert.equal(rest, "data: second\nid: 2\n\n");
    assert.equal(probe.streamAborted, false);
    assert.deepEqual(t.errors, []);
  } finally {
    probe.gate.resolve();
    await t.stop();
  }
});

Deno.test("fromFetchHandler + Hono: a client that leaves mid-stream cancels the response body and aborts request.signal", async () => {
  const probe = newProbe();
  const t = startServer(fromFetchHandler(honoApp(probe).fetch));
  const sched = t.server.server.sched;
  try {
    const baseline = sched.taskCount;
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET /events HTTP/1.1\r\nHost: test\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.includes("data: first\n\n")), "the first event came");
    await until(() => probe.waiting, 2000, "the handler to wait at its gate");
    await client.close();
    await until(
      () => probe.streamAborted && probe.requestAborted,
      2000,
      "the stream and the request to abort",
    );
    await until(() => sched.taskCount === baseline, 2000, "the connection's task to end");
  } finally {
    probe.gate.resolve();
    await t.stop();
  }
});

Deno.test("fromFetchHandler + Hono keeps the app protocol (validator): JSON, a POST body, an event stream", async () => {
  const probe = newProbe();
  probe.gate.resolve();
  const t = startServer(validator(fromFetchHandler(honoApp(probe).fetch)));
  try {
    assert.deepEqual(await (await fetch(`http://${HOST}:${t.port}/users/1`)).json(), { id: "1" });
    const echoed = await fetch(`http://${HOST}:${t.port}/echo`, { method: "POST", body: "[1]" });
    assert.deepEqual(await echoed.json(), [1]);
    const events = await fetch(`http://${HOST}:${t.port}/events`);
    assert.equal(events.headers.get("connection"), null, "hop-by-hop fields are the server's");
    assert.equal(await events.text(), "event: hello\ndata: first\n\ndata: second\nid: 2\n\n");
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});

Deno.test("fromFetchHandler: HEAD cancels a body that streams forever; the keep-alive connection serves on", async () => {
  let cancelled: unknown = null;
  const handler = (request: Request) => {
    if (new URL(request.url).pathname === "/plain") return new Response("plain");
    // An event stream that never ends: one event now, then nothing.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data: first\n\n"));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
  };
  const t = startServer(fromFetchHandler(handler));
  const client = await Client.connect(t.port);
  try {
    assert.ok(await client.write("HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    const head = await client.response("HEAD");
    assert.equal(
      normalizeDate(head.raw),
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nDate: <date>\r\n" +
        `Server: ${SOFTWARE}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    await until(() => cancelled !== null, 2000, "the body to be cancelled");
    // A body in memory is read: the HEAD gets the Content-Length its GET would.
    assert.ok(await client.write("HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\n"));
    const plain = await client.response("HEAD");
    assert.equal(plain.status, 200);
    assert.equal(header(plain, "content-length"), "5");
    assert.equal(plain.body, "");
    assert.ok(await client.write("GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const next = await client.response();
    assert.equal(next.status, 200);
    assert.equal(next.body, "plain");
    assert.deepEqual(t.errors, []);
  } finally {
    await client.close();
    await t.stop();
  }
});

// ---- our long-poll app, on our server and on Deno.serve ----

/**
 * The long-poll assertions, for any server running examples/longpoll.ts in
 * `sched`: 40 clients wait, half of them leave (their waits are withdrawn,
 * their tasks end), one signal wakes exactly the rest, each answered `tada`,
 * and nothing is left behind.
 */
async function assertLongPolling(base: string, sched: Scheduler, n = 40): Promise<void> {
  // No idle keep-alive connections: each one would be a task on our server.
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const controllers = Array.from({ length: n }, () => new AbortController());
  const waits = controllers.map((c) => fetch(`${base}/wait`, { client, signal: c.signal }));
  // Half of them will reject (aborted) before they are awaited: they are handled below.
  for (const w of waits) w.catch(() => {});
  try {
    const baseline = sched.taskCount;
    await until(() => waitersOf(sched, "longpoll") === n, 5000, "every client to wait");
    assert.equal(sched.taskCount, baseline + n, "one task per waiting client");
    for (let i = 0; i < n; i += 2) controllers[i].abort();
    await until(() => waitersOf(sched, "longpoll") === n / 2, 5000, "the leavers' waits to be withdrawn");
    await until(() => sched.taskCount === baseline + n / 2, 5000, "the leavers' tasks to end");
    const woken = await fetch(`${base}/signal?value=tada`, { client });
    assert.equal(woken.status, 200);
    assert.equal(await woken.text(), `${n / 2}\n`);
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        await assert.rejects(waits[i], { name: "AbortError" });
        continue;
      }
      const answer = await waits[i];
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("content-length"), "5");
      assert.equal(await answer.text(), "tada\n");
    }
    await until(() => sched.taskCount === baseline, 5000, "the task count to return to its baseline");
    assert.equal(sched.signals.size, 0, "no wait list is left behind");
  } finally {
    for (const c of controllers) c.abort();
    await Promise.allSettled(waits.map(async (w) => (await w).body?.cancel()));
    client.close();
  }
}

Deno.test("long polling (shared assertions): on our server", async () => {
  const t = startServer(LONGPOLL);
  try {
    // Let the accept loop's task settle into the baseline.
    await delay(10);
    await assertLongPolling(`http://${HOST}:${t.port}`, t.server.server.sched);
  } finally {
    await t.stop();
  }
});

Deno.test("long polling (shared assertions): toFetchHandler on Deno.serve", async () => {
  const sched = new Scheduler();
  const d = startDeno(toFetchHandler(LONGPOLL, { scheduler: sched }));
  try {
    assert.equal(sched.running, false, "an idle handler does not run its scheduler");
    await assertLongPolling(d.base, sched);
    await until(() => !sched.running, 2000, "the scheduler to stop once idle");
  } finally {
    await d.stop();
  }
});

// ---- toFetchHandler ----

Deno.test("toFetchHandler: a client that aborts a wait makes the app's finally run and cogen.signal abort", async () => {
  const sched = new Scheduler();
  const events: string[] = [];
  async function* waiting(environ: Environ, startResponse: StartResponse) {
    environ["cogen.signal"].addEventListener("abort", () => events.push("aborted"));
    try {
      yield new WaitForSignal("gone", { timeout: -1 });
      events.push("woken");
      startResponse("200 OK", TEXT);
      yield "woken";
    } finally {
      events.push("finally");
    }
  }
  const d = startDeno(toFetchHandler(waiting, { scheduler: sched }));
  const controller = new AbortController();
  try {
    const pending = d.fetch(`/`, { signal: controller.signal });
    await until(() => waitersOf(sched, "gone") === 1, 2000, "the app to wait");
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
    await until(() => events.includes("finally"), 2000, "the app's finally");
    assert.deepEqual(events, ["aborted", "finally"]);
    assert.equal(sched.signals.get("gone"), undefined, "the waiter left the wait list");
    await until(() => sched.taskCount === 0, 1000, "the app's task to end");
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: a client that leaves mid-body cancels the stream; the app stops", async () => {
  const sched = new Scheduler();
  const events: string[] = [];
  async function* streaming(environ: Environ, startResponse: StartResponse) {
    environ["cogen.signal"].addEventListener("abort", () => events.push("aborted"));
    startResponse("200 OK", TEXT);
    try {
      yield "first";
      yield new WaitForSignal("never", { timeout: -1 });
    } finally {
      events.push("finally");
    }
  }
  const d = startDeno(toFetchHandler(streaming, { scheduler: sched }));
  try {
    const response = await d.fetch(`/`);
    const reader = response.body!.getReader();
    assert.equal(await readUntil(reader, "first"), "first");
    await reader.cancel();
    await until(() => events.includes("finally"), 2000, "the app's finally");
    assert.deepEqual(events, ["aborted", "finally"]);
    await until(() => sched.taskCount === 0, 1000, "the app's task to end");
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: an app error before the head is a 500 (stack only with debug); after, the body errors", async () => {
  const errors: { error: unknown; context: string }[] = [];
  const onError = (error: unknown, context: string) => errors.push({ error, context });
  const routes: Route[] = [
    ["/early", function* () {
      yield new Sleep(1);
      throw new Error("early boom");
    }],
    ["/late", async function* (_environ: Environ, startResponse: StartResponse) {
      startResponse("200 OK", TEXT);
      yield "partial";
      yield new Sleep(1); // the head and "partial" go out
      throw new Error("late boom");
    }],
  ];
  const plain = startDeno(toFetchHandler(routes, { onError }));
  const debug = startDeno(toFetchHandler(routes, { onError, debug: true }));
  try {
    const early = await plain.fetch(`/early`);
    assert.equal(early.status, 500);
    assert.equal(early.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await early.text(), "500 Internal Server Error\n");
    assert.equal(errors.length, 1);
    assert.equal((errors[0].error as Error).message, "early boom");
    assert.equal(errors[0].context, "the app, for GET /early");

    const detailed = await debug.fetch(`/early`);
    assert.equal(detailed.status, 500);
    assert.match(await detailed.text(), /^500 Internal Server Error\nError: early boom\n {4}at /);

    const late = await plain.fetch(`/late`);
    assert.equal(late.status, 200);
    await assert.rejects(late.text());
    assert.equal(errors.length, 3);
    assert.equal((errors[2].error as Error).message, "late boom");
  } finally {
    await plain.stop();
    await debug.stop();
  }
});

Deno.test("toFetchHandler: a status it cannot send is a 500, with the same message as on our server", async () => {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  const statusApp = (status: string): App => (_environ, startResponse) => {
    startResponse(status, TEXT);
    return ["x"];
  };
  const server = startDeno(
    toFetchHandler([["/interim", statusApp("103 Early Hints")], ["/bad", statusApp("20 OK")]], {
      onError,
    }),
  );
  try {
    for (const path of ["/interim", "/bad"]) {
      const response = await server.fetch(path);
      assert.equal(response.status, 500);
      assert.equal(await response.text(), "500 Internal Server Error\n");
    }
    assert.deepEqual(errors.map((e) => (e as TypeError).message), [
      "startResponse: 103 is an interim status; the server sends 100 Continue itself",
      'startResponse: status must look like "200 OK" (three digits from 200 to 599, a space, a reason), got "20 OK"',
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("toFetchHandler: operations run; chunks stream as they come; values come back into the app", async () => {
  const sched = new Scheduler();
  async function* app(environ: Environ, startResponse: StartResponse) {
    startResponse("200 OK", TEXT);
    yield "first;";
    yield environ.cogen.core.events.WaitForSignal("go", { timeout: 2000 }); // the seed's spelling
    const signalled = environ.cogen.result;
    const slept: unknown = yield new Sleep(5); // a direct yield: the result comes back
    const awaited: number = yield new Await(Promise.resolve(7));
    yield `got ${signalled}, slept ${slept}, awaited ${awaited}`;
  }
  const d = startDeno(toFetchHandler(app, { scheduler: sched }));
  try {
    const response = await d.fetch(`/`);
    assert.equal(response.headers.get("transfer-encoding"), "chunked");
    const reader = response.body!.getReader();
    // The first chunk arrives while the app still waits for its signal.
    assert.equal(await readUntil(reader, "first;"), "first;");
    await until(() => waitersOf(sched, "go") === 1, 2000, "the app to wait");
    sched.add(function* () {
      yield new Signal("go", "yes");
    });
    let rest = "";
    const decoder = new TextDecoder();
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    assert.equal(rest, "got yes, slept undefined, awaited 7");
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: body reads through cogen.input (readline, then read) get a 1 MB body whole", async () => {
  async function* app(environ: Environ, startResponse: StartResponse) {
    yield environ["cogen.input"].readline(100);
    const line = new TextDecoder().decode(environ.cogen.result as Uint8Array);
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      yield environ["cogen.input"].read(65536);
      const chunk = environ.cogen.result;
      if (environ.cogen.exception !== null) throw environ.cogen.exception;
      if (!(chunk instanceof Uint8Array)) break; // "" at the end
      parts.push(chunk);
      size += chunk.length;
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    startResponse("200 OK", [["Content-Type", "application/json"]]);
    yield JSON.stringify({ line, size, reads: parts.length, sha256: await sha256(body) });
  }
  const d = startDeno(toFetchHandler(app));
  try {
    const data = pattern(1 << 20);
    const body = new Uint8Array(6 + data.length);
    body.set(new TextEncoder().encode("hello\n"));
    body.set(data, 6);
    const response = await d.fetch(`/`, { method: "POST", body });
    const result = await response.json();
    assert.equal(result.line, "hello\n");
    assert.equal(result.size, 1 << 20);
    assert.equal(result.sha256, await sha256(data));
    assert.ok(result.reads >= 16, `reads of at most 64 KiB: ${result.reads}`);
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: the environ has our server's keys", async () => {
  let seen: Environ | null = null;
  const app: App = (environ, startResponse) => {
    seen = environ;
    startResponse("200 OK", TEXT);
    return ["ok"];
  };
  const sched = new Scheduler();
  const errors: unknown[] = [];
  // The validator checks the environ against the protocol, as it does on our server.
  const d = startDeno(
    toFetchHandler(validator(app), { scheduler: sched, onError: (error) => errors.push(error) }),
  );
  try {
    const response = await d.fetch(`/caf%C3%A9/a%2Fb?x=%20&y`, {
      method: "POST",
      headers: {
        "Content-Type": "text/plain",
        "X-Custom": "v",
        "X_Sneaky": "no",
        Authorization: `Basic ${btoa("ann:secret")}`,
      },
      body: "abc",
    });
    assert.equal(await response.text(), "ok");
    assert.deepEqual(errors, []);
    const e = seen! as Environ;
    const port = new URL(d.base).port;
    assert.deepEqual(
      {
        REQUEST_METHOD: e.REQUEST_METHOD,
        SCRIPT_NAME: e.SCRIPT_NAME,
        PATH_INFO: e.PATH_INFO,
        QUERY_STRING: e.QUERY_STRING,
        REQUEST_URI: e.REQUEST_URI,
        CONTENT_TYPE: e.CONTENT_TYPE,
        CONTENT_LENGTH: e.CONTENT_LENGTH,
        SERVER_NAME: e.SERVER_NAME,
        SERVER_PORT: e.SERVER_PORT,
        SERVER_PROTOCOL: e.SERVER_PROTOCOL,
        REMOTE_ADDR: e.REMOTE_ADDR,
        AUTH_TYPE: e.AUTH_TYPE,
        REMOTE_USER: e.REMOTE_USER,
        HTTP_X_CUSTOM: e.HTTP_X_CUSTOM,
        HTTP_X_SNEAKY: e.HTTP_X_SNEAKY,
        HTTP_HOST: e.HTTP_HOST,
        scheme: e["wsgi.url_scheme"],
        version: e["wsgi.version"],
      },
      {
        REQUEST_METHOD: "POST",
        SCRIPT_NAME: "",
        PATH_INFO: "/café/a%2Fb",
        QUERY_STRING: "x=%20&y",
        REQUEST_URI: "/caf%C3%A9/a%2Fb?x=%20&y",
        CONTENT_TYPE: "text/plain",
        CONTENT_LENGTH: "3",
        SERVER_NAME: HOST,
        SERVER_PORT: port,
        SERVER_PROTOCOL: "HTTP/1.1",
        REMOTE_ADDR: HOST,
        AUTH_TYPE: "Basic",
        REMOTE_USER: "ann",
        HTTP_X_CUSTOM: "v",
        HTTP_X_SNEAKY: undefined,
        HTTP_HOST: `${HOST}:${port}`,
        scheme: "http",
        version: [1, 0],
      },
    );
    assert.match(e.REMOTE_PORT, /^\d+$/);
    assert.equal(e.cogen, e["cogen.wsgi"]);
    assert.equal(e["cogen.sched"], sched);
    await delay(50); // Deno's legacy abort of request.signal comes after the response went out
    assert.equal(e["cogen.signal"].aborted, false, "a response that went out whole aborts nothing");
    assert.ok(e["cogen.headers"].includes("x-custom"));
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: startResponse — write(), excInfo before the first byte, excInfo after it, arrays", async () => {
  const boom = new Error("boom");
  let rethrown: unknown = null;
  const routes: Route[] = [
    ["/write", (_environ, startResponse) => {
      const write = startResponse("200 OK", TEXT);
      write("Hello, ");
      return ["World!"];
    }],
    ["/replace", function* (_environ, startResponse) {
      startResponse("200 OK", [["X-First", "1"]]);
      startResponse("503 Oops", [["X-Second", "2"]], boom);
      yield "sorry";
    }],
    ["/too-late", function* (_environ, startResponse) {
      startResponse("200 OK", TEXT);
      yield "a";
      try {
        startResponse("500 Oops", [], boom);
      } catch (error) {
        rethrown = error;
      }
      yield "b";
    }],
    ["/array", (_environ, startResponse) => {
      startResponse("200 OK", TEXT);
      return ["one, ", new TextEncoder().encode("two")];
    }],
    ["/no-content", function* (_environ, startResponse) {
      startResponse("204 No Content", []);
      yield "dropped";
    }],
  ];
  const d = startDeno(toFetchHandler(routes));
  try {
    const written = await d.fetch(`/write`);
    assert.equal(await written.text(), "Hello, World!");

    const replaced = await d.fetch(`/replace`);
    assert.equal(replaced.status, 503); // (Deno.serve sends the standard reason phrase, not the app's)
    assert.equal(replaced.headers.get("x-first"), null);
    assert.equal(replaced.headers.get("x-second"), "2");
    assert.equal(replaced.headers.get("content-length"), "5");
    assert.equal(await replaced.text(), "sorry");

    const late = await d.fetch(`/too-late`);
    assert.equal(late.status, 200);
    assert.equal(await late.text(), "ab");
    assert.equal(rethrown, boom);

    const array = await d.fetch(`/array`);
    assert.equal(array.headers.get("content-length"), "8");
    assert.equal(await array.text(), "one, two");

    const empty = await d.fetch(`/no-content`);
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), "");
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: the app's Content-Length holds: more is cut, less errors the body (or is a 500)", async () => {
  const errors: unknown[] = [];
  const routes: Route[] = [
    ["/long", function* (_environ, startResponse) {
      startResponse("200 OK", [["Content-Length", "3"]]);
      yield "abcdef";
    }],
    ["/short", function* (_environ, startResponse) {
      startResponse("200 OK", [["Content-Length", "10"]]);
      yield "abc";
      yield "d";
    }],
    ["/nothing", (_environ, startResponse) => {
      startResponse("200 OK", [["Content-Length", "10"]]);
      return [];
    }],
  ];
  const d = startDeno(toFetchHandler(routes, { onError: (error) => errors.push(error) }));
  try {
    const long = await d.fetch("/long");
    assert.equal(long.headers.get("content-length"), "3");
    assert.equal(await long.text(), "abc");
    const short = await d.fetch("/short");
    await assert.rejects(short.text());
    const nothing = await d.fetch("/nothing");
    assert.equal(nothing.status, 500);
    assert.equal(await nothing.text(), "500 Internal Server Error\n");
    assert.deepEqual(errors.map((error) => (error as Error).message), [
      "the app sent more than its Content-Length of 3 bytes",
      "the app sent 4 of the 10 bytes of its Content-Length",
      "the app sent 0 of the 10 bytes of its Content-Length",
    ]);
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: a client that does not read holds the app back (backpressure)", async () => {
  const CHUNKS = 512; // 32 MiB: far more than the socket buffers hold
  const block = new Uint8Array(64 * 1024);
  let produced = 0;
  async function* flood(_environ: Environ, startResponse: StartResponse) {
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    for (let i = 0; i < CHUNKS; i++) {
      produced++;
      yield block;
    }
  }
  const d = startDeno(toFetchHandler(flood));
  try {
    const response = await d.fetch(`/`);
    // Wait for the app to stop producing (its pace depends on the machine), then look where it stopped.
    let seen = -1;
    for (const deadline = Date.now() + 5000; produced !== seen && Date.now() < deadline;) {
      seen = produced;
      await delay(100);
    }
    assert.equal(produced, seen, "the app never stopped producing while nobody read");
    assert.ok(seen < CHUNKS, `the app produced all ${CHUNKS} chunks with nobody reading`);
    let size = 0;
    for await (const chunk of response.body!) size += chunk.length;
    assert.equal(size, CHUNKS * block.length);
    assert.equal(produced, CHUNKS);
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler(fromFetchHandler(hono.fetch)) on Deno.serve answers as Hono does", async () => {
  const probe = newProbe();
  probe.gate.resolve();
  const d = startDeno(toFetchHandler(fromFetchHandler(honoApp(probe).fetch)));
  try {
    const user = await d.fetch(`/users/7`);
    assert.deepEqual(await user.json(), { id: "7" });
    const events = await d.fetch(`/events`);
    assert.equal(await events.text(), "event: hello\ndata: first\n\ndata: second\nid: 2\n\n");
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: HEAD with the app's Content-Length and no body is a 200 with that length", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/a.txt`, "hello, world\n");
  const errors: unknown[] = [];
  const files = toFetchHandler(staticFiles(root), { onError: (error) => errors.push(error) });
  const routes: Route[] = [
    ["/declared", function* (_environ, startResponse) {
      startResponse("200 OK", [...TEXT, ["Content-Length", "42"]]);
      yield new Sleep(1); // the head is made before the end
    }],
    ["/undeclared", (_environ, startResponse) => {
      startResponse("200 OK", TEXT);
      return ["hello"];
    }],
  ];
  const apps = toFetchHandler(routes, { onError: (error) => errors.push(error) });
  const d = startDeno((request) =>
    new URL(request.url).pathname === "/a.txt" ? files(request) : apps(request)
  );
  try {
    const port = Number(new URL(d.base).port);
    const cases: [string, string][] = [["/a.txt", "13"], ["/declared", "42"], ["/undeclared", "5"]];
    for (const [path, length] of cases) {
      const response = await responseTo(
        port,
        `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        {
          method: "HEAD",
        },
      );
      assert.equal(response.status, 200, path);
      assert.equal(header(response, "content-length"), length, path);
      assert.equal(response.body, "", path);
    }
    assert.deepEqual(errors, []);
  } finally {
    await d.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("toFetchHandler: a 205 with a body is a 205 without one, whenever its head is made", async () => {
  const errors: unknown[] = [];
  const routes: Route[] = [
    // The head is made at the end, with the chunk held for a Content-Length.
    ["/at-end", function* (_environ, startResponse) {
      startResponse("205 Reset Content", TEXT);
      yield "dropped";
    }],
    // The head is made by a timer while the app awaits, the chunk held.
    ["/while-awaiting", async function* (_environ, startResponse) {
      startResponse("205 Reset Content", TEXT);
      yield "dropped";
      await delay(20);
    }],
  ];
  const d = startDeno(toFetchHandler(routes, { onError: (error) => errors.push(error) }));
  try {
    const port = Number(new URL(d.base).port);
    for (const path of ["/at-end", "/while-awaiting"]) {
      const response = await responseTo(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(response.status, 205, path);
      assert.equal(response.body, "", path);
      assert.equal(header(response, "content-type"), "text/plain", path);
    }
    assert.deepEqual(errors, []);
  } finally {
    await d.stop();
  }
});

Deno.test("toFetchHandler: repeated Cookie fields join with ; in HTTP_COOKIE, as on our server", async () => {
  const cookies: unknown[] = [];
  const handler = toFetchHandler((environ, startResponse) => {
    cookies.push(environ.HTTP_COOKIE);
    startResponse("200 OK", TEXT);
    return ["ok"];
  });
  const d = startDeno(handler);
  try {
    // Deno.serve joins them itself.
    const response = await responseTo(
      Number(new URL(d.base).port),
      "GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; b=2\r\nCookie: c=3\r\nConnection: close\r\n\r\n",
    );
    assert.equal(response.body, "ok");
    // Other hosts build their Request with Headers, which join them with ", ".
    const request = new Request("http://x/", { headers: [["Cookie", "a=1; b=2"], ["Cookie", "c=3"]] });
    assert.equal(request.headers.get("cookie"), "a=1; b=2, c=3");
    assert.equal(await (await handler(request)).text(), "ok");
    assert.deepEqual(cookies, ["a=1; b=2; c=3", "a=1; b=2; c=3"]);
  } finally {
    await d.stop();
  }
});
