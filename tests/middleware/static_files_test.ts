/**
 * `staticFiles` over real sockets: exact responses for files, HEAD,
 * validators, conditional requests and ranges; every way out of root
 * refused with 404 without the file system being asked; directories, dot
 * files, fallthrough; and no file handle left open on any path, a client
 * leaving mid-file included.
 */
import assert from "node:assert/strict";
import { PathInfoDispatcher, staticFiles, type StaticFilesOptions } from "../../middleware/mod.ts";
import { type App, ClientGone } from "../../wsgi/mod.ts";
import {
  Client,
  exchange,
  normalizeDate,
  type ParsedResponse,
  responseTo,
  startServer,
  until,
} from "../http.ts";

const MTIME = new Date("2024-01-02T03:04:05.678Z");
const LAST_MODIFIED = "Tue, 02 Jan 2024 03:04:05 GMT";
const HELLO = "Hello, World!\n"; // 14 bytes
/** The ETag of a file of `size` bytes modified at MTIME. */
const etagOf = (size: number) => `"${MTIME.getTime().toString(16)}-${size.toString(16)}"`;
const HELLO_ETAG = etagOf(14);

/** The fixture: a root folder with files, directories, links in and out, and a folder outside it. */
interface Fixture {
  root: string;
  outside: string;
}

async function makeFixture(): Promise<Fixture> {
  const root = await Deno.makeTempDir({ prefix: "static_root_" });
  const outside = await Deno.makeTempDir({ prefix: "static_outside_" });
  const files: Record<string, string | Uint8Array> = {
    "hello.txt": HELLO,
    "index.html": "<h1>home</h1>",
    "sub/index.html": "<p>sub</p>",
    "empty/keep.txt": "not an index",
    "zero.txt": "",
    "data.bin": Uint8Array.from({ length: 100 }, (_, i) => i),
    "style.css": "a{}",
    "app.mjs": "export {};",
    "data.json": "{}",
    "logo.png": "png",
    "README": "no extension",
    "archive.unknownext": "?",
    "café.txt": "café",
    ".env": "SECRET=1",
    ".well-known/thing.txt": "known",
  };
  for (const [name, content] of Object.entries(files)) {
    const path = `${root}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
    await Deno.utime(path, MTIME, MTIME);
  }
  await Deno.writeTextFile(`${outside}/secret.txt`, "TOP SECRET");
  await Deno.symlink(`${outside}/secret.txt`, `${root}/out.txt`);
  await Deno.symlink(outside, `${root}/outdir`);
  await Deno.mkdir(`${root}/linked`);
  await Deno.symlink(`${outside}/secret.txt`, `${root}/linked/index.html`);
  await Deno.symlink(`${root}/hello.txt`, `${root}/in.txt`);
  return { root, outside };
}

async function removeFixture(fixture: Fixture): Promise<void> {
  await Deno.remove(fixture.root, { recursive: true });
  await Deno.remove(fixture.outside, { recursive: true });
}

/** Runs `fn` with a fixture and a server for `staticFiles(root, options)` (or `app(root)`). */
async function withStatic(
  options: StaticFilesOptions | ((root: string) => App),
  fn: (port: number, fixture: Fixture) => Promise<void>,
  tolerated: (error: unknown) => boolean = () => false,
): Promise<void> {
  const fixture = await makeFixture();
  const app = typeof options === "function" ? options(fixture.root) : staticFiles(fixture.root, options);
  const t = startServer(app);
  try {
    await fn(t.port, fixture);
    assert.deepEqual(t.errors.filter(({ error }) => !tolerated(error)), [], "the server logged no error");
  } finally {
    await t.stop();
    await removeFixture(fixture);
  }
}

/** One request (closing the connection), with extra header lines. */
function request(target: string, headers: string[] = [], method = "GET"): string {
  return `${method} ${target} HTTP/1.1\r\nHost: x\r\n${
    headers.map((h) => `${h}\r\n`).join("")
  }Connection: close\r\n\r\n`;
}

async function fetchRaw(
  port: number,
  target: string,
  headers: string[] = [],
  method = "GET",
): Promise<string> {
  return normalizeDate((await responseTo(port, request(target, headers, method), { method })).raw);
}

async function fetchOne(
  port: number,
  target: string,
  headers: string[] = [],
  method = "GET",
): Promise<ParsedResponse> {
  return await responseTo(port, request(target, headers, method), { method });
}

/** The exact response to expect, with `<date>` for Date. */
function expected(status: string, headers: [string, string][], body = ""): string {
  return `HTTP/1.1 ${status}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}` +
    `Date: <date>\r\nServer: cogen-deno/0.1.0\r\nConnection: close\r\n\r\n${body}`;
}

const helloHeaders = (length = 14, maxAge = 0): [string, string][] => [
  ["Content-Type", "text/plain; charset=utf-8"],
  ["Content-Length", String(length)],
  ["ETag", HELLO_ETAG],
  ["Last-Modified", LAST_MODIFIED],
  ["Cache-Control", `public, max-age=${maxAge}`],
  ["Accept-Ranges", "bytes"],
];

function plain(status: string, extra: [string, string][] = []): string {
  const text = `${status}\n`;
  return expected(
    status,
    [["Content-Type", "text/plain; charset=utf-8"], ["Content-Length", String(text.length)], ...extra],
    text,
  );
}

const NOT_FOUND = plain("404 Not Found");

/** Records the file-system calls staticFiles makes (path by path) while `fn` runs. */
async function spyFs(fn: () => Promise<void>): Promise<string[]> {
  const calls: string[] = [];
  const deno = Deno as unknown as Record<string, unknown>;
  const names = ["open", "stat", "lstat", "realPath", "readLink", "readFile", "openSync", "statSync"];
  const saved = names.map((name) => deno[name]);
  names.forEach((name, i) => {
    const real = saved[i] as (...args: unknown[]) => unknown;
    deno[name] = (...args: unknown[]) => {
      calls.push(`${name} ${String(args[0])}`);
      return real(...args);
    };
  });
  try {
    await fn();
  } finally {
    names.forEach((name, i) => deno[name] = saved[i]);
  }
  return calls;
}

/** How many file descriptors this process holds. */
function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

// ---- files ----

Deno.test("staticFiles: GET sends the file with its type, length, validators and caching headers", async () => {
  await withStatic({}, async (port) => {
    assert.equal(await fetchRaw(port, "/hello.txt"), expected("200 OK", helloHeaders(), HELLO));
  });
  await withStatic({ maxAge: 3600 }, async (port) => {
    assert.equal(await fetchRaw(port, "/hello.txt"), expected("200 OK", helloHeaders(14, 3600), HELLO));
  });
});

Deno.test("staticFiles: HEAD sends GET's headers without a body, and never opens the file", async () => {
  await withStatic({}, async (port, { root }) => {
    let raw = "";
    const calls = await spyFs(async () => {
      raw = await fetchRaw(port, "/hello.txt", [], "HEAD");
    });
    assert.equal(raw, expected("200 OK", helloHeaders()));
    assert.deepEqual(calls.filter((c) => c.startsWith("open")), [], "HEAD opened nothing");
    // The spy sees GET's open: the check above can fail.
    const getCalls = await spyFs(async () => {
      await fetchRaw(port, "/hello.txt");
    });
    assert.deepEqual(getCalls.filter((c) => c.startsWith("open")), [
      `open ${await Deno.realPath(root)}/hello.txt`,
    ]);
  });
});

Deno.test("staticFiles: content types by extension; unknown or none is application/octet-stream", async () => {
  await withStatic({}, async (port) => {
    const cases: [string, string][] = [
      ["/style.css", "text/css; charset=utf-8"],
      ["/app.mjs", "text/javascript; charset=utf-8"],
      ["/data.json", "application/json"],
      ["/logo.png", "image/png"],
      ["/index.html", "text/html; charset=utf-8"],
      ["/README", "application/octet-stream"],
      ["/archive.unknownext", "application/octet-stream"],
      ["/data.bin", "application/octet-stream"],
    ];
    for (const [path, type] of cases) {
      const response = await fetchOne(port, path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.find(([n]) => n === "Content-Type")?.[1], type, path);
    }
    const binary = await fetchOne(port, "/data.bin");
    assert.deepEqual([...binary.body].map((c) => c.charCodeAt(0)), Array.from({ length: 100 }, (_, i) => i));
  });
});

Deno.test("staticFiles: a percent-encoded UTF-8 name is served; an empty file has Content-Length 0", async () => {
  await withStatic({}, async (port) => {
    const cafe = await fetchOne(port, "/caf%C3%A9.txt");
    assert.equal(cafe.status, 200);
    assert.equal(cafe.text, "café");
    const zero = await fetchRaw(port, "/zero.txt");
    assert.equal(
      zero,
      expected("200 OK", [
        ["Content-Type", "text/plain; charset=utf-8"],
        ["Content-Length", "0"],
        ["ETag", etagOf(0)],
        ["Last-Modified", LAST_MODIFIED],
        ["Cache-Control", "public, max-age=0"],
        ["Accept-Ranges", "bytes"],
      ]),
    );
  });
});

// ---- conditional requests ----

Deno.test("staticFiles: If-None-Match and If-Modified-Since give 304; If-None-Match takes precedence", async () => {
  await withStatic({}, async (port) => {
    const notModified = expected("304 Not Modified", [
      ["ETag", HELLO_ETAG],
      ["Last-Modified", LAST_MODIFIED],
      ["Cache-Control", "public, max-age=0"],
    ]);
    const ok = expected("200 OK", helloHeaders(), HELLO);
    const cases: [string[], string][] = [
      [[`If-None-Match: ${HELLO_ETAG}`], notModified],
      [[`If-None-Match: "other", W/${HELLO_ETAG}`], notModified], // weak comparison
      [["If-None-Match: *"], notModified],
      [['If-None-Match: "other"'], ok],
      // If-None-Match present: If-Modified-Since is not looked at (RFC 9110 §13.2.2).
      [['If-None-Match: "other"', `If-Modified-Since: ${LAST_MODIFIED}`], ok],
      [[`If-Modified-Since: ${LAST_MODIFIED}`], notModified],
      [["If-Modified-Since: Wed, 01 Jan 2025 00:00:00 GMT"], notModified],
      [["If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT"], ok],
      [["If-Modified-Since: not a date"], ok],
      // The other two forms of an HTTP-date (RFC 9110 §5.6.7); asctime is GMT too.
      [["If-Modified-Since: Wednesday, 01-Jan-25 00:00:00 GMT"], notModified],
      [["If-Modified-Since: Tue Jan  2 03:04:05 2024"], notModified],
      [["If-Modified-Since: Mon Jan  1 00:00:00 2024"], ok],
      // Dates Date.parse takes but HTTP does not: ignored (RFC 9110 §13.1.3).
      [["If-Modified-Since: 2025"], ok],
      [["If-Modified-Since: 2025-01-01T00:00:00Z"], ok],
      [["If-Modified-Since: wed, 01 jan 2025 00:00:00 gmt"], ok],
    ];
    for (const [headers, want] of cases) {
      assert.equal(await fetchRaw(port, "/hello.txt", headers), want, headers.join(" | "));
    }
    // HEAD is conditional too.
    assert.equal(await fetchRaw(port, "/hello.txt", [`If-None-Match: ${HELLO_ETAG}`], "HEAD"), notModified);
  });
});

Deno.test("staticFiles: If-Match and If-Unmodified-Since that fail give 412", async () => {
  await withStatic({}, async (port) => {
    const failed = plain("412 Precondition Failed");
    const ok = expected("200 OK", helloHeaders(), HELLO);
    const cases: [string[], string][] = [
      [['If-Match: "other"'], failed],
      [[`If-Match: W/${HELLO_ETAG}`], failed], // If-Match compares strongly
      [[`If-Match: ${HELLO_ETAG}`], ok],
      [["If-Match: *"], ok],
      [["If-Unmodified-Since: Mon, 01 Jan 2024 00:00:00 GMT"], failed],
      [[`If-Unmodified-Since: ${LAST_MODIFIED}`], ok],
      [["If-Unmodified-Since: garbage"], ok],
      [["If-Unmodified-Since: 2020"], ok], // not an HTTP-date: ignored (RFC 9110 §13.1.3)
    ];
    for (const [headers, want] of cases) {
      assert.equal(await fetchRaw(port, "/hello.txt", headers), want, headers.join(" | "));
    }
  });
});

// ---- ranges ----

const partial = (start: number, end: number, body: string) =>
  expected("206 Partial Content", [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Range", `bytes ${start}-${end}/14`],
    ["Content-Length", String(end - start + 1)],
    ["ETag", HELLO_ETAG],
    ["Last-Modified", LAST_MODIFIED],
    ["Cache-Control", "public, max-age=0"],
    ["Accept-Ranges", "bytes"],
  ], body);

Deno.test("staticFiles: one byte range gives 206 with Content-Range", async () => {
  await withStatic({}, async (port) => {
    const cases: [string, string][] = [
      ["bytes=0-4", partial(0, 4, "Hello")],
      ["bytes=7-", partial(7, 13, "World!\n")],
      ["bytes=-3", partial(11, 13, "d!\n")],
      ["bytes=-100", partial(0, 13, HELLO)],
      ["bytes=7-999", partial(7, 13, "World!\n")],
      ["bytes=13-13", partial(13, 13, "\n")],
      ["BYTES=0-0", partial(0, 0, "H")],
      ["bytes=0-1,", partial(0, 1, "He")], // an empty list element is skipped
    ];
    for (const [range, want] of cases) {
      assert.equal(await fetchRaw(port, "/hello.txt", [`Range: ${range}`]), want, range);
    }
  });
});

Deno.test("staticFiles: unsatisfiable ranges give 416; invalid or multiple ranges are ignored (200)", async () => {
  await withStatic({}, async (port) => {
    const unsatisfiable = plain("416 Range Not Satisfiable", [
      ["Content-Range", "bytes */14"],
      ["Accept-Ranges", "bytes"],
    ]);
    const whole = expected("200 OK", helloHeaders(), HELLO);
    const cases: [string, string][] = [
      ["bytes=14-", unsatisfiable],
      ["bytes=100-200", unsatisfiable],
      ["bytes=-0", unsatisfiable],
      ["bytes=99999999999999999999999-", unsatisfiable],
      ["bytes=5-2", whole], // last < first: invalid, so ignored (RFC 9110 §14.1.1)
      ["bytes=abc", whole],
      ["bytes=1-x", whole],
      ["bytes=-", whole],
      ["bytes=", whole],
      ["bytes 0-1", whole],
      ["items=0-1", whole],
      ["bytes=0-1,3-4", whole], // several ranges: the whole file (no multipart)
      ["bytes=0-1, 20-30", whole],
    ];
    for (const [range, want] of cases) {
      assert.equal(await fetchRaw(port, "/hello.txt", [`Range: ${range}`]), want, range);
    }
    // An empty file: no first byte to give; a suffix range gives its (empty) whole.
    assert.equal((await fetchOne(port, "/zero.txt", ["Range: bytes=0-"])).status, 416);
    const suffix = await fetchOne(port, "/zero.txt", ["Range: bytes=-5"]);
    assert.equal(suffix.status, 200);
    assert.equal(suffix.body, "");
    // HEAD ignores Range.
    assert.equal(
      await fetchRaw(port, "/hello.txt", ["Range: bytes=0-4"], "HEAD"),
      expected("200 OK", helloHeaders()),
    );
  });
});

Deno.test("staticFiles: If-Range honoured: a matching strong ETag or date gives the range, else the whole file", async () => {
  await withStatic({}, async (port) => {
    const whole = expected("200 OK", helloHeaders(), HELLO);
    const cases: [string, string][] = [
      [HELLO_ETAG, partial(0, 4, "Hello")],
      [LAST_MODIFIED, partial(0, 4, "Hello")],
      ['"stale"', whole],
      [`W/${HELLO_ETAG}`, whole], // If-Range compares strongly
      ["Tue, 02 Jan 2024 03:04:06 GMT", whole], // not exactly Last-Modified
      ["nonsense", whole],
    ];
    for (const [ifRange, want] of cases) {
      assert.equal(
        await fetchRaw(port, "/hello.txt", ["Range: bytes=0-4", `If-Range: ${ifRange}`]),
        want,
        ifRange,
      );
    }
  });
});

// ---- directories ----

Deno.test("staticFiles: directories: 301 to the slash form, then the index; none → 404", async () => {
  await withStatic({}, async (port) => {
    assert.equal(await fetchRaw(port, "/sub"), plain("301 Moved Permanently", [["Location", "/sub/"]]));
    assert.equal(
      await fetchRaw(port, "/sub?a=1&b"),
      plain("301 Moved Permanently", [["Location", "/sub/?a=1&b"]]),
    );
    const sub = await fetchOne(port, "/sub/");
    assert.equal(sub.status, 200);
    assert.equal(sub.text, "<p>sub</p>");
    assert.equal(sub.headers.find(([n]) => n === "Content-Type")?.[1], "text/html; charset=utf-8");
    assert.equal((await fetchOne(port, "/")).text, "<h1>home</h1>");
    assert.equal(await fetchRaw(port, "/empty/"), NOT_FOUND);
    assert.equal(await fetchRaw(port, "/hello.txt/"), NOT_FOUND, "a file with a trailing slash");
    assert.equal(await fetchRaw(port, "/missing.txt"), NOT_FOUND);
    assert.equal(await fetchRaw(port, "/missing/deeper.txt"), NOT_FOUND);
    assert.equal(await fetchRaw(port, "/hello.txt/deeper"), NOT_FOUND);
  });
  await withStatic({ index: "" }, async (port) => {
    assert.equal(await fetchRaw(port, "/sub/"), NOT_FOUND, 'index: "" serves no index');
    assert.equal(
      await fetchRaw(port, "/sub/index.html"),
      expected("200 OK", [
        ["Content-Type", "text/html; charset=utf-8"],
        ["Content-Length", "10"],
        ["ETag", etagOf(10)],
        ["Last-Modified", LAST_MODIFIED],
        ["Cache-Control", "public, max-age=0"],
        ["Accept-Ranges", "bytes"],
      ], "<p>sub</p>"),
    );
  });
});

Deno.test("staticFiles: mounted under PathInfoDispatcher, by PATH_INFO, with redirects under the mount", async () => {
  await withStatic((root) => PathInfoDispatcher([["/static", staticFiles(root)]]), async (port) => {
    assert.equal(await fetchRaw(port, "/static/hello.txt"), expected("200 OK", helloHeaders(), HELLO));
    assert.equal(await fetchRaw(port, "/static"), plain("301 Moved Permanently", [["Location", "/static/"]]));
    assert.equal(
      await fetchRaw(port, "/static/sub"),
      plain("301 Moved Permanently", [["Location", "/static/sub/"]]),
    );
    assert.equal((await fetchOne(port, "/static/")).text, "<h1>home</h1>");
    assert.equal((await fetchOne(port, "/static/../static/hello.txt")).status, 404);
  });
});

// ---- safety ----

Deno.test("staticFiles: every way out of root is 404, decided before touching the file system", async () => {
  // With dotfiles served too: `..` is refused for what it is, not for starting with a dot.
  for (const options of [{}, { dotfiles: true }]) {
    await traversals(options);
  }
});

async function traversals(options: StaticFilesOptions): Promise<void> {
  await withStatic(options, async (port) => {
    const targets = [
      "/../hello.txt",
      "/sub/../hello.txt",
      "/sub/../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/sub/%2E%2E/hello.txt",
      "/%2e/hello.txt",
      "/./hello.txt",
      "/sub/.",
      "/..",
      "/sub%2f..%2fhello.txt",
      "/sub%2F..%2Fhello.txt",
      "/..%2fhello.txt",
      "/..%5c..%5cetc%5cpasswd",
      "/sub%5Cindex.html",
      "/a\\..\\hello.txt",
      "/hello.txt%00.png",
      "/hello.txt%00",
      "//etc/passwd",
      "/sub//index.html",
      "/%2fetc/passwd",
      "http://x/../hello.txt",
    ];
    for (const target of targets) {
      let raw = "";
      const calls = await spyFs(async () => {
        raw = await fetchRaw(port, target);
      });
      assert.equal(raw, NOT_FOUND, target);
      assert.deepEqual(calls, [], `${target} touched the file system`);
    }
  });
}

Deno.test("staticFiles: a symlink that leads out of root is 404, its target never opened nor stat'ed", async () => {
  await withStatic({}, async (port, { outside }) => {
    for (const target of ["/out.txt", "/outdir/secret.txt", "/outdir/", "/linked/"]) {
      let raw = "";
      const calls = await spyFs(async () => {
        raw = await fetchRaw(port, target);
      });
      assert.equal(raw, NOT_FOUND, target);
      assert.deepEqual(calls.filter((c) => c.startsWith("open")), [], `${target} opened something`);
      assert.ok(calls.every((c) => !c.includes(outside)), `${target} named the outside: ${calls}`);
      assert.ok(calls.some((c) => c.startsWith("realPath")), `${target} was resolved: ${calls}`);
    }
    // A link that stays inside is served.
    assert.equal((await fetchOne(port, "/in.txt")).text, HELLO);
  });
});

Deno.test("staticFiles: dot files are not found unless dotfiles: true", async () => {
  await withStatic({}, async (port) => {
    assert.equal(await fetchRaw(port, "/.env"), NOT_FOUND);
    assert.equal(await fetchRaw(port, "/.well-known/thing.txt"), NOT_FOUND);
  });
  await withStatic({ dotfiles: true }, async (port) => {
    assert.equal((await fetchOne(port, "/.env")).text, "SECRET=1");
    assert.equal((await fetchOne(port, "/.well-known/thing.txt")).text, "known");
    assert.equal(await fetchRaw(port, "/.well-known/../.env"), NOT_FOUND);
  });
});

// ---- methods and fallthrough ----

Deno.test("staticFiles: other methods get 405 with Allow", async () => {
  await withStatic({}, async (port) => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      assert.equal(
        normalizeDate((await exchange(port, request("/hello.txt", ["Content-Length: 0"], method))).text),
        plain("405 Method Not Allowed", [["Allow", "GET, HEAD"]]),
        method,
      );
    }
  });
});

Deno.test("staticFiles: fallthrough answers missing files, dotfiles and other methods, never refused paths", async () => {
  const next: App = (environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [`next: ${environ.REQUEST_METHOD} ${environ.PATH_INFO}`];
  };
  await withStatic({ fallthrough: next }, async (port) => {
    assert.equal((await fetchOne(port, "/missing.txt")).text, "next: GET /missing.txt");
    assert.equal((await fetchOne(port, "/empty/")).text, "next: GET /empty/");
    assert.equal((await fetchOne(port, "/.env")).text, "next: GET /.env");
    assert.equal(
      (await fetchOne(port, "/hello.txt", ["Content-Length: 0"], "POST")).text,
      "next: POST /hello.txt",
    );
    assert.equal((await fetchOne(port, "/hello.txt")).text, HELLO);
    assert.equal(await fetchRaw(port, "/../hello.txt"), NOT_FOUND);
    assert.equal(await fetchRaw(port, "/out.txt"), NOT_FOUND);
  });
});

// ---- options ----

Deno.test("staticFiles: bad options and roots are refused with a message that says what to pass", async () => {
  const fixture = await makeFixture();
  try {
    assert.throws(() => staticFiles(fixture.root, { maxAge: -1 }), {
      name: "RangeError",
      message: "staticFiles: maxAge must be an integer number of seconds >= 0, got -1",
    });
    assert.throws(() => staticFiles(fixture.root, { maxAge: 1.5 }), RangeError);
    assert.throws(() => staticFiles(fixture.root, { index: "a/b.html" }), {
      name: "TypeError",
      message: 'staticFiles: index must be a file name without slashes (or "" for none), got "a/b.html"',
    });
    assert.throws(() => staticFiles(fixture.root, { index: ".." }), TypeError);
    assert.throws(
      () => staticFiles(`${fixture.root}/nope`),
      /staticFiles: root .* cannot be resolved .*pass an existing directory/,
    );
    assert.throws(() => staticFiles(`${fixture.root}/hello.txt`), /staticFiles: root .* is not a directory/);
    assert.throws(() => staticFiles(""), TypeError);
  } finally {
    await removeFixture(fixture);
  }
});

// ---- file handles ----

Deno.test("staticFiles: no file handle is left open, whatever the answer", async () => {
  await withStatic({}, async (port) => {
    await fetchOne(port, "/hello.txt"); // warm up whatever the runtime opens once
    const before = openFds();
    const requests: [string, string[], string][] = [
      ["/hello.txt", [], "GET"],
      ["/hello.txt", [], "HEAD"],
      ["/hello.txt", ["Range: bytes=2-5"], "GET"],
      ["/hello.txt", ["Range: bytes=99-"], "GET"],
      ["/hello.txt", [`If-None-Match: ${HELLO_ETAG}`], "GET"],
      ["/hello.txt", ['If-Match: "x"'], "GET"],
      ["/sub/", [], "GET"],
      ["/missing", [], "GET"],
      ["/out.txt", [], "GET"],
    ];
    for (const [target, headers, method] of requests) await fetchOne(port, target, headers, method);
    await until(() => openFds() === before, 2000, `the fd count back to ${before} (now ${openFds()})`);
  });
});

Deno.test("staticFiles: a client that leaves in the middle of a file: the file is closed", async () => {
  await withStatic({}, async (port, { root }) => {
    const size = 32 << 20; // more than the socket buffers hold: the server is still sending when the client leaves
    const file = await Deno.open(`${root}/big.bin`, { write: true, create: true });
    await file.truncate(size);
    file.close();
    const before = openFds();
    const client = await Client.connect(port);
    try {
      assert.ok(await client.write(request("/big.bin")));
      assert.ok(await client.readUntil((text) => text.includes("\r\n\r\n")), "the head arrived");
      assert.match(client.received, new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[^]*Content-Length: ${size}\\r\\n`));
      // Client and server ends of the connection, and the file being sent.
      await until(
        () => openFds() === before + 3,
        2000,
        `the file open while sending (${openFds()} vs ${before})`,
      );
    } finally {
      await client.close();
    }
    await until(() => openFds() === before, 2000, `the fd count back to ${before} (now ${openFds()})`);
  }, (error) => error instanceof ClientGone);
});
