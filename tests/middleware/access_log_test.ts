/**
 * `accessLog` over real sockets: the common and combined lines byte for byte,
 * what is counted, what is logged when the app fails or the client leaves,
 * custom formats, option errors; the response still streams, and return()
 * still reaches the app.
 */
import assert from "node:assert/strict";
import { accessLog, type AccessLogEntry, type AccessLogOptions } from "../../middleware/mod.ts";
import { type App, HttpError } from "../../wsgi/mod.ts";
import {
  Client,
  DS,
  exchange,
  get,
  HANG_MS,
  normalizeDate,
  type ParsedResponse,
  responseTo,
  startServer,
  TEXT,
  until,
} from "../http.ts";
import { assertStreams, go, helloWaitWorld } from "./streaming.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const CLF_TIME = /\[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) \+0000\]/;

/** Replaces the line's `[time]` with `[<time>]` after checking it is CLF, in UTC, between `from` and now. */
function normalizeTime(line: string, from: number): string {
  const m = CLF_TIME.exec(line);
  assert.ok(m !== null, `no CLF time in ${JSON.stringify(line)}`);
  const [, day, month, year, hours, minutes, seconds] = m;
  const time = Date.UTC(Number(year), MONTHS.indexOf(month), Number(day), +hours, +minutes, +seconds);
  assert.ok(
    time >= Math.floor(from / 1000) * 1000 && time <= Date.now(),
    `time ${m[0]} is not the request's`,
  );
  return line.replace(CLF_TIME, "[<time>]");
}

/** Serves `app` with an access log into a list, sends `request`, reads until close. */
async function logged(
  app: App,
  request: string,
  options: Omit<AccessLogOptions, "write"> = {},
  method = "GET",
): Promise<{ response: ParsedResponse; lines: string[] }> {
  const lines: string[] = [];
  const t = startServer(accessLog(app, { ...options, write: (line) => lines.push(line) }));
  try {
    const result = await exchange(t.port, request, { methods: [method] });
    assert.ok(result.closed, `the connection hung: ${JSON.stringify(result.text)}`);
    await until(() => lines.length > 0, HANG_MS, "the log line");
    return { response: result.responses[0], lines };
  } finally {
    await t.stop();
  }
}

const hello: App = (_environ, startResponse) => {
  startResponse("200 OK", TEXT);
  return ["hello"];
};

Deno.test("accessLog: a common line by default, byte for byte; the response unchanged", async () => {
  const from = Date.now();
  const { response, lines } = await logged(hello, get("/path?q=1"));
  assert.equal(
    normalizeDate(response.raw),
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${DS}Content-Length: 5\r\nConnection: close\r\n\r\nhello`,
  );
  assert.deepEqual(lines.map((line) => normalizeTime(line, from)), [
    '127.0.0.1 - - [<time>] "GET /path?q=1 HTTP/1.1" 200 5',
  ]);
});

Deno.test("accessLog: a combined line: user, referer and user agent, escaped", async () => {
  const from = Date.now();
  const { lines } = await logged(
    hello,
    'GET /x HTTP/1.0\r\nAuthorization: Basic dXNlcjpwYXNz\r\nReferer: http://a/b\r\nUser-Agent: say "hi" \\ caf\xe9\r\n\r\n',
    { format: "combined" },
  );
  assert.deepEqual(lines.map((line) => normalizeTime(line, from)), [
    '127.0.0.1 - user [<time>] "GET /x HTTP/1.0" 200 5 "http://a/b" "say \\"hi\\" \\\\ caf\\xe9"',
  ]);
  const bare = await logged(hello, get("/"), { format: "combined" });
  assert.match(bare.lines[0], / 200 5 "-" "-"$/);
});

Deno.test("accessLog: body bytes as sent: UTF-8, bytes, write(); '-' for none, HEAD, 204", async () => {
  const mixed: App = (_environ, startResponse) => {
    const write = startResponse("200 OK", TEXT);
    write("é"); // 2 bytes
    return ["abc", new Uint8Array(4), ""];
  };
  assert.match((await logged(mixed, get("/"))).lines[0], /" 200 9$/);
  const head = await logged(mixed, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {}, "HEAD");
  assert.equal(head.response.body, "");
  assert.match(head.lines[0], /"HEAD \/ HTTP\/1\.1" 200 -$/);
  const empty: App = (_environ, startResponse) => {
    startResponse("204 No Content", []);
    return [];
  };
  assert.match((await logged(empty, get("/"))).lines[0], /" 204 -$/);
});

Deno.test("accessLog: the status is the last one given (startResponse again with excInfo)", async () => {
  const app: App = function* (_environ, startResponse) {
    startResponse("200 OK", TEXT);
    startResponse("503 Service Unavailable", TEXT, new Error("overloaded"));
    yield "later";
  };
  const { response, lines } = await logged(app, get("/"));
  assert.equal(response.status, 503);
  assert.match(lines[0], /" 503 5$/);
});

Deno.test("accessLog: an app that fails: 500 before its response started, its own status after", async () => {
  const format = (entry: AccessLogEntry) =>
    `${entry.status} ${entry.bytes} ${entry.outcome} ${String(entry.error)}`;
  const early: App = () => {
    throw new Error("broken");
  };
  const before = await logged(early, get("/"), { format });
  assert.equal(before.response.status, 500);
  assert.deepEqual(before.lines, ["500 0 error Error: broken"]);
  const late: App = async function* (environ, startResponse) {
    startResponse("200 OK", TEXT);
    yield "part";
    yield environ.cogen.core.events.Sleep(1);
    throw new Error("midway");
  };
  const after = await logged(late, get("/"), { format });
  assert.equal(after.response.framing, "chunked");
  assert.equal(after.response.terminated, false, "the server cut the response");
  assert.deepEqual(after.lines, ["200 4 error Error: midway"]);
  const teapot: App = () => {
    throw new HttpError(418, "short and stout");
  };
  assert.deepEqual((await logged(teapot, get("/"), { format })).lines, [
    "418 0 error HttpError: short and stout",
  ]);
  const silent: App = () => [];
  assert.deepEqual((await logged(silent, get("/"), { format })).lines, ["500 0 complete null"]);
});

Deno.test("accessLog: a custom format gets the whole entry", async () => {
  const entries: AccessLogEntry[] = [];
  const slow: App = async function* (environ, startResponse) {
    yield environ.cogen.core.events.Sleep(30);
    startResponse("201 Created", TEXT);
    yield "made";
  };
  const from = Date.now();
  const { lines } = await logged(
    slow,
    "POST /items?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nReferer: r\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    {
      format: (entry) => {
        entries.push(entry);
        return "custom";
      },
    },
  );
  assert.deepEqual(lines, ["custom"]);
  const { time, duration, environ, ...rest } = entries[0];
  assert.ok(time.getTime() >= from && time.getTime() <= Date.now());
  assert.ok(duration >= 25, `the duration covers the app's wait: ${duration}`);
  assert.equal(environ.REQUEST_METHOD, "POST");
  assert.deepEqual(rest, {
    remoteAddr: "127.0.0.1",
    remoteUser: "",
    method: "POST",
    target: "/items?x=1",
    protocol: "HTTP/1.1",
    status: 201,
    bytes: 4,
    referer: "r",
    userAgent: "ua",
    outcome: "complete",
    error: null,
  });
});

Deno.test("accessLog: a write that fails goes to wsgi.errors; the response is whole", async () => {
  const reported: string[] = [];
  const app = accessLog(hello, {
    write: () => {
      throw new Error("disk full");
    },
  });
  const t = startServer((environ, startResponse) => {
    environ["wsgi.errors"] = { ...environ["wsgi.errors"], write: (text: string) => reported.push(text) };
    return app(environ, startResponse);
  });
  try {
    const response = await responseTo(t.port, get("/"));
    assert.equal(response.text, "hello");
    await until(() => reported.length > 0, HANG_MS, "the report");
    assert.match(reported[0], /^accessLog: writing the line for GET \/ failed: Error: disk full\n/);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});

Deno.test("accessLog: options are checked", () => {
  assert.throws(
    () => accessLog(hello, { format: "apache" as "common" }),
    new TypeError(
      'accessLog: format must be "common", "combined" or a function (entry) => string, got "apache"',
    ),
  );
  assert.throws(
    () => accessLog(hello, { write: "stdout" as unknown as () => void }),
    new TypeError("accessLog: write must be a function (line) => void, got string"),
  );
});

Deno.test("accessLog: the default writes to stdout", async () => {
  const mod = new URL("../../middleware/mod.ts", import.meta.url).href;
  const wsgi = new URL("../../wsgi/mod.ts", import.meta.url).href;
  const script = `
    import { accessLog } from ${JSON.stringify(mod)};
    import { serve } from ${JSON.stringify(wsgi)};
    const server = serve(accessLog((_environ, startResponse) => {
      startResponse("200 OK", []);
      return ["12345"];
    }), { hostname: "127.0.0.1", port: 0, onListen: () => {} });
    await (await fetch(\`http://127.0.0.1:\${server.addr.port}/stdout\`)).text();
    await server.shutdown(100);
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  assert.match(
    new TextDecoder().decode(output.stdout),
    /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/stdout HTTP\/1\.1" 200 5\n$/,
  );
});

// ---- streaming ----

Deno.test("accessLog: the first chunk reaches the client while the app waits; the line comes after the last byte", async () => {
  const probe = { finallyRan: false };
  const lines: string[] = [];
  const finallyAtLine: boolean[] = [];
  const app = accessLog(helloWaitWorld(probe), {
    write: (line) => {
      finallyAtLine.push(probe.finallyRan);
      lines.push(line);
    },
  });
  const t = startServer([["/go", go], ["/", app]]);
  try {
    await assertStreams(t.port, {
      whileWaiting: () => assert.deepEqual(lines, [], "no line while the response goes on"),
    });
    await until(() => lines.length > 0, HANG_MS, "the log line");
    assert.match(lines[0], /"GET \/ HTTP\/1\.1" 200 31$/);
    assert.deepEqual(finallyAtLine, [true], "written once the app's iterator had ended");
  } finally {
    await t.stop();
  }
});

Deno.test("accessLog: a client that leaves during the wait: return() reaches the app, then the line says so", async () => {
  const probe = { finallyRan: false };
  const entries: AccessLogEntry[] = [];
  const app = accessLog(helloWaitWorld(probe), {
    format: (entry) => {
      entries.push(entry);
      return `${entry.status} ${entry.bytes} ${entry.outcome}`;
    },
    write: () => {},
  });
  const t = startServer(app);
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.endsWith("6\r\nHello \r\n")));
    assert.equal(probe.finallyRan, false);
    await client.close();
    await until(() => entries.length > 0, HANG_MS, "the line after the client left");
    assert.ok(probe.finallyRan);
    assert.deepEqual([entries[0].status, entries[0].bytes, entries[0].outcome], [200, 6, "gone"]);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});
