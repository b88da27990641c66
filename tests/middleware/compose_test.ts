/**
 * `compose` over real sockets: the order (the last listed is outermost),
 * argument errors, and a real stack (validator, error pages, access log)
 * that still streams, passes operations, and forwards return().
 */
import assert from "node:assert/strict";
import {
  accessLog,
  type AccessLogEntry,
  compose,
  errorPages,
  type Middleware,
  ValidationError,
  validator,
} from "../../middleware/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import {
  Client,
  DS,
  exchange,
  get,
  HANG_MS,
  normalizeDate,
  responseTo,
  startServer,
  TEXT,
  until,
} from "../http.ts";
import { assertStreams, go, helloWaitWorld } from "./streaming.ts";

const ok: App = (_environ, startResponse) => {
  startResponse("200 OK", TEXT);
  return ["ok"];
};

/** A middleware that notes when it sees the request and adds `X-Layer: name` to the response. */
function layer(name: string, seen: string[]): Middleware {
  return (app) => (environ, startResponse) => {
    seen.push(name);
    return app(
      environ,
      (status, headers, excInfo) => startResponse(status, [...headers, ["X-Layer", name]], excInfo),
    );
  };
}

Deno.test("compose: the first listed wraps the app, the last listed is outermost", async () => {
  const seen: string[] = [];
  const t = startServer(compose(ok, layer("inner", seen), layer("middle", seen), layer("outer", seen)));
  try {
    const result = await exchange(t.port, get("/"));
    assert.equal(
      normalizeDate(result.text),
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Layer: inner\r\nX-Layer: middle\r\nX-Layer: outer\r\n" +
        `${DS}Content-Length: 2\r\nConnection: close\r\n\r\nok`,
    );
    assert.deepEqual(seen, ["outer", "middle", "inner"], "the outermost sees the request first");
  } finally {
    await t.stop();
  }
});

Deno.test("compose: no middleware is the app itself", () => {
  assert.equal(compose(ok), ok);
});

Deno.test("compose: arguments are checked", () => {
  assert.throws(
    () => compose(null as unknown as App),
    new TypeError("compose: app must be a function (environ, startResponse), got null"),
  );
  assert.throws(
    () => compose(ok, validator, "accessLog" as unknown as Middleware),
    new TypeError('compose: middleware 1 must be a function (app) => app, got "accessLog"'),
  );
  const options = { format: "combined" } as unknown as App;
  assert.throws(
    () =>
      compose(ok, function notMiddleware() {
        return options;
      } as unknown as Middleware),
    new TypeError(
      "compose: middleware 0 (notMiddleware) returned an object, not an app; give middleware with options as (app) => mw(app, options)",
    ),
  );
});

// ---- a real stack ----

/** validator around the app, error pages around it (reporting to `reported`), the access log outermost. */
function stack(app: App, entries: AccessLogEntry[], reported: unknown[] = []): App {
  return compose(
    app,
    validator,
    (inner) => errorPages(inner, { onError: (error) => reported.push(error) }),
    (inner) =>
      accessLog(inner, {
        format: (entry) => {
          entries.push(entry);
          return "";
        },
        write: () => {},
      }),
  );
}

Deno.test("compose: a stack of validator, errorPages and accessLog works as one", async () => {
  const entries: AccessLogEntry[] = [];
  const missing: App = (_environ, startResponse) => {
    startResponse("404 Not Found", []);
    return [];
  };
  const broken: App = (_environ, startResponse) => {
    startResponse("200 OK", [["Bad Name", "x"]]);
    return ["never"];
  };
  const reported: unknown[] = [];
  const t = startServer([
    ["/missing", stack(missing, entries, reported)],
    ["/broken", stack(broken, entries, reported)],
  ]);
  try {
    const notFound = await responseTo(t.port, get("/missing", { host: "x" }));
    assert.equal(notFound.status, 404);
    assert.match(notFound.text, /<h1>404 Not Found<\/h1>/);
    // The validator's error, inside errorPages, becomes a 500 page; the log outside sees the 500.
    const invalid = await responseTo(t.port, get("/broken", { host: "x" }));
    assert.equal(invalid.status, 500);
    assert.match(invalid.text, /<h1>500 Internal Server Error<\/h1>/);
    assert.equal(reported.length, 1);
    assert.ok(reported[0] instanceof ValidationError);
    await until(() => entries.length === 2, HANG_MS, "two log entries");
    assert.deepEqual(entries.map((e) => [e.target, e.status, e.bytes, e.outcome]), [
      ["/missing", 404, notFound.body.length, "complete"],
      ["/broken", 500, invalid.body.length, "complete"],
    ]);
  } finally {
    await t.stop();
  }
});

Deno.test("compose: through the stack, the first chunk reaches the client while the app waits", async () => {
  const probe = { finallyRan: false };
  const entries: AccessLogEntry[] = [];
  const t = startServer([["/go", go], ["/", stack(helloWaitWorld(probe), entries)]]);
  try {
    await assertStreams(t.port);
    await until(() => entries.length === 1, HANG_MS, "the log entry");
    assert.ok(probe.finallyRan);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});

Deno.test("compose: through the stack, a client that leaves during the wait: return() reaches the app", async () => {
  const probe = { finallyRan: false };
  const entries: AccessLogEntry[] = [];
  const t = startServer(stack(helloWaitWorld(probe), entries));
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.endsWith("6\r\nHello \r\n")));
    assert.equal(probe.finallyRan, false);
    await client.close();
    await until(() => probe.finallyRan, HANG_MS, "the app's finally after the client left");
    await until(() => entries.length === 1, HANG_MS, "the log entry");
    assert.equal(entries[0].outcome, "gone");
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});
