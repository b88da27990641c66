/**
 * `PathInfoDispatcher` (from the middleware module) over real sockets: the
 * longest prefix wins whatever the order, only on segment boundaries of the
 * decoded path; the prefix moves from PATH_INFO to SCRIPT_NAME (nested
 * dispatchers add up); 404 byte for byte otherwise; bad routes refused; the
 * chosen app still streams and gets return(). (tests/wsgi/server_test.ts
 * covers routes given to serve() as a list.)
 */
import assert from "node:assert/strict";
import { PathInfoDispatcher, type Route } from "../../middleware/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { Client, DS, exchange, get, HANG_MS, normalizeDate, startServer, TEXT, until } from "../http.ts";
import { assertStreams, go, helloWaitWorld } from "./streaming.ts";

/** Answers `name SCRIPT_NAME|PATH_INFO`. */
function show(name: string): App {
  return (environ, startResponse) => {
    startResponse("200 OK", TEXT);
    return [`${name} ${environ.SCRIPT_NAME}|${environ.PATH_INFO}`];
  };
}

/** Serves `app`; returns a function from a path to the body (or the status when not 200). */
async function withPaths(app: App, fn: (bodyOf: (path: string) => Promise<string>) => Promise<void>) {
  const t = startServer(app);
  try {
    await fn(async (path) => {
      const response = (await exchange(t.port, get(path))).responses[0];
      return response.status === 200 ? response.text : String(response.status);
    });
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
}

Deno.test("PathInfoDispatcher: the longest prefix wins, whatever the order of the routes", async () => {
  const routes: Route[] = [["/a", show("a")], ["/a/b/c", show("abc")], ["/a/b", show("ab")]];
  await withPaths(PathInfoDispatcher(routes), async (bodyOf) => {
    assert.equal(await bodyOf("/a/b/c/d"), "abc /a/b/c|/d");
    assert.equal(await bodyOf("/a/b/c"), "abc /a/b/c|");
    assert.equal(await bodyOf("/a/b/"), "ab /a/b|/");
    assert.equal(await bodyOf("/a/bc"), "a /a|/bc", "on segment boundaries only");
    assert.equal(await bodyOf("/a?x=1"), "a /a|", "the query is not part of the path");
    assert.equal(await bodyOf("/ab"), "404");
  });
});

Deno.test("PathInfoDispatcher: nested dispatchers add their prefixes to SCRIPT_NAME", async () => {
  const v1 = PathInfoDispatcher([["/v1", show("v1")], ["/", show("api-root")]]);
  await withPaths(PathInfoDispatcher([["/api", v1], ["", show("site")]]), async (bodyOf) => {
    assert.equal(await bodyOf("/api/v1/users/7"), "v1 /api/v1|/users/7");
    assert.equal(await bodyOf("/api/v2"), "api-root /api|/v2");
    assert.equal(await bodyOf("/api"), "api-root /api|");
    assert.equal(await bodyOf("/other"), "site |/other", 'a "" prefix matches everything, moving nothing');
  });
});

Deno.test("PathInfoDispatcher: prefixes are normalised (leading slash added, trailing ones dropped)", async () => {
  await withPaths(PathInfoDispatcher([["docs//", show("docs")], ["/", show("root")]]), async (bodyOf) => {
    assert.equal(await bodyOf("/docs/intro"), "docs /docs|/intro");
    assert.equal(await bodyOf("/docs"), "docs /docs|");
    assert.equal(await bodyOf("/"), "root |/");
  });
});

Deno.test("PathInfoDispatcher: it matches the decoded path; an encoded slash is not a boundary", async () => {
  await withPaths(PathInfoDispatcher([["/café", show("café")], ["/api", show("api")]]), async (bodyOf) => {
    assert.equal(await bodyOf("/caf%C3%A9/menu"), "café /café|/menu");
    assert.equal(await bodyOf("/api%2Fx"), "404");
  });
});

Deno.test("PathInfoDispatcher: 404 byte for byte when no prefix matches", async () => {
  const t = startServer(PathInfoDispatcher([["/api", show("api")]]));
  try {
    const result = await exchange(t.port, get("/apix/y"));
    const body = "404 Not Found\nno app is mounted at /apix/y\n";
    assert.equal(
      normalizeDate(result.text),
      `HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n${DS}` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  } finally {
    await t.stop();
  }
});

Deno.test("PathInfoDispatcher: each route must be a [prefix, app] pair", () => {
  const message = new TypeError("PathInfoDispatcher: each route must be a [prefix, app] pair");
  for (const bad of [["/a"], [1, show("x")], ["/a", "app"], "/a"]) {
    assert.throws(() => PathInfoDispatcher([bad as unknown as Route]), message, JSON.stringify(bad));
  }
});

// ---- streaming ----

Deno.test("PathInfoDispatcher: the first chunk reaches the client while the chosen app waits", async () => {
  const probe = { finallyRan: false };
  const t = startServer(PathInfoDispatcher([["/go", go], ["/wait", helloWaitWorld(probe)]]));
  try {
    await assertStreams(t.port, { path: "/wait" });
    assert.ok(probe.finallyRan);
  } finally {
    await t.stop();
  }
});

Deno.test("PathInfoDispatcher: a client that leaves during the wait: return() reaches the chosen app", async () => {
  const probe = { finallyRan: false };
  const t = startServer(PathInfoDispatcher([["/wait", helloWaitWorld(probe)]]));
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.endsWith("6\r\nHello \r\n")));
    assert.equal(probe.finallyRan, false);
    await client.close();
    await until(() => probe.finallyRan, HANG_MS, "the app's finally after the client left");
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});
