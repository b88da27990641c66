/**
 * The seed's coroutine extensions over real sockets: operations recorded on
 * environ.cogen and carried by "", operations yielded directly, body reads
 * through cogen.input, and what happens when the protocol is broken.
 */
import assert from "node:assert/strict";
import {
  AddCoro,
  Join,
  Local,
  OperationTimeout,
  PublishSubscribeQueue,
  Queue,
  Signal,
  Sleep,
  type Task,
  WaitForSignal,
} from "../../core/mod.ts";
import { relay } from "../../middleware/mod.ts";
import type { App, Environ, StartResponse } from "../../wsgi/mod.ts";
import { waitApp } from "../../examples/wait.ts";
import { Client, get, headerAll, HOST, responseTo, startServer, TEXT, withServer } from "../http.ts";

Deno.test("extensions: the seed's wait_app times out after 1 s and says so", async () => {
  const t = startServer(waitApp);
  try {
    const started = Date.now();
    const response = await responseTo(t.port, get("/", { host: "test" }));
    assert.equal(response.status, 200);
    assert.equal(response.text, "I'm waiting for some signalYour time is up !");
    assert.ok(Date.now() - started >= 950, "it waited for its timeout");
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: the seed's wait_app is woken by a signal, and its first chunk arrives before the wait ends", async () => {
  const t = startServer([
    ["/signal", async function* (_environ: Environ, startResponse: StartResponse) {
      const woken: number = yield new Signal("abc", "bob");
      startResponse("200 OK", TEXT);
      yield String(woken);
    }],
    ["/", waitApp],
  ]);
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // The head and "I'm waiting…" are flushed before the app waits.
    const buf = new Uint8Array(4096);
    const n = await client.conn.read(buf);
    const first = new TextDecoder().decode(buf.subarray(0, n!));
    assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(first, /Transfer-Encoding: chunked\r\n/);
    assert.match(first, /\r\n\r\n1b\r\nI'm waiting for some signal\r\n$/);
    assert.equal((await responseTo(t.port, get("/signal", { host: "test" }))).text, "1");
    const rest = new TextDecoder().decode(buf.subarray(0, (await client.conn.read(buf))!));
    assert.equal(rest, "18\r\nSomeone signaled me: bob\r\n0\r\n\r\n");
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: result and exception on the proxy; operation cleared after it ran", async () => {
  const seen: unknown[] = [];
  const t = startServer(async function* (environ, startResponse) {
    const cogen = environ.cogen;
    assert.equal(environ["cogen.wsgi"], cogen);
    yield cogen.core.events.Sleep(1);
    seen.push(cogen.operation, cogen.result, cogen.exception);
    yield environ["cogen.core"].events.WaitForSignal("nobody", { timeout: 5 }); // cogen 0.1.9's spelling
    seen.push(cogen.operation, cogen.result instanceof OperationTimeout, cogen.exception === cogen.result);
    yield cogen.call((ms: number) => new Sleep(ms), 1);
    yield cogen.yield(Promise.resolve(42));
    seen.push(cogen.result, cogen.exception);
    startResponse("200 OK", TEXT);
    yield "ok";
  });
  try {
    assert.equal((await responseTo(t.port, get("/", { host: "test" }))).text, "ok");
    assert.deepEqual(seen, [null, undefined, null, null, true, true, 42, null]);
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: operations and promises yielded directly send their result back (sync and async apps)", async () => {
  const t = startServer([
    ["/sync", function* (_environ: Environ, startResponse: StartResponse) {
      const n: number = yield Promise.resolve(20);
      const m: number = yield new Promise<number>((resolve) => setTimeout(() => resolve(22), 5));
      let timedOut = false;
      try {
        yield new WaitForSignal("never", { timeout: 5 });
      } catch (error) {
        timedOut = error instanceof OperationTimeout;
      }
      startResponse("200 OK", TEXT);
      yield `${n + m} ${timedOut}`;
    }],
    ["/async", async function* (_environ: Environ, startResponse: StartResponse) {
      const slept: undefined = yield new Sleep(1);
      startResponse("200 OK", TEXT);
      yield `slept ${slept}`;
    }],
  ]);
  try {
    assert.equal((await responseTo(t.port, get("/sync", { host: "test" }))).text, "42 true");
    assert.equal((await responseTo(t.port, get("/async", { host: "test" }))).text, "slept undefined");
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: queue and pub/sub helpers of cogen.core", async () => {
  const q = new Queue<string>();
  const ps = new PublishSubscribeQueue<string>();
  const t = startServer(async function* (environ, startResponse) {
    const core = environ.cogen.core;
    yield core.queue(q).put("item");
    yield core.queue(q).get({ timeout: 100 });
    const item = environ.cogen.result;
    yield core.pubsub(ps).subscribe("me");
    yield core.pubsub(ps).publish("news");
    yield core.pubsub(ps).fetch({ key: "me", timeout: 100 });
    startResponse("200 OK", TEXT);
    yield `${item} ${JSON.stringify(environ.cogen.result)}`;
  });
  try {
    assert.equal((await responseTo(t.port, get("/", { host: "test" }))).text, 'item ["news"]');
  } finally {
    await t.stop();
  }
});

/** An app that reads its body through cogen.input and answers what it read. */
async function* inputApp(environ: Environ, startResponse: StartResponse) {
  const url = new URLSearchParams(environ.QUERY_STRING);
  const how = url.get("how") ?? "read";
  const parts: string[] = [];
  for (;;) {
    if (how === "read") yield environ["cogen.input"].read(3);
    else if (how === "Read") yield environ["cogen.input"].Read(3);
    else if (how === "ReadLine") yield environ["cogen.input"].ReadLine(100);
    else yield environ["cogen.input"].readline(100);
    const result = environ.cogen.result;
    if (result instanceof Error) {
      parts.push(`error: ${result.message}`);
      break;
    }
    if (result === "") break;
    parts.push(new TextDecoder().decode(result as Uint8Array));
  }
  if (url.has("again")) {
    yield environ["cogen.input"].read(3);
    parts.push(`again: ${(environ.cogen.result as Error).message}`);
  }
  startResponse("200 OK", TEXT);
  yield JSON.stringify(parts);
}

Deno.test('extensions: cogen.input read/Read/readline/ReadLine; the result is the chunk, then ""', async () => {
  const t = startServer(inputApp);
  try {
    const body = "ab\ncdefg\nh";
    const request = (query: string) =>
      `POST /?${query} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    assert.deepEqual(JSON.parse((await responseTo(t.port, request("how=read"))).text), [
      "ab\n",
      "cde",
      "fg\n",
      "h",
    ]);
    assert.deepEqual(JSON.parse((await responseTo(t.port, request("how=Read"))).text), [
      "ab\n",
      "cde",
      "fg\n",
      "h",
    ]);
    assert.deepEqual(JSON.parse((await responseTo(t.port, request("how=readline"))).text), [
      "ab\n",
      "cdefg\n",
      "h",
    ]);
    assert.deepEqual(JSON.parse((await responseTo(t.port, request("how=ReadLine"))).text), [
      "ab\n",
      "cdefg\n",
      "h",
    ]);
    const chunked =
      "POST /?how=readline HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      "4\r\nab\nc\r\n3\r\nd\ne\r\n0\r\n\r\n";
    assert.deepEqual(JSON.parse((await responseTo(t.port, chunked)).text), ["ab\n", "cd\n", "e"]);
    // One decoded chunk larger than the readline limit: the bytes after each line are all kept.
    const lines = Array.from({ length: 12 }, (_, i) => `line ${String(i).padStart(2, "0")} of twelve\n`);
    const big = lines.join("");
    const oneChunk =
      "POST /?how=readline HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`;
    assert.deepEqual(JSON.parse((await responseTo(t.port, oneChunk)).text), lines);
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: environ.cogen.readCount counts the body bytes read, whichever way they were read", async () => {
  const counts: number[] = [];
  const app: App = async function* (environ, startResponse) {
    const proxy = environ.cogen;
    counts.push(proxy.readCount);
    yield environ["cogen.input"].readline(100); // "ab\n"
    counts.push(proxy.readCount);
    await environ["wsgi.input"].readAsync(2); // "cd"
    counts.push(proxy.readCount);
    for await (const _ of environ["wsgi.input"]) { /* the rest: "efg\nh" */ }
    counts.push(proxy.readCount);
    startResponse("200 OK", TEXT);
    yield String(proxy.readCount);
  };
  const t = startServer(app);
  try {
    const body = "ab\ncdefg\nh";
    const response = await responseTo(
      t.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(response.text, "10");
    assert.deepEqual(counts, [0, 3, 5, 10]);
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: a read after the body ended is an error naming the rule", async () => {
  const t = startServer(inputApp);
  try {
    const response = await responseTo(
      t.port,
      "POST /?how=read&again HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    );
    assert.deepEqual(JSON.parse(response.text), [
      "hi",
      "again: wsgi.input.read: the body has ended (a read already returned an empty chunk); stop reading",
    ]);
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: readline past its limit gives an overflow error", async () => {
  const t = startServer(async function* (environ, startResponse) {
    yield environ["cogen.input"].readline(4);
    startResponse("200 OK", TEXT);
    yield (environ.cogen.result as Error).message;
  });
  try {
    const response = await responseTo(
      t.port,
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabcdefghij",
    );
    assert.match(response.text, /no line end within 4 bytes/);
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: Expect: 100-continue is answered on the first cogen.input read", async () => {
  const t = startServer(inputApp);
  try {
    const client = await Client.connect(t.port);
    assert.ok(
      await client.write(
        "POST /?how=read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
      ),
    );
    const interim = await client.response();
    assert.equal(interim.raw.split("\r\n")[0], "HTTP/1.1 100 Continue");
    assert.ok(await client.write("hello"));
    const final = await client.response();
    assert.deepEqual(JSON.parse(final.text), ["hel", "lo"]);
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: a chunked body over maxBodyBytes read through cogen.input: a clear error, then the connection closes", async () => {
  const t = startServer(inputApp, { maxBodyBytes: 8 });
  try {
    const client = await Client.connect(t.port);
    assert.ok(
      await client.write(
        "POST /?how=read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
      ),
    );
    const response = await client.response();
    assert.deepEqual(JSON.parse(response.text), ["abc", "error: chunked body over the limit of 8 bytes"]);
    assert.deepEqual(headerAll(response, "connection"), ["close"]);
    assert.ok((await client.readUntilClose()).closed);
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test('extensions: through a middleware that transforms chunks and passes "" on, the wait still happens', async () => {
  function shout(app: App): App {
    return (environ, startResponse) =>
      relay(app(environ, startResponse), (item) => typeof item === "string" ? item.toUpperCase() : item);
  }
  const t = startServer(shout(waitApp));
  try {
    const started = Date.now();
    const response = await responseTo(t.port, get("/", { host: "test" }));
    assert.equal(response.text, "I'M WAITING FOR SOME SIGNALYOUR TIME IS UP !");
    assert.ok(Date.now() - started >= 950);
  } finally {
    await t.stop();
  }
});

Deno.test('extensions: a middleware that drops "" gets a clear error: the operation was never run', async () => {
  function dropEmpty(app: App): App {
    return async function* (environ, startResponse) {
      for await (const item of relay(app(environ, startResponse))) if (item !== "") yield item;
    };
  }
  const t = startServer(dropEmpty(waitApp));
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const { text: raw, closed } = await client.readUntilClose();
    assert.ok(closed, `the server did not close the connection: ${JSON.stringify(raw)}`);
    // The first chunk was held back, so the server could still answer 500.
    assert.match(raw, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.equal(t.errors.length, 1);
    assert.match(
      String(t.errors[0].error),
      /recorded WaitForSignal\("abc"\) on environ\.cogen, but the empty chunk \(""\) that carries it never reached the server, so it was never run/,
    );
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: bad input from the app gets a 500 and a log line naming the rule", async () => {
  const t = startServer([
    ["/number", function* (_environ: Environ, startResponse: StartResponse) {
      startResponse("200 OK", TEXT);
      yield 42 as unknown as string;
    }],
    ["/twice", function* (environ: Environ) {
      environ.cogen.core.events.Sleep(1);
      environ.cogen.core.events.Sleep(1);
      yield "";
    }],
  ]);
  try {
    const number = await responseTo(t.port, get("/number", { host: "test" }));
    assert.equal(number.status, 500);
    assert.equal(number.text, "500 Internal Server Error\n");
    assert.match(String(t.errors[0].error), /the app yielded 42: yield strings or Uint8Arrays/);
    assert.match(t.errors[0].context, /GET \/number/);
    const twice = await responseTo(t.port, get("/twice", { host: "test" }));
    assert.equal(twice.status, 500);
    assert.match(
      String(t.errors[1].error),
      /an operation \(Sleep\(1\)\) is already recorded and was not yielded yet/,
    );
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: wsgi.input's synchronous methods name SynchronousInputMiddleware when the body is not buffered", async () => {
  const t = startServer(function (environ: Environ, startResponse: StartResponse) {
    let message = "";
    try {
      environ["wsgi.input"].read();
    } catch (error) {
      message = (error as Error).message;
    }
    startResponse("200 OK", TEXT);
    return [message];
  });
  try {
    const response = await responseTo(
      t.port,
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    );
    assert.match(
      response.text,
      /synchronous and the body is not buffered: wrap the app in SynchronousInputMiddleware/,
    );
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: wsgi.input as an async iterable and as a ReadableStream", async () => {
  const t = startServer([
    ["/iter", async function* (environ: Environ, startResponse: StartResponse) {
      let text = "";
      for await (const chunk of environ["wsgi.input"]) text += new TextDecoder().decode(chunk);
      startResponse("200 OK", TEXT);
      yield text;
    }],
    ["/stream", async function* (environ: Environ, startResponse: StartResponse) {
      const text = await new Response(environ["wsgi.input"].stream).text();
      startResponse("200 OK", TEXT);
      yield text;
    }],
  ]);
  try {
    for (const path of ["/iter", "/stream"]) {
      const response = await responseTo(
        t.port,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
      );
      assert.equal(response.text, "hello world");
    }
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: wsgi.file_wrapper streams a file without the app touching its bytes", async () => {
  const path = await Deno.makeTempFile();
  const content = "0123456789".repeat(20_000);
  await Deno.writeTextFile(path, content);
  const t = startServer(async (environ: Environ, startResponse: StartResponse) => {
    const file = await Deno.open(path);
    startResponse("200 OK", [["Content-Type", "text/plain"], ["Content-Length", String(content.length)]]);
    return environ["wsgi.file_wrapper"](file, 4096);
  });
  try {
    const response = await responseTo(t.port, get("/", { host: "test" }));
    assert.equal(response.status, 200);
    assert.equal(response.text, content);
  } finally {
    await t.stop();
    await Deno.remove(path);
  }
});

Deno.test("extensions: a helper called from a task the app started is an error saying where to call it", async () => {
  let caught: unknown = null;
  const t = startServer(async function* (environ, startResponse) {
    const child: Task<unknown> = yield new AddCoro(function* () {
      try {
        environ.cogen.core.events.Sleep(1);
      } catch (error) {
        caught = error;
      }
    });
    yield new Join(child);
    startResponse("200 OK", TEXT);
    yield "done";
  });
  try {
    const response = await responseTo(t.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal(response.text, "done");
    assert.ok(caught instanceof Error);
    assert.match(
      (caught as Error).message,
      /environ\.cogen helpers record an operation on the request being served; call them from the app's own code/,
    );
  } finally {
    await t.stop();
  }
});

Deno.test("extensions: the helpers and Local find the request after the app's own awaits (async generator, async function, behind middleware)", async () => {
  const note = new Local<string>();
  const asyncGenerator: App = async function* (environ, startResponse) {
    note.set("generator");
    await new Promise((resolve) => setTimeout(resolve, 5));
    yield environ.cogen.core.events.Sleep(1); // the seed's path, after an await of the app's own
    yield "";
    await Promise.resolve();
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield `${note.get()} ${environ.cogen.result === undefined ? "slept" : "?"}`;
  };
  const asyncFunction: App = async (environ, startResponse) => {
    note.set(environ.PATH_INFO as string);
    await new Promise((resolve) => setTimeout(resolve, 5));
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [`local ${note.get()}`]; // the task's Local, found again after the await
  };
  // A middleware is a plain function: the async app behind it still runs in the request's task.
  const behind: App = (environ, startResponse) => asyncFunction(environ, startResponse);
  await withServer(
    [["/gen", asyncGenerator], ["/fn", asyncFunction], ["/behind", behind]],
    {},
    async ({ port, errors }) => {
      for (const [path, body] of [["/gen", "generator slept"], ["/fn", "local "], ["/behind", "local "]]) {
        const client = await Client.connect(port);
        assert.ok(await client.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
        const response = await client.response();
        assert.equal(response.body, body, `${path}: ${JSON.stringify(errors.map((e) => String(e.error)))}`);
        await client.close();
      }
      assert.deepEqual(errors, []);
    },
  );
});
