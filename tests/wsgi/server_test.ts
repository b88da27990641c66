/**
 * The server API (`serve`, `WSGIServer`, Unix sockets, graceful shutdown,
 * the AbortSignal option), the environ of a request, and routes given to
 * `serve` as a list.
 */
import assert from "node:assert/strict";
import { Scheduler, Sleep } from "../../core/mod.ts";
import { type App, type Environ, Input, serve, WSGIServer } from "../../wsgi/mod.ts";
import { SERVER_SOFTWARE } from "../../wsgi/server.ts";
import {
  Client,
  deferred,
  exchange,
  get,
  header,
  HOST,
  parseResponses,
  SOFTWARE,
  startServer,
  textApp,
} from "../http.ts";

/** Waits for `promise` at most `ms`; "timeout" otherwise (the timer is cleared). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), ms));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a TCP connection to `port` is refused. */
async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.close();
    return false;
  } catch {
    return true;
  }
}

// ---- serve() ----

Deno.test("server: serve() on port 0 reports the chosen port in addr and onListen", async () => {
  const seen: Deno.Addr[] = [];
  const server = serve(textApp("hi"), {
    hostname: HOST,
    port: 0,
    onListen: (addr) => seen.push(addr),
    onError: () => {},
  });
  try {
    const addr = server.addr as Deno.NetAddr;
    assert.equal(addr.transport, "tcp");
    assert.equal(addr.hostname, HOST);
    assert.ok(addr.port > 0);
    assert.equal(seen.length, 1);
    assert.equal((seen[0] as Deno.NetAddr).port, addr.port);
    const result = await exchange(addr.port, get());
    assert.equal(result.responses[0].body, "hi");
    assert.ok(server.server instanceof WSGIServer);
    assert.equal(SERVER_SOFTWARE, SOFTWARE);
  } finally {
    await server.shutdown(500);
  }
  await server.finished;
  assert.ok(await refused((server.addr as Deno.NetAddr).port), "no longer listening");
});

Deno.test("server: WSGIServer(address, app, sched, options) with serve as a coroutine", async () => {
  const sched = new Scheduler();
  const errors: unknown[] = [];
  const srv = new WSGIServer({ hostname: HOST, port: 0 }, textApp("coroutine"), sched, {
    onError: (error) => errors.push(error),
    software: "custom/1",
  });
  sched.add(srv.serve);
  const running = sched.run();
  try {
    const port = (srv.addr as Deno.NetAddr).port;
    const result = await exchange(port, get());
    assert.equal(result.responses[0].body, "coroutine");
    assert.equal(header(result.responses[0], "server"), "custom/1");
    assert.equal(srv.connections, 0);
  } finally {
    await srv.shutdown(500);
  }
  await srv.finished;
  await running;
  assert.deepEqual(errors, []);
});

Deno.test("server: serve() in a scheduler of the caller's", async () => {
  const sched = new Scheduler();
  const server = serve(textApp("shared"), { hostname: HOST, port: 0, scheduler: sched, onError: () => {} });
  const running = sched.run();
  try {
    const result = await exchange((server.addr as Deno.NetAddr).port, get());
    assert.equal(result.responses[0].body, "shared");
  } finally {
    await server.shutdown(500);
  }
  await running;
});

Deno.test("server: a Unix socket via { path }", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cogen.sock`;
  let environ: Environ | null = null;
  const app: App = (env, startResponse) => {
    environ = env;
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return ["over unix"];
  };
  const server = serve(app, { path, onError: () => {} });
  try {
    assert.equal(server.addr.transport, "unix");
    const result = await exchange({ path }, get());
    assert.ok(result.closed);
    assert.equal(result.responses[0].status, 200);
    assert.equal(result.responses[0].body, "over unix");
    const env = environ as Environ | null;
    assert.ok(env !== null);
    assert.equal(env.SERVER_PORT, "");
    assert.equal(env.REMOTE_PORT, "");
    assert.equal(env.SERVER_NAME, path);
  } finally {
    await server.shutdown(500);
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- graceful shutdown ----

Deno.test("shutdown: idle keep-alive connections are closed at once, new ones refused", async () => {
  const server = startServer(textApp("hi"));
  const client = await Client.connect(server.port);
  let stopping: Promise<void> | null = null;
  try {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await client.response()).status, 200);
    stopping = server.stop(60_000);
    const outcome = await client.readUntilClose();
    assert.ok(outcome.closed, "the idle connection must be closed at once, not at the deadline");
    assert.equal(outcome.text, "");
    assert.notEqual(await within(stopping, 2000), "timeout", "shutdown resolves once nothing is in flight");
    assert.ok(await refused(server.port));
  } finally {
    await client.close();
    await (stopping ?? server.stop(500));
  }
});

Deno.test("shutdown: a request in flight finishes, answered with Connection: close", async () => {
  const started = deferred();
  const release = deferred();
  const app: App = async function* (_environ, startResponse) {
    started.resolve();
    await release.promise;
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "finished";
  };
  const server = startServer(app);
  const client = await Client.connect(server.port);
  let stopping: Promise<void> | null = null;
  try {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    stopping = server.stop(10_000);
    let finished = false;
    server.server.finished.then(() => finished = true);
    assert.ok(await refused(server.port), "no new connection is accepted");
    assert.equal(finished, false, "the request in flight holds the server");
    release.resolve();
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.equal(response.body, "finished");
    assert.equal(header(response, "connection"), "close");
    assert.ok((await client.readUntilClose()).closed);
    assert.notEqual(await within(stopping, 2000), "timeout");
  } finally {
    release.resolve();
    await client.close();
    await (stopping ?? server.stop(500));
  }
});

Deno.test("shutdown: a pipelined request after the one in flight is not started", async () => {
  const started = deferred();
  const release = deferred();
  let calls = 0;
  const app: App = async function* (_environ, startResponse) {
    calls++;
    started.resolve();
    await release.promise;
    startResponse("200 OK", []);
    yield "one";
  };
  const server = startServer(app);
  const client = await Client.connect(server.port);
  let stopping: Promise<void> | null = null;
  try {
    await client.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    stopping = server.stop(10_000);
    release.resolve();
    const outcome = await client.readUntilClose();
    assert.ok(outcome.closed);
    const { responses } = parseResponses(outcome.text);
    assert.equal(responses.length, 1);
    assert.equal(header(responses[0], "connection"), "close");
    assert.equal(calls, 1);
    await stopping;
  } finally {
    release.resolve();
    await client.close();
    await (stopping ?? server.stop(500));
  }
});

Deno.test("shutdown: after the deadline a waiting app is stopped (its finally runs) and finished resolves", async () => {
  const started = deferred();
  let finallyRan = false;
  let aborted = false;
  const app: App = async function* (environ, startResponse) {
    try {
      environ["cogen.signal"].addEventListener("abort", () => aborted = true);
      startResponse("200 OK", []);
      started.resolve();
      yield new Sleep(60_000);
      yield "never";
    } finally {
      finallyRan = true;
    }
  };
  const server = startServer(app);
  const client = await Client.connect(server.port);
  try {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    const result = await within(server.stop(100), 5000);
    assert.notEqual(result, "timeout", "finished must resolve after the deadline");
    assert.ok(finallyRan, "the app's finally ran");
    assert.ok(aborted, "cogen.signal aborted");
    const outcome = await client.readUntilClose();
    assert.ok(outcome.closed);
    assert.ok(!outcome.text.includes("never"));
  } finally {
    await client.close();
    await server.stop(100);
  }
});

Deno.test("shutdown: after the deadline a connection whose app awaits a plain promise is closed too", async () => {
  const started = deferred();
  const never = deferred();
  const app: App = async function* (_environ, startResponse) {
    started.resolve();
    await never.promise;
    startResponse("200 OK", []);
    yield "late";
  };
  const server = startServer(app);
  const client = await Client.connect(server.port);
  try {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    const stopping = server.stop(100);
    const outcome = await client.readUntilClose(3000);
    assert.ok(outcome.closed, "the connection is closed at the deadline");
    assert.notEqual(await within(stopping, 2000), "timeout", "finished resolves after the deadline");
  } finally {
    never.resolve();
    await client.close();
    await server.stop(100);
  }
});

Deno.test("shutdown: the AbortSignal option shuts the server down", async () => {
  const controller = new AbortController();
  const server = serve(textApp("hi"), {
    hostname: HOST,
    port: 0,
    signal: controller.signal,
    onError: () => {},
  });
  const port = (server.addr as Deno.NetAddr).port;
  try {
    const result = await exchange(port, get());
    assert.equal(result.responses[0].status, 200);
    controller.abort();
    assert.notEqual(await within(server.finished, 2000), "timeout");
    assert.ok(await refused(port));
  } finally {
    await server.shutdown(100);
  }
});

Deno.test("shutdown: an already aborted signal stops the server at once", async () => {
  const server = serve(textApp(), {
    hostname: HOST,
    port: 0,
    signal: AbortSignal.abort(),
    onError: () => {},
  });
  try {
    assert.notEqual(await within(server.finished, 2000), "timeout");
  } finally {
    await server.shutdown(100);
  }
});

Deno.test("shutdown: the signal gives requests in flight shutdownDeadline ms", async () => {
  const controller = new AbortController();
  const started = deferred();
  let finallyRan = false;
  const app: App = async function* (_environ, startResponse) {
    try {
      startResponse("200 OK", []);
      started.resolve();
      yield new Sleep(60_000);
    } finally {
      finallyRan = true;
    }
  };
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    signal: controller.signal,
    shutdownDeadline: 100,
    onError: () => {},
  });
  const client = await Client.connect((server.addr as Deno.NetAddr).port);
  try {
    await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    controller.abort();
    assert.notEqual(await within(server.finished, 5000), "timeout");
    assert.ok(finallyRan);
  } finally {
    await client.close();
    await server.shutdown(100);
  }
});

// ---- environ ----

/** Serves one request, returns the environ the app saw and the body it read. */
async function environOf(
  request: string,
): Promise<{ environ: Environ; body: string; port: number; clientPort: number }> {
  let seen: Environ | null = null;
  let body = "";
  const app: App = async function* (environ, startResponse) {
    seen = environ;
    for await (const chunk of environ["wsgi.input"]) body += String.fromCharCode(...chunk);
    startResponse("200 OK", []);
    yield "ok";
  };
  const server = startServer(app);
  try {
    const client = await Client.connect(server.port);
    try {
      await client.write(request);
      const outcome = await client.readUntilClose();
      assert.equal(parseResponses(outcome.text).responses[0]?.status, 200, outcome.text);
      assert.ok(seen !== null);
      return {
        environ: seen,
        body,
        port: server.port,
        clientPort: (client.conn.localAddr as Deno.NetAddr).port,
      };
    } finally {
      await client.close();
    }
  } finally {
    await server.stop(500);
  }
}

Deno.test("environ: every CGI and WSGI key, with the right values", async () => {
  const target = "/caf%C3%A9/a%2Fb%20c?x=%20y&z=%2F";
  const { environ, body, port, clientPort } = await environOf(
    `POST ${target} HTTP/1.1\r\nHost: example.com:8080\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n` +
      "X-Multi: a\r\nX-Multi:  b \r\nCookie: a=1\r\nCookie: b=2\r\nAuthorization: Basic dXNlcjpwYXNz\r\n" +
      "Accept-Language: fr\r\nConnection: close\r\n\r\nabc",
  );
  const cgi = {
    REQUEST_METHOD: "POST",
    SCRIPT_NAME: "",
    PATH_INFO: "/café/a%2Fb c",
    QUERY_STRING: "x=%20y&z=%2F",
    REQUEST_URI: target,
    CONTENT_TYPE: "text/plain",
    CONTENT_LENGTH: "3",
    SERVER_NAME: "127.0.0.1",
    SERVER_PORT: String(port),
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_SOFTWARE: SOFTWARE,
    ACTUAL_SERVER_PROTOCOL: "HTTP/1.1",
    REMOTE_ADDR: "127.0.0.1",
    REMOTE_PORT: String(clientPort),
    AUTH_TYPE: "Basic",
    REMOTE_USER: "user",
    HTTP_HOST: "example.com:8080",
    HTTP_X_MULTI: "a, b",
    HTTP_COOKIE: "a=1; b=2",
    HTTP_AUTHORIZATION: "Basic dXNlcjpwYXNz",
    HTTP_ACCEPT_LANGUAGE: "fr",
    HTTP_CONNECTION: "close",
  };
  for (const [key, value] of Object.entries(cgi)) assert.equal(environ[key], value, key);
  assert.equal(environ.HTTP_CONTENT_TYPE, undefined, "Content-Type is CONTENT_TYPE only");
  assert.equal(environ.HTTP_CONTENT_LENGTH, undefined, "Content-Length is CONTENT_LENGTH only");
  assert.deepEqual([...environ["wsgi.version"]], [1, 0]);
  assert.equal(environ["wsgi.url_scheme"], "http");
  assert.ok(environ["wsgi.input"] instanceof Input);
  assert.equal(body, "abc");
  const errors = environ["wsgi.errors"];
  assert.equal(typeof errors.write, "function");
  assert.equal(typeof errors.writelines, "function");
  assert.equal(typeof errors.flush, "function");
  assert.equal(environ["wsgi.multithread"], false);
  assert.equal(environ["wsgi.multiprocess"], false);
  assert.equal(environ["wsgi.run_once"], false);
  assert.equal(typeof environ["wsgi.file_wrapper"], "function");
  assert.equal(environ.cogen, environ["cogen.wsgi"]);
  assert.equal(environ["cogen.core"], environ.cogen.core);
  assert.equal(typeof environ["cogen.core"].events.Sleep, "function");
  assert.equal(typeof environ["cogen.input"].read, "function");
  assert.equal(typeof environ["cogen.call"], "function");
  assert.equal(typeof environ["cogen.yield"], "function");
  assert.ok(environ["cogen.sched"] instanceof Scheduler);
  assert.ok(environ["cogen.http_connection"] !== undefined && environ["cogen.http_connection"] !== null);
  assert.ok(environ["cogen.signal"] instanceof AbortSignal);
  assert.equal(environ["cogen.signal"].aborted, false, "a normal end does not abort");
  assert.equal(environ.cogen.contentLength, 3);
});

Deno.test("environ: HTTP/1.0, no body: SERVER_PROTOCOL, empty CONTENT_*", async () => {
  const { environ } = await environOf("GET /a?b HTTP/1.0\r\n\r\n");
  assert.equal(environ.SERVER_PROTOCOL, "HTTP/1.0");
  assert.equal(environ.CONTENT_TYPE, "");
  assert.equal(environ.CONTENT_LENGTH, "");
  assert.equal(environ.PATH_INFO, "/a");
  assert.equal(environ.QUERY_STRING, "b");
  assert.equal(environ.AUTH_TYPE, "");
  assert.equal(environ.REMOTE_USER, "");
  assert.equal(environ.HTTP_HOST, undefined);
});

Deno.test("environ: absolute-form target, empty query, raw REQUEST_URI", async () => {
  const { environ } = await environOf(
    "GET http://example.com/p/q%41? HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
  );
  assert.equal(environ.REQUEST_URI, "http://example.com/p/q%41?");
  assert.equal(environ.PATH_INFO, "/p/qA");
  assert.equal(environ.QUERY_STRING, "");
});

Deno.test("environ: chunked body — CONTENT_LENGTH empty, trailers never merged into HTTP_*", async () => {
  const { environ, body } = await environOf(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      "3\r\nabc\r\n0\r\nX-Trailer: t\r\nHost: evil\r\n\r\n",
  );
  assert.equal(body, "abc");
  assert.equal(environ.CONTENT_LENGTH, "");
  assert.equal(environ.HTTP_TRANSFER_ENCODING, "chunked");
  assert.equal(environ.HTTP_X_TRAILER, undefined);
  assert.equal(environ.HTTP_HOST, "x");
  assert.deepEqual(environ["wsgi.input"].trailers, ["X-Trailer", "t", "Host", "evil"]);
});

Deno.test("environ: obs-text kept, OWS trimmed, malformed Basic credentials give no user", async () => {
  const { environ } = await environOf(
    "GET /%E9 HTTP/1.1\r\nHost: x\r\nX-Text: \tcaf\xe9 \t\r\nAuthorization: Basic !!!\r\nConnection: close\r\n\r\n",
  );
  assert.equal(environ.HTTP_X_TEXT, "caf\xe9");
  assert.equal(environ.PATH_INFO, "/\xe9", "bytes that are not UTF-8 are read as ISO-8859-1");
  assert.equal(environ.AUTH_TYPE, "");
  assert.equal(environ.REMOTE_USER, "");
});

Deno.test("environ: OPTIONS * keeps the asterisk", async () => {
  const { environ } = await environOf("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(environ.REQUEST_METHOD, "OPTIONS");
  assert.equal(environ.REQUEST_URI, "*");
});

// ---- routes ----

Deno.test("server: routes given as a list to serve() (PathInfoDispatcher)", async () => {
  const show = (name: string): App => (environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [`${name} ${environ.SCRIPT_NAME}|${environ.PATH_INFO}`];
  };
  const server = startServer([["/api", show("api")], ["/api/v2", show("v2")], ["/", show("root")]]);
  try {
    const bodyOf = async (path: string) => (await exchange(server.port, get(path))).responses[0].body;
    assert.equal(await bodyOf("/api/x"), "api /api|/x");
    assert.equal(await bodyOf("/api"), "api /api|");
    assert.equal(await bodyOf("/api/v2/y"), "v2 /api/v2|/y");
    assert.equal(await bodyOf("/apix"), "root |/apix");
    assert.equal(await bodyOf("/"), "root |/");
  } finally {
    await server.stop(500);
  }
  const only = startServer([["/api", show("api")]]);
  try {
    const result = await exchange(only.port, get("/other"));
    assert.equal(result.responses[0].status, 404);
  } finally {
    await only.stop(500);
  }
});

Deno.test("environ: cogen.signal is made on first use, aborted even when first looked at after the abort", async () => {
  const { CogenProxy } = await import("../../wsgi/proxy.ts");
  const early = new CogenProxy(-1);
  const signal = early.signal;
  assert.equal(signal.aborted, false);
  early.abort(new Error("gone"));
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as Error).message, "gone");
  const late = new CogenProxy(-1);
  late.abort(new Error("gone before anyone looked"));
  assert.equal(late.signal.aborted, true);
  assert.equal((late.signal.reason as Error).message, "gone before anyone looked");
  assert.equal(late.signal, late.signal, "the same signal each time");
});
