/**
 * `errorPages` over real sockets: HTML or JSON by `Accept`, the stack only
 * with `debug`, custom pages, what is left alone (bodies, HEAD lengths,
 * responses already started), option errors; error statuses are held until
 * the body shows, operations still pass at once, and return() still reaches
 * the app.
 */
import assert from "node:assert/strict";
import { Await } from "../../core/mod.ts";
import { errorPages, type ErrorPagesOptions } from "../../middleware/mod.ts";
import { type App, type Environ, HttpError } from "../../wsgi/mod.ts";
import {
  Client,
  DS,
  exchange,
  get,
  HANG_MS,
  type Logged,
  normalizeDate,
  type ParsedResponse,
  responseTo,
  startServer,
  TEXT,
  until,
} from "../http.ts";
import { assertStreams, go, helloWaitWorld } from "./streaming.ts";

/** The built-in HTML page of `status reason`, with `pre` (the stack) when given. */
function html(title: string, pre = ""): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n` +
    `<body>\n<h1>${title}</h1>\n${pre}</body>\n</html>\n`;
}

/** A GET closing the connection, with `Accept: accept` when given. */
function request(path = "/", accept?: string, method = "GET"): string {
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${accept === undefined ? "" : `Accept: ${accept}\r\n`}` +
    "Connection: close\r\n\r\n";
}

interface Outcome {
  response: ParsedResponse;
  /** What errorPages reported through onError. */
  reported: unknown[];
  /** What the server logged. */
  logged: Logged[];
}

/** Serves `errorPages(app, options)`, sends `raw`, reads until the server closes. */
async function paged(
  app: App,
  raw: string,
  options: ErrorPagesOptions = {},
  method = "GET",
): Promise<Outcome> {
  const reported: unknown[] = [];
  const t = startServer(errorPages(app, { onError: (error) => reported.push(error), ...options }));
  try {
    const result = await exchange(t.port, raw, { methods: [method] });
    assert.ok(result.closed, `the connection hung: ${JSON.stringify(result.text)}`);
    assert.equal(result.responses.length, 1, `one response expected: ${JSON.stringify(result.text)}`);
    return { response: result.responses[0], reported, logged: t.errors };
  } finally {
    await t.stop();
  }
}

/** Answers `status` with `headers` and no body. */
function bodiless(status: string, headers: [string, string][] = []): App {
  return (_environ, startResponse) => {
    startResponse(status, headers);
    return [];
  };
}

/** The expected response bytes of a page (`Vary: Accept` after its fields unless the app's fields have a Vary). */
function pageResponse(status: string, type: string, body: string, fields = ""): string {
  const length = new TextEncoder().encode(body).length;
  const vary = /^Vary:/im.test(fields) ? "" : "Vary: Accept\r\n";
  return `HTTP/1.1 ${status}\r\n${fields}Content-Type: ${type}\r\nContent-Length: ${length}\r\n${vary}${DS}` +
    `Connection: close\r\n\r\n${body}`;
}

// ---- the app's own 4xx and 5xx ----

Deno.test("errorPages: an empty 404 gets the HTML page; the app's other fields stay, its type is replaced", async () => {
  const { response, reported, logged } = await paged(
    bodiless("404 Not Found", [["Content-Type", "text/plain"], ["X-Why", "nothing"], [
      "Content-Length",
      "0",
    ]]),
    request("/missing"),
  );
  assert.equal(
    normalizeDate(response.raw),
    pageResponse("404 Not Found", "text/html; charset=utf-8", html("404 Not Found"), "X-Why: nothing\r\n"),
  );
  assert.deepEqual(reported, []);
  assert.deepEqual(logged, []);
});

Deno.test("errorPages: JSON when Accept prefers application/json to text/html", async () => {
  const app = bodiless("405 Method Not Allowed", [["Allow", "GET"]]);
  const json = await paged(app, request("/", "application/json"));
  assert.equal(
    normalizeDate(json.response.raw),
    pageResponse(
      "405 Method Not Allowed",
      "application/json",
      '{"status":405,"reason":"Method Not Allowed"}',
      "Allow: GET\r\n",
    ),
  );
  const cases: [string, "json" | "html"][] = [
    ["application/json", "json"],
    ["application/*", "json"],
    ["text/html;q=0.5, application/json", "json"],
    ["Application/JSON ; q=0.9, */*;q=0.1", "json"],
    ["application/json;q=0.5, text/html", "html"],
    ["text/*;q=0.9, application/json;q=0.9", "html"],
    ["*/*", "html"],
    ["application/json;q=0", "html"],
    ["image/png", "html"],
    ["", "html"],
  ];
  for (const [accept, kind] of cases) {
    const { response } = await paged(app, request("/", accept));
    assert.equal(
      response.headers.find(([name]) => name === "Content-Type")?.[1],
      kind === "json" ? "application/json" : "text/html; charset=utf-8",
      `Accept: ${accept}`,
    );
  }
});

Deno.test("errorPages: the page varies by Accept: Vary: Accept is added, or appended to the app's Vary", async () => {
  const cases: [string, string][] = [
    ["Accept-Encoding", "Accept-Encoding, Accept"],
    ["accept", "accept"],
    ["*", "*"],
  ];
  for (const [vary, expected] of cases) {
    const { response } = await paged(
      bodiless("404 Not Found", [["Vary", vary]]),
      request("/", "application/json"),
    );
    assert.equal(
      normalizeDate(response.raw),
      pageResponse(
        "404 Not Found",
        "application/json",
        '{"status":404,"reason":"Not Found"}',
        `Vary: ${expected}\r\n`,
      ),
    );
  }
  // A thrown error's page has only the page's fields, Vary among them.
  const thrown = await paged(() => {
    throw new Error("boom");
  }, request());
  assert.equal(
    normalizeDate(thrown.response.raw),
    pageResponse("500 Internal Server Error", "text/html; charset=utf-8", html("500 Internal Server Error")),
  );
});

Deno.test("errorPages: the app's reason phrase is kept and escaped; a missing one is the standard one", async () => {
  const odd = await paged(bodiless("418 <I'm> a teapot"), request());
  assert.equal(odd.response.body, html("418 &lt;I'm&gt; a teapot"));
  const bare = await paged(bodiless("503"), request("/", "application/json"));
  assert.equal(bare.response.status, 503);
  assert.equal(bare.response.body, '{"status":503,"reason":"Service Unavailable"}');
});

Deno.test("errorPages: custom pages, as text or function; JSON clients keep the JSON", async () => {
  const options: ErrorPagesOptions = {
    pages: {
      404: (info) => `<p>no ${info.environ.PATH_INFO} (${info.status} ${info.reason}, ${info.error})</p>`,
      500: "<p>sorry</p>",
    },
  };
  const custom = await paged(bodiless("404 Not Found"), request("/x"), options);
  assert.equal(custom.response.body, "<p>no /x (404 Not Found, null)</p>");
  const text = await paged(
    () => {
      throw new Error("boom");
    },
    request(),
    options,
  );
  assert.equal(
    normalizeDate(text.response.raw),
    pageResponse("500 Internal Server Error", "text/html; charset=utf-8", "<p>sorry</p>"),
  );
  const json = await paged(bodiless("404 Not Found"), request("/x", "application/json"), options);
  assert.equal(json.response.body, '{"status":404,"reason":"Not Found"}');
});

// ---- what is left alone ----

Deno.test("errorPages: error responses with a body, success responses, and HEAD lengths pass untouched", async () => {
  const withBody: App = function* (_environ, startResponse) {
    startResponse("404 Not Found", TEXT);
    yield "";
    yield "no such thing";
  };
  const one = await paged(withBody, request());
  assert.equal(
    normalizeDate(one.response.raw),
    `HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n${DS}Content-Length: 13\r\nConnection: close\r\n\r\nno such thing`,
  );
  const written = await paged((_environ, startResponse) => {
    startResponse("400 Bad Request", TEXT)("written");
    return [];
  }, request());
  assert.equal(written.response.body, "written");
  const empty200 = await paged(bodiless("200 OK", TEXT), request());
  assert.equal(
    normalizeDate(empty200.response.raw),
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 0\r\nConnection: close\r\n\r\n`,
  );
  const head = await paged(
    bodiless("404 Not Found", [["Content-Type", "text/plain"], ["Content-Length", "13"]]),
    request("/", undefined, "HEAD"),
    {},
    "HEAD",
  );
  assert.equal(
    normalizeDate(head.response.raw),
    `HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n${DS}Connection: close\r\n\r\n`,
  );
  const headPage = await paged(bodiless("404 Not Found"), request("/", undefined, "HEAD"), {}, "HEAD");
  assert.equal(
    normalizeDate(headPage.response.raw),
    pageResponse("404 Not Found", "text/html; charset=utf-8", "").replace(
      "Content-Length: 0",
      `Content-Length: ${html("404 Not Found").length}`,
    ),
    "HEAD gets the page's head, without its body",
  );
});

// ---- errors the app throws ----

Deno.test("errorPages: a thrown error becomes a 500 page without its stack; onError gets it", async () => {
  const error = new Error("secret <details>");
  const app: App = (_environ, startResponse) => {
    startResponse("200 OK", TEXT); // replaced: nothing was sent yet
    throw error;
  };
  const { response, reported, logged } = await paged(app, request());
  assert.equal(
    normalizeDate(response.raw),
    pageResponse("500 Internal Server Error", "text/html; charset=utf-8", html("500 Internal Server Error")),
  );
  assert.deepEqual(reported, [error]);
  assert.deepEqual(logged, [], "the server never saw it");
  const json = await paged(app, request("/", "application/json"));
  assert.equal(json.response.body, '{"status":500,"reason":"Internal Server Error"}');
});

Deno.test("errorPages: with debug, the page shows the stack (escaped), as HTML or JSON", async () => {
  const error = new Error("secret <details>");
  const app: App = () => {
    throw error;
  };
  const { response } = await paged(app, request(), { debug: true });
  const escaped = error.stack!.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
  assert.ok(escaped.startsWith("Error: secret &lt;details&gt;\n    at "));
  assert.equal(response.text, html("500 Internal Server Error", `<pre>${escaped}</pre>\n`));
  const json = await paged(app, request("/", "application/json"), { debug: true });
  assert.deepEqual(JSON.parse(json.response.text), {
    status: 500,
    reason: "Internal Server Error",
    stack: error.stack,
  });
  const statusOnly = await paged(bodiless("404 Not Found"), request(), { debug: true });
  assert.equal(statusOnly.response.body, html("404 Not Found"), "no stack when nothing was thrown");
});

Deno.test("errorPages: an HttpError's status; an app that never called startResponse; an operation that failed", async () => {
  const forbidden = await paged(() => {
    throw new HttpError(403, "not yours");
  }, request());
  assert.equal(forbidden.response.status, 403);
  assert.equal(forbidden.response.body, html("403 Forbidden"));
  const silent = await paged(() => [], request());
  assert.equal(silent.response.status, 500);
  assert.equal(
    String(silent.reported[0]),
    "Error: the app returned without calling startResponse; call startResponse(status, headers) before it ends",
  );
  const timedOut = await paged(async function* (environ: Environ) {
    yield environ.cogen.core.events.WaitForSignal("nobody", { timeout: 1 });
    yield new Await(Promise.reject(new Error("thrown in")));
  }, request("/", "application/json"));
  assert.equal(timedOut.response.body, '{"status":500,"reason":"Internal Server Error"}');
  assert.equal(String(timedOut.reported[0]), "Error: thrown in");
});

Deno.test("errorPages: a failure after the response started goes on to the server, which cuts it", async () => {
  const afterBody: App = function* (_environ, startResponse) {
    startResponse("200 OK", TEXT);
    yield "partial";
    yield "";
    throw new Error("midway");
  };
  const one = await paged(afterBody, request());
  assert.equal(one.response.terminated, false);
  assert.equal(one.response.body, "partial");
  assert.deepEqual(one.reported, []);
  assert.equal(String(one.logged[0].error), "Error: midway");
  // An empty chunk after a success status sent the head: the server rethrows the error (excInfo).
  const afterHead: App = function* (_environ, startResponse) {
    startResponse("200 OK", TEXT);
    yield "";
    throw new Error("after the head");
  };
  const two = await paged(afterHead, request());
  assert.equal(two.response.status, 200);
  assert.equal(two.response.terminated, false);
  assert.deepEqual(two.reported, []);
  assert.equal(String(two.logged[0].error), "Error: after the head");
});

Deno.test("errorPages: startResponse rules still hold: again only with excInfo", async () => {
  const changed = await paged((_environ, startResponse) => {
    startResponse("200 OK", TEXT);
    try {
      throw new Error("no such row");
    } catch (error) {
      startResponse("404 Not Found", TEXT, error);
    }
    return [];
  }, request());
  assert.equal(changed.response.status, 404);
  assert.equal(changed.response.body, html("404 Not Found"));
  const twice = await paged((_environ, startResponse) => {
    startResponse("404 Not Found", TEXT);
    startResponse("410 Gone", TEXT);
    return [];
  }, request());
  assert.equal(twice.response.status, 500);
  assert.equal(
    String(twice.reported[0]),
    "Error: startResponse: called a second time without excInfo; pass the error being handled as the third argument",
  );
});

Deno.test("errorPages: an error status after a success status the server has goes to the server before it sends a head", async () => {
  // The server has the 200; the 500 replaces it there before the "" that makes the server send its head.
  const replaced = (body: string): App =>
    function* (_environ, startResponse) {
      startResponse("200 OK", TEXT);
      try {
        throw new Error("halfway");
      } catch (error) {
        startResponse("500 Internal Server Error", TEXT, error);
      }
      yield "";
      if (body !== "") yield body;
    };
  const withBody = await paged(replaced("oops"), request());
  assert.equal(
    normalizeDate(withBody.response.raw),
    `HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n` +
      "Connection: close\r\n\r\n4\r\noops\r\n0\r\n\r\n",
  );
  // No body: the head went out at the "", so no page can follow; the 500 is sent as the app left it.
  const empty = await paged(replaced(""), request());
  assert.equal(
    normalizeDate(empty.response.raw),
    `HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n` +
      "Connection: close\r\n\r\n0\r\n\r\n",
  );
  assert.deepEqual([...withBody.reported, ...empty.reported], []);
  assert.deepEqual([...withBody.logged, ...empty.logged], []);
});

Deno.test("errorPages: the default onError writes the stack to wsgi.errors", async () => {
  const written: string[] = [];
  const app = errorPages(() => {
    throw new Error("logged");
  });
  const t = startServer((environ, startResponse) => {
    environ["wsgi.errors"] = { ...environ["wsgi.errors"], write: (text: string) => written.push(text) };
    return app(environ, startResponse);
  });
  try {
    assert.equal((await responseTo(t.port, request("/where?q"))).status, 500);
    assert.equal(written.length, 1);
    assert.match(
      written[0],
      /^errorPages: the app failed for GET \/where\?q, answered with an error page: Error: logged\n {4}at .*\n$/s,
    );
  } finally {
    await t.stop();
  }
});

Deno.test("errorPages: options are checked", () => {
  const app = bodiless("404 Not Found");
  assert.throws(
    () => errorPages(app, { pages: { 302: "<p>moved</p>" } }),
    new RangeError('errorPages: pages has a page for "302"; pages are for statuses 400 to 599'),
  );
  assert.throws(
    () => errorPages(app, { pages: { 404: 404 as unknown as string } }),
    new TypeError("errorPages: the page for 404 is 404; give HTML text or a function (info) => string"),
  );
  assert.throws(
    () => errorPages(app, { debug: "yes" as unknown as boolean }),
    new TypeError('errorPages: debug must be a boolean, got "yes"'),
  );
  assert.throws(
    () => errorPages(app, { onError: "stderr" as unknown as () => void }),
    new TypeError('errorPages: onError must be a function (error, environ) => void, got "stderr"'),
  );
});

// ---- streaming ----

Deno.test("errorPages: the first chunk reaches the client while the app waits, for 200 and for 500 with a body", async () => {
  for (const status of ["200 OK", "500 Internal Server Error"]) {
    const probe = { finallyRan: false };
    const t = startServer([["/go", go], ["/", errorPages(helloWaitWorld(probe, status))]]);
    try {
      await assertStreams(t.port, { status });
      assert.ok(probe.finallyRan);
      assert.deepEqual(t.errors, []);
    } finally {
      await t.stop();
    }
  }
});

Deno.test("errorPages: an error status is held while the app waits (its operation runs), then gets its page", async () => {
  const seen: unknown[] = [];
  const app: App = async function* (environ, startResponse) {
    startResponse("404 Not Found", [["X-Looked", "everywhere"]]);
    yield environ.cogen.core.events.WaitForSignal("go", { timeout: 5000 });
    seen.push(environ.cogen.result);
  };
  const t = startServer([["/go", go], ["/", errorPages(app)]]);
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write(request()));
    // The operation's "" went to the server, which did not send the head: it had no status yet.
    assert.equal(await client.readUntil((text) => text.length > 0, 100), false, "nothing before the end");
    assert.equal((await responseTo(t.port, get("/go"))).text, "1", "the app was waiting on its operation");
    const response = await client.response();
    await client.close();
    assert.deepEqual(seen, ["signalled"]);
    assert.equal(
      normalizeDate(response.raw),
      pageResponse(
        "404 Not Found",
        "text/html; charset=utf-8",
        html("404 Not Found"),
        "X-Looked: everywhere\r\n",
      ),
    );
  } finally {
    await t.stop();
  }
});

Deno.test("errorPages: a client that leaves during the wait: return() reaches the app, no page is made", async () => {
  for (const status of ["200 OK", "503 Service Unavailable"]) {
    const probe = { finallyRan: false };
    const reported: unknown[] = [];
    const t = startServer(errorPages(helloWaitWorld(probe, status), { onError: (e) => reported.push(e) }));
    try {
      const client = await Client.connect(t.port);
      assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert.ok(await client.readUntil((text) => text.endsWith("6\r\nHello \r\n")));
      assert.equal(probe.finallyRan, false);
      await client.close();
      await until(() => probe.finallyRan, HANG_MS, "the app's finally after the client left");
      assert.deepEqual(reported, []);
      assert.deepEqual(t.errors, []);
    } finally {
      await t.stop();
    }
  }
});
