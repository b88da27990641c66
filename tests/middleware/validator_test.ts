/**
 * `validator` over real sockets: the server's environ and iteration pass;
 * every rule of the environ, of startResponse and of the app's output fails
 * with its exact message; operations and "" pass through unchanged; the
 * response still streams, and return() still reaches the app.
 */
import assert from "node:assert/strict";
import { Await, Sleep } from "../../core/mod.ts";
import { PathInfoDispatcher, relay, ValidationError, validator } from "../../middleware/mod.ts";
import { type App, type Environ, serve, type StartResponse } from "../../wsgi/mod.ts";
import {
  Client,
  DS,
  exchange,
  get,
  HANG_MS,
  type Logged,
  normalizeDate,
  type ParsedResponse,
  startServer,
  TEXT,
  until,
} from "../http.ts";
import { assertStreams, go, helloWaitWorld } from "./streaming.ts";

const ok: App = (_environ, startResponse) => {
  startResponse("200 OK", TEXT);
  return ["ok"];
};

/** Serves `app`, sends `request` (a GET that closes by default), reads until the server closes. */
async function run(app: App, request = get("/")): Promise<{ response: ParsedResponse; errors: Logged[] }> {
  const t = startServer(app);
  try {
    const result = await exchange(t.port, request);
    assert.ok(result.closed, `the connection hung: ${JSON.stringify(result.text)}`);
    assert.equal(result.responses.length, 1, `one response expected: ${JSON.stringify(result.text)}`);
    return { response: result.responses[0], errors: t.errors };
  } finally {
    await t.stop();
  }
}

/** Asserts the request failed with exactly one ValidationError, `message`, and a 500. */
async function assertRefused(app: App, message: string, request?: string): Promise<void> {
  const { response, errors } = await run(app, request);
  assert.equal(errors.length, 1, `one error expected, got ${errors.map((e) => String(e.error)).join(" / ")}`);
  const error = errors[0].error;
  assert.ok(error instanceof ValidationError, `a ValidationError expected, got ${String(error)}`);
  assert.equal(error.message, message);
  assert.equal(response.status, 500);
}

/** The validator behind a broken "server": `corrupt` changes the environ first. */
function corrupted(corrupt: (environ: Record<string, unknown>) => void): App {
  const validated = validator(ok);
  return (environ, startResponse) => {
    corrupt(environ);
    return validated(environ, startResponse);
  };
}

// ---- what passes ----

Deno.test("validator: a valid app passes unchanged, byte for byte", async () => {
  const { response, errors } = await run(validator(ok));
  assert.deepEqual(errors, []);
  assert.equal(
    normalizeDate(response.raw),
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 2\r\nConnection: close\r\n\r\nok`,
  );
});

Deno.test("validator: the server's environ passes for GET, HEAD, POST, OPTIONS *, HTTP/1.0, a mounted app, a Unix socket", async () => {
  const requests = [
    get("/a?b=c"),
    "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "GET http://x/abs HTTP/1.0\r\n\r\n",
    get("/api"),
    get("/api/x"),
  ];
  const t = startServer(PathInfoDispatcher([["/api", validator(ok)], ["/", validator(ok)]]));
  try {
    for (const request of requests) {
      const result = await exchange(t.port, request, { methods: [request.split(" ")[0]] });
      assert.equal(
        result.responses[0]?.status,
        200,
        `${JSON.stringify(request)}: ${JSON.stringify(result.text)}`,
      );
    }
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
  const dir = await Deno.makeTempDir();
  const errors: unknown[] = [];
  const server = serve(validator(ok), { path: `${dir}/v.sock`, onError: (error) => errors.push(error) });
  try {
    const result = await exchange({ path: `${dir}/v.sock` }, get());
    assert.equal(result.responses[0].body, "ok");
    assert.deepEqual(errors, []);
  } finally {
    await server.shutdown(500);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validator: a second startResponse with excInfo, write(), sync and async apps, arrays pass", async () => {
  const apps: [App, string][] = [
    [function* (_environ, startResponse) {
      startResponse("200 OK", TEXT);
      try {
        throw new Error("changed my mind");
      } catch (error) {
        startResponse("500 Internal Server Error", TEXT, error);
      }
      yield "changed";
    }, "changed"],
    [(_environ, startResponse) => {
      const write = startResponse("200 OK", TEXT);
      write("written ");
      write("");
      return [new TextEncoder().encode("bytes")];
    }, "written bytes"],
    [function* (_environ, startResponse) {
      startResponse("204 No Content", []);
      yield "";
    }, ""],
  ];
  for (const [app, body] of apps) {
    const { response, errors } = await run(validator(app));
    assert.deepEqual(errors, []);
    assert.equal(response.body, body);
  }
});

// ---- the environ ----

Deno.test("validator: each environ rule, with its message", async () => {
  const cases: [(environ: Record<string, unknown>) => void, string][] = [
    [(e) => delete e.REQUEST_METHOD, "the environ has no REQUEST_METHOD; the server must set it (PEP 3333)"],
    [(e) => delete e.PATH_INFO, "the environ has no PATH_INFO; the server must set it (PEP 3333)"],
    [(e) => delete e["wsgi.input"], "the environ has no wsgi.input; the server must set it (PEP 3333)"],
    [(e) => delete e["wsgi.run_once"], "the environ has no wsgi.run_once; the server must set it (PEP 3333)"],
    [
      (e) => e.SERVER_PORT = 8000,
      'environ.SERVER_PORT is 8000 (number); it must be a string of digits such as "8000" ("" over a Unix socket)',
    ],
    [
      (e) => e.SERVER_PORT = "http",
      'environ.SERVER_PORT is "http" (string); it must be a string of digits such as "8000" ("" over a Unix socket)',
    ],
    [
      (e) => e.QUERY_STRING = null,
      "environ.QUERY_STRING is null (object); CGI variables and HTTP_* keys must be strings",
    ],
    [
      (e) => e.HTTP_X_COUNT = 3,
      "environ.HTTP_X_COUNT is 3 (number); CGI variables and HTTP_* keys must be strings",
    ],
    [
      (e) => e.HTTP_CONTENT_TYPE = "text/plain",
      "the environ has HTTP_CONTENT_TYPE; that header goes in CONTENT_TYPE (PEP 3333), not in an HTTP_ key",
    ],
    [
      (e) => e.HTTP_CONTENT_LENGTH = "0",
      "the environ has HTTP_CONTENT_LENGTH; that header goes in CONTENT_LENGTH (PEP 3333), not in an HTTP_ key",
    ],
    [
      (e) => e.REQUEST_METHOD = "GET /",
      'environ.REQUEST_METHOD "GET /" is not a method token (RFC 9110 §9.1)',
    ],
    [
      (e) => e.SCRIPT_NAME = "/",
      'environ.SCRIPT_NAME "/" must be "" or start with "/" and not end with "/" (the "/" belongs to PATH_INFO)',
    ],
    [
      (e) => e.SCRIPT_NAME = "api",
      'environ.SCRIPT_NAME "api" must be "" or start with "/" and not end with "/" (the "/" belongs to PATH_INFO)',
    ],
    [
      (e) => e.PATH_INFO = "x",
      'environ.PATH_INFO "x" must be "" or start with "/" ("*" only for OPTIONS *)',
    ],
    [
      (e) => e.PATH_INFO = "*",
      'environ.PATH_INFO "*" must be "" or start with "/" ("*" only for OPTIONS *)',
    ],
    [
      (e) => e.PATH_INFO = "",
      'environ.SCRIPT_NAME and PATH_INFO are both empty; at the root, PATH_INFO is "/"',
    ],
    [(e) => e.SERVER_NAME = "", "environ.SERVER_NAME is empty; it names the host the server listens on"],
    [
      (e) => e.SERVER_PROTOCOL = "HTTP/2",
      'environ.SERVER_PROTOCOL "HTTP/2" must look like "HTTP/1.1"',
    ],
    [(e) => e.CONTENT_LENGTH = "-1", 'environ.CONTENT_LENGTH "-1" must be "" or digits'],
    [(e) => e["wsgi.version"] = [1, 1], 'environ["wsgi.version"] is an array of 2; it must be [1, 0]'],
    [
      (e) => e["wsgi.url_scheme"] = "ftp",
      'environ["wsgi.url_scheme"] is "ftp"; it must be "http" or "https"',
    ],
    [
      (e) => e["wsgi.input"] = { read() {} },
      'environ["wsgi.input"] (an object) has no readline() method; it must offer read, readline, readlines, async iteration',
    ],
    [
      (e) => e["wsgi.errors"] = { write() {}, writelines() {} },
      'environ["wsgi.errors"] (an object) has no flush() method; it must offer write, writelines, flush',
    ],
    [
      (e) => e["wsgi.multithread"] = "no",
      'environ["wsgi.multithread"] is "no"; it must be a boolean',
    ],
  ];
  for (const [corrupt, message] of cases) {
    await assertRefused(corrupted(corrupt), `validator: ${message}`);
  }
  const validated = validator(ok);
  await assertRefused(
    (_environ, startResponse) => validated(null as unknown as Environ, startResponse),
    "validator: the environ is null; the server must pass an object",
  );
});

Deno.test("validator: the app must be a function", () => {
  assert.throws(
    () => validator("app" as unknown as App),
    new TypeError('validator: app must be a function (environ, startResponse), got "app"'),
  );
});

// ---- startResponse ----

/** An app that calls startResponse with these arguments, then answers "x". */
function starting(status: unknown, headers: unknown): App {
  return (_environ, startResponse) => {
    startResponse(status as string, headers as [string, string][]);
    return ["x"];
  };
}

Deno.test("validator: each status rule, with its message", async () => {
  const cases: [unknown, string][] = [
    [200, 'the status is 200; it must be a string such as "200 OK"'],
    ["OK 200", 'status "OK 200" must start with a three-digit code from 100 to 599 (RFC 9110 §15)'],
    ["099 Low", 'status "099 Low" must start with a three-digit code from 100 to 599 (RFC 9110 §15)'],
    ["600 High", 'status "600 High" must start with a three-digit code from 100 to 599 (RFC 9110 §15)'],
    ["200", 'status "200" needs a space and a reason phrase after the code, such as "404 Not Found"'],
    ["2000 OK", 'status "2000 OK" needs a space and a reason phrase after the code, such as "404 Not Found"'],
    [
      "200 O\r\nK",
      'status "200 O\\r\\nK" has a control character or a code point above U+00FF in its reason phrase; use printable Latin-1 text',
    ],
    [
      "103 Early Hints",
      'status "103 Early Hints" is interim (1xx); an app answers with a final status, 200 to 599 (the server sends 100 Continue itself)',
    ],
  ];
  for (const [status, message] of cases) {
    await assertRefused(validator(starting(status, TEXT)), `validator: ${message}`);
  }
});

Deno.test("validator: each header rule, with its message", async () => {
  const cases: [unknown, string][] = [
    [
      { "Content-Type": "text/plain" },
      "the headers are an object; pass an array of [name, value] pairs of strings",
    ],
    [[["Content-Type"]], "header 0 is an array of 1; each header is a [name, value] pair of strings"],
    [[TEXT[0], ["X-Count", 3]], "header 1 is an array of 2; each header is a [name, value] pair of strings"],
    [
      [["Bad Name", "x"]],
      'header name "Bad Name" is not a token (RFC 9110 §5.1); use letters, digits and !#$%&\'*+-.^_`|~',
    ],
    [[["", "x"]], 'header name "" is not a token (RFC 9110 §5.1); use letters, digits and !#$%&\'*+-.^_`|~'],
    [
      [["X-Split", "a\r\nSet-Cookie: b"]],
      'header X-Split has a control character (CR, LF, NUL…) in its value "a\\r\\nSet-Cookie: b"; remove it (RFC 9110 §5.5)',
    ],
    [
      [["X-Nul", "a\0"]],
      'header X-Nul has a control character (CR, LF, NUL…) in its value "a\\u0000"; remove it (RFC 9110 §5.5)',
    ],
    [
      [["X-Price", "5 €"]],
      'header X-Price has a code point above U+00FF in its value "5 €"; field values are bytes: percent-encode it (or use RFC 8187)',
    ],
    [
      [["Status", "404 Not Found"]],
      "header Status is CGI's, not HTTP's; give the status as startResponse's first argument",
    ],
  ];
  for (const [headers, message] of cases) {
    await assertRefused(validator(starting("200 OK", headers)), `validator: ${message}`);
  }
  for (
    const name of [
      "Connection",
      "keep-alive",
      "Proxy-Authenticate",
      "Proxy-Authorization",
      "TE",
      "Trailer",
      "Trailers",
      "Transfer-Encoding",
      "Upgrade",
    ]
  ) {
    await assertRefused(
      validator(starting("200 OK", [[name, "x"]])),
      `validator: header ${name} is hop-by-hop (RFC 9110 §7.6.1); the server manages the connection and the framing, an app must not set it (PEP 3333)`,
    );
  }
  // Latin-1 and tabs are field-value characters.
  const { response, errors } = await run(validator(starting("200 OK", [["X-Name", "caf\xe9\tok"]])));
  assert.deepEqual(errors, []);
  assert.equal(response.headers.find(([name]) => name === "X-Name")?.[1], "caf\xe9\tok");
});

Deno.test("validator: startResponse twice without excInfo, and after the app ended", async () => {
  await assertRefused(
    validator((_environ, startResponse) => {
      startResponse("200 OK", TEXT);
      startResponse("404 Not Found", TEXT);
      return ["x"];
    }),
    "validator: startResponse was called a second time without excInfo; pass the error being handled as the third argument",
  );
  let late: unknown = null;
  let kept: StartResponse | null = null;
  const { response } = await run(validator((_environ, startResponse) => {
    kept = startResponse;
    startResponse("200 OK", TEXT);
    return ["x"];
  }));
  assert.equal(response.body, "x");
  try {
    (kept as StartResponse | null)!("500 Oops", TEXT, new Error("late"));
  } catch (error) {
    late = error;
  }
  assert.ok(late instanceof ValidationError);
  assert.equal(
    late.message,
    "validator: startResponse was called after the app's iterator ended; call it while the app runs",
  );
});

// ---- the app's output ----

Deno.test("validator: each rule of the app's output, with its message", async () => {
  const cases: [App, string][] = [
    [function* () {
      yield "early";
    }, "the app sent body data before calling startResponse; call startResponse(status, headers) first"],
    [(_environ, startResponse) => {
      startResponse("200 OK", TEXT)(42 as unknown as string);
      return [];
    }, "write() was given 42; write a string or a Uint8Array"],
    [
      () => "text" as unknown as string[],
      "the app returned a string; return an iterable of chunks, such as [chunk], or yield it",
    ],
    [
      () => new Uint8Array(2) as unknown as string[],
      "the app returned a Uint8Array; return an iterable of chunks, such as [chunk], or yield it",
    ],
    [
      () => null as unknown as string[],
      "the app returned null; return an iterable of chunks (or be a generator function)",
    ],
    [
      () => Promise.resolve(7 as unknown as string[]),
      "the app returned 7; return an iterable of chunks (or be a generator function)",
    ],
    [
      function* (_environ, startResponse) {
        startResponse("200 OK", TEXT);
        yield 42 as unknown as string;
      },
      'the app yielded 42; yield strings or Uint8Arrays, "" after recording an operation on environ.cogen, or an Operation or promise',
    ],
    [
      function* (_environ, startResponse) {
        startResponse("200 OK", TEXT);
        yield [1, 2] as unknown as string;
      },
      'the app yielded an array of 2; yield strings or Uint8Arrays, "" after recording an operation on environ.cogen, or an Operation or promise',
    ],
    [
      function* (_environ, startResponse) {
        startResponse("200 OK", TEXT);
        yield (function* inner() {}) as unknown as string; // meant yield* inner()
      },
      'the app yielded function inner; yield strings or Uint8Arrays, "" after recording an operation on environ.cogen, or an Operation or promise',
    ],
    [
      function* (_environ, startResponse) {
        startResponse("200 OK", TEXT);
        yield new Error("not a chunk") as unknown as string;
      },
      'the app yielded an Error; yield strings or Uint8Arrays, "" after recording an operation on environ.cogen, or an Operation or promise',
    ],
    [function* () {
      yield "";
    }, "the app ended without calling startResponse; call startResponse(status, headers)"],
    [
      function* (environ, startResponse) {
        startResponse("200 OK", TEXT);
        environ.cogen.core.events.Sleep(1);
        yield "forgot the empty chunk";
      },
      'the app recorded Sleep(1) on environ.cogen, then yielded body data; yield the "" the helper returned first',
    ],
    [
      (environ, startResponse) => {
        startResponse("200 OK", TEXT);
        environ.cogen.core.events.Sleep(1);
        return [];
      },
      'the app ended with Sleep(1) recorded on environ.cogen and never yielded; yield the "" the helper returned',
    ],
    [function* (_environ, startResponse) {
      startResponse("204 No Content", []);
      yield "body";
    }, "the app sent 4 body characters in a 204 response, which has no body (RFC 9110 §15); send none"],
    [(_environ, startResponse) => {
      startResponse("304 Not Modified", [])(new Uint8Array(3));
      return [];
    }, "the app sent 3 body bytes in a 304 response, which has no body (RFC 9110 §15); send none"],
  ];
  for (const [app, message] of cases) await assertRefused(validator(app), `validator: ${message}`);
});

Deno.test("validator: a rule broken after the head went out cuts the response, and says why", async () => {
  const t = startServer(validator(function* (environ, startResponse) {
    startResponse("200 OK", TEXT);
    yield "first";
    yield environ.cogen.core.events.Sleep(1);
    yield 42 as unknown as string;
  }));
  try {
    const result = await exchange(t.port, get("/"));
    assert.ok(result.closed);
    assert.equal(
      normalizeDate(result.text),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nfirst\r\n`,
    );
    assert.equal(t.errors.length, 1);
    assert.ok(t.errors[0].error instanceof ValidationError);
  } finally {
    await t.stop();
  }
});

// ---- the server's side of the iteration ----

/** A real environ, taken from a request the server served. */
async function realEnviron(): Promise<Environ> {
  let taken: Environ | null = null;
  await run((environ, startResponse) => {
    taken = environ;
    startResponse("200 OK", TEXT);
    return [];
  });
  assert.ok(taken !== null);
  return taken;
}

const noWrite: StartResponse = () => () => {};

Deno.test("validator: a server that steps again before the last step settled, or after return()", async () => {
  const environ = await realEnviron();
  const app = validator(async function* (_environ, startResponse) {
    startResponse("200 OK", TEXT);
    await new Promise((resolve) => setTimeout(resolve, 5));
    yield "a";
    yield "b";
  });
  const iterator = (await app(environ, noWrite)) as AsyncIterableIterator<unknown>;
  const first = iterator.next();
  await assert.rejects(
    iterator.next(),
    new ValidationError(
      "the server called next() on the iterator for GET / before the previous step settled; await each step",
    ),
  );
  assert.deepEqual(await first, { value: "a", done: false });
  assert.deepEqual(await iterator.return!(), { value: undefined, done: true });
  await assert.rejects(
    iterator.next(),
    new ValidationError("the server called next() on the iterator for GET / after return()"),
  );
});

Deno.test("validator: an iterator dropped without being finished or returned is reported when collected", async () => {
  const mod = new URL("../../middleware/mod.ts", import.meta.url).href;
  const wsgi = new URL("../../wsgi/mod.ts", import.meta.url).href;
  const script = `
    import { validator } from ${JSON.stringify(mod)};
    import { Input } from ${JSON.stringify(wsgi)};
    const lines = [];
    const environ = {
      REQUEST_METHOD: "GET", SCRIPT_NAME: "", QUERY_STRING: "", SERVER_NAME: "localhost",
      SERVER_PORT: "80", SERVER_PROTOCOL: "HTTP/1.1", "wsgi.version": [1, 0], "wsgi.url_scheme": "http",
      "wsgi.input": Input.fromBytes(new Uint8Array(0)),
      "wsgi.errors": { write: (text) => lines.push(text), writelines() {}, flush() {} },
      "wsgi.multithread": false, "wsgi.multiprocess": false, "wsgi.run_once": false,
    };
    const app = validator(function* (_environ, startResponse) {
      startResponse("200 OK", []);
      yield "a";
      yield "b";
    });
    const startResponse = () => () => {};
    async function drive(path, steps) {
      const iterator = await app({ ...environ, PATH_INFO: path }, startResponse);
      for (let i = 0; i < steps; i++) await iterator.next();
      if (path === "/returned") await iterator.return();
    }
    await drive("/dropped", 1);
    await drive("/finished", 3);
    await drive("/returned", 1);
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    console.log(JSON.stringify(lines));
  `;
  const path = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await Deno.writeTextFile(path, script);
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), [
      "validator: the response iterator for GET /dropped was garbage-collected without being finished or closed; the server must iterate it to the end or call its return()\n",
    ]);
  } finally {
    await Deno.remove(path);
  }
});

// ---- pass-through and streaming ----

Deno.test("validator: operations and empty chunks reach the server unchanged, and their results reach the app", async () => {
  const sleep = new Sleep(1);
  const passed: unknown[] = [];
  const seen: unknown[] = [];
  const app: App = async function* (environ, startResponse) {
    startResponse("200 OK", TEXT);
    seen.push(yield sleep);
    yield environ.cogen.core.events.Sleep(1);
    seen.push(environ.cogen.exception);
    seen.push(yield new Await(Promise.resolve("awaited")));
    yield environ.cogen.core.events.WaitForSignal("nobody", { timeout: 1 });
    seen.push(environ.cogen.exception?.constructor.name);
    try {
      yield new Await(Promise.reject(new Error("thrown in")));
    } catch (error) {
      seen.push((error as Error).message);
    }
    yield "done";
  };
  // Records what reaches the server.
  const validated = validator(app);
  const recorder: App = (environ, startResponse) =>
    relay(validated(environ, startResponse), (item) => {
      passed.push(item);
      return item;
    });
  const { response, errors } = await run(recorder);
  assert.deepEqual(errors, []);
  assert.equal(response.body, "done");
  assert.equal(passed[0], sleep, "the same operation object");
  assert.equal(passed[1], "");
  assert.deepEqual(seen, [undefined, null, "awaited", "OperationTimeout", "thrown in"]);
});

Deno.test("validator: the first chunk reaches the client while the app waits; the wait's value reaches the app", async () => {
  const probe = { finallyRan: false };
  const t = startServer([["/go", go], ["/", validator(helloWaitWorld(probe))]]);
  try {
    await assertStreams(t.port);
    assert.ok(probe.finallyRan);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});

Deno.test("validator: a client that leaves during the wait: return() reaches the app (its finally runs)", async () => {
  const probe = { finallyRan: false };
  const t = startServer(validator(helloWaitWorld(probe)));
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.endsWith("6\r\nHello \r\n")));
    assert.equal(probe.finallyRan, false);
    await client.close();
    await until(() => probe.finallyRan, HANG_MS, "the app's finally after the client left");
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});
