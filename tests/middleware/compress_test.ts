/**
 * `compress` over real sockets: exact heads and decompressed bodies for gzip
 * and deflate, `Accept-Encoding` negotiation (q-values, garbage), every case
 * sent as is, the size threshold with and without Content-Length, operations
 * and `write()` passing through, files from `staticFiles`, and the streaming
 * property: each chunk's compressed bytes reach the client before the app's
 * next wait ends, and a client that leaves during the wait stops the app.
 */
import assert from "node:assert/strict";
import { Await, Signal, WaitForSignal } from "../../core/mod.ts";
import { compress, type CompressOptions, staticFiles } from "../../middleware/mod.ts";
import { type App, ClientGone, type Environ, type StartResponse } from "../../wsgi/mod.ts";
import {
  bytes,
  chunkedSoFar,
  Client,
  decompress,
  decompressPartial,
  header,
  normalizeDate,
  type ParsedResponse,
  responseTo,
  startServer,
  type TestServer,
  until,
} from "../http.ts";

/** 2000 bytes of text: over the default threshold, and compressible. */
const TEXT = "All work and no play makes Jack a dull boy.\n".repeat(46).slice(0, 2000);

/** An app answering `body` with `headers` (and a Content-Length unless `length` is false), from an array. */
function answering(headers: [string, string][], body = TEXT, status = "200 OK", length = true): App {
  return (_environ, startResponse) => {
    startResponse(
      status,
      length ? [...headers, ["Content-Length", String(new TextEncoder().encode(body).length)]] : headers,
    );
    return [body];
  };
}

async function withServer(app: App | [string, App][], fn: (t: TestServer) => Promise<void>): Promise<void> {
  const t = startServer(app);
  try {
    await fn(t);
    assert.deepEqual(t.errors, [], "the server logged no error");
  } finally {
    await t.stop();
  }
}

function request(target: string, headers: string[] = [], method = "GET"): string {
  return `${method} ${target} HTTP/1.1\r\nHost: x\r\n${
    headers.map((h) => `${h}\r\n`).join("")
  }Connection: close\r\n\r\n`;
}

async function get(
  port: number,
  headers: string[] = [],
  target = "/",
  method = "GET",
): Promise<ParsedResponse> {
  return await responseTo(port, request(target, headers, method), { method });
}

/** The head of a response, Date normalised. */
function head(response: ParsedResponse): string {
  const raw = normalizeDate(response.raw);
  return raw.slice(0, raw.indexOf("\r\n\r\n") + 4);
}

function expectedHead(status: string, headers: [string, string][], framing: [string, string]): string {
  return `HTTP/1.1 ${status}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}` +
    `Date: <date>\r\nServer: cogen-deno/0.1.0\r\n${framing[0]}: ${framing[1]}\r\nConnection: close\r\n\r\n`;
}

/** Decompresses a whole body with the platform's DecompressionStream. */
// ---- compressed ----

Deno.test("compress: gzip: Content-Encoding and Vary, no Content-Length or Accept-Ranges, a weak ETag", async () => {
  const app = compress(answering([
    ["Content-Type", "text/html; charset=utf-8"],
    ["ETag", '"v1"'],
    ["Accept-Ranges", "bytes"],
    ["X-Other", "kept"],
  ]));
  await withServer(app, async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(
      head(response),
      expectedHead("200 OK", [
        ["Content-Type", "text/html; charset=utf-8"],
        ["ETag", 'W/"v1"'],
        ["X-Other", "kept"],
        ["Vary", "Accept-Encoding"],
        ["Content-Encoding", "gzip"],
      ], ["Transfer-Encoding", "chunked"]),
    );
    assert.ok(response.body.length < TEXT.length / 4, `compressed to ${response.body.length} bytes`);
    assert.equal(await decompress(response.body, "gzip"), TEXT);
  });
});

Deno.test("compress: deflate when asked for; the body is a zlib stream", async () => {
  await withServer(compress(answering([["Content-Type", "application/json"]])), async (t) => {
    const response = await get(t.port, ["Accept-Encoding: deflate"]);
    assert.equal(header(response, "content-encoding"), "deflate");
    assert.equal(await decompress(response.body, "deflate"), TEXT);
  });
});

Deno.test("compress: Accept-Encoding negotiation by q-value; garbage counts as absent", async () => {
  await withServer(compress(answering([["Content-Type", "text/plain"]])), async (t) => {
    const cases: [string | null, "gzip" | "deflate" | null][] = [
      [null, null],
      ["", null],
      ["gzip", "gzip"],
      ["GZip", "gzip"],
      ["x-gzip", "gzip"],
      ["deflate", "deflate"],
      ["gzip, deflate, br", "gzip"],
      ["deflate, gzip", "gzip"], // a tie: gzip
      ["gzip;q=0.5, deflate;q=0.8", "deflate"],
      ["gzip; q=0.8 , deflate;q=0.5", "gzip"],
      ["gzip;q=0", null],
      ["gzip;q=0, deflate;q=0", null],
      ["gzip;q=0.000", null],
      ["*", "gzip"],
      ["*;q=0", null],
      ["gzip;q=0, *", "deflate"],
      ["br, *;q=0.1", "gzip"],
      ["identity", null],
      ["identity;q=1, gzip;q=0.5", null], // identity explicitly preferred
      ["gzip, identity;q=0", "gzip"],
      ["br", null],
      [";;;,=q", null],
      ["gzip;q=abc", null],
      ["gzip;q=abc, deflate", "deflate"],
      ["gzip;q=1.5", null],
      ["gzip;q=0.0001", null],
      ["gzip;", null],
      ["gzip;q", null],
      ["gzip;level=9", "gzip"], // an unknown parameter is ignored
      [",,, gzip ,,", "gzip"],
      ["g zip", null],
      ["\u00ff\u00fe", null],
    ];
    for (const [acceptEncoding, want] of cases) {
      const response = await get(
        t.port,
        acceptEncoding === null ? [] : [`Accept-Encoding: ${acceptEncoding}`],
      );
      const what = JSON.stringify(acceptEncoding);
      assert.equal(response.status, 200, what);
      assert.equal(header(response, "vary"), "Accept-Encoding", what);
      assert.equal(header(response, "content-encoding"), want ?? undefined, what);
      if (want === null) {
        assert.equal(header(response, "content-length"), String(TEXT.length), what);
        assert.equal(response.body, TEXT, what);
      } else {
        assert.equal(await decompress(response.body, want), TEXT, what);
      }
    }
  });
});

// ---- sent as is ----

Deno.test("compress: what is sent as it is: byte for byte the app's response, plus Vary where the type varies", async () => {
  const plain: [string, string][] = [["Content-Type", "text/plain"]];
  // [what, app, method, whether Vary is added]
  const cases: [string, App, string, boolean][] = [
    ["below the threshold by Content-Length", answering(plain, "small"), "GET", true],
    ["HEAD", answering(plain), "HEAD", true],
    [
      "a 206",
      answering([...plain, ["Content-Range", "bytes 0-1999/5000"]], TEXT, "206 Partial Content"),
      "GET",
      true,
    ],
    ["a Content-Range on a 200", answering([...plain, ["Content-Range", "bytes 0-1999/2000"]]), "GET", true],
    ["already encoded", answering([...plain, ["Content-Encoding", "br"]]), "GET", false],
    ["no-transform", answering([...plain, ["Cache-Control", "public, no-transform"]]), "GET", false],
    ["an image", answering([["Content-Type", "image/png"]]), "GET", false],
    ["no Content-Type", answering([]), "GET", false],
  ];
  for (const [what, inner, method, varies] of cases) {
    const direct = startServer(inner);
    const wrapped = startServer(compress(inner));
    try {
      const plainResponse = await get(direct.port, ["Accept-Encoding: gzip"], "/", method);
      const response = await get(wrapped.port, ["Accept-Encoding: gzip"], "/", method);
      const want = normalizeDate(plainResponse.raw).replace(
        "\r\nDate:",
        varies ? "\r\nVary: Accept-Encoding\r\nDate:" : "\r\nDate:",
      );
      assert.equal(normalizeDate(response.raw), want, what);
      assert.equal(header(response, "content-encoding"), what === "already encoded" ? "br" : undefined, what);
    } finally {
      await direct.stop();
      await wrapped.stop();
    }
  }
});

Deno.test("compress: 204 and 304 pass uncompressed (a 304 gets the Vary and the weak ETag its 200 would have)", async () => {
  const noContent: App = (_environ, startResponse) => {
    startResponse("204 No Content", [["Content-Type", "text/plain"]]);
    return [];
  };
  const notModified: App = (_environ, startResponse) => {
    startResponse("304 Not Modified", [["ETag", '"v1"']]);
    return [];
  };
  await withServer(compress(noContent), async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(
      normalizeDate(response.raw),
      "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\nDate: <date>\r\nServer: cogen-deno/0.1.0\r\nConnection: close\r\n\r\n",
    );
  });
  await withServer(compress(notModified), async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(
      normalizeDate(response.raw),
      'HTTP/1.1 304 Not Modified\r\nETag: W/"v1"\r\nVary: Accept-Encoding\r\nDate: <date>\r\nServer: cogen-deno/0.1.0\r\nConnection: close\r\n\r\n',
    );
  });
});

Deno.test("compress: Vary is appended to the app's, unless already there or *", async () => {
  const cases: [string, string][] = [
    ["Cookie", "Cookie, Accept-Encoding"],
    ["accept-encoding", "accept-encoding"],
    ["Origin, Accept-Encoding", "Origin, Accept-Encoding"],
    ["*", "*"],
  ];
  for (const [vary, want] of cases) {
    await withServer(compress(answering([["Content-Type", "text/plain"], ["Vary", vary]])), async (t) => {
      for (const acceptEncoding of [[], ["Accept-Encoding: gzip"]]) {
        const response = await get(t.port, acceptEncoding);
        assert.deepEqual(
          response.headers.filter(([n]) => n.toLowerCase() === "vary"),
          [["Vary", want]],
          vary,
        );
      }
    });
  }
});

// ---- sizes without Content-Length ----

/** A generator app yielding `chunks` without Content-Length. */
function chunks(parts: string[], type = "text/plain"): App {
  return async function* (_environ: Environ, startResponse: StartResponse) {
    startResponse("200 OK", [["Content-Type", type]]);
    for (const part of parts) yield part;
  };
}

Deno.test("compress: without Content-Length, the chunks are held until the threshold or the end", async () => {
  // Small in total: sent as is, in one piece (so the server gives it a Content-Length).
  await withServer(compress(chunks(["a", "b", "c"])), async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(
      normalizeDate(response.raw),
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVary: Accept-Encoding\r\nDate: <date>\r\n" +
        "Server: cogen-deno/0.1.0\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
  });
  // An array is measured the same way.
  await withServer(
    compress(answering([["Content-Type", "text/plain"]], "tiny", "200 OK", false)),
    async (t) => {
      const response = await get(t.port, ["Accept-Encoding: gzip"]);
      assert.equal(header(response, "content-encoding"), undefined);
      assert.equal(header(response, "content-length"), "4");
      assert.equal(response.body, "tiny");
    },
  );
  // Many small chunks over the threshold: compressed.
  const parts = Array.from({ length: 200 }, (_, i) => `line ${i}\n`);
  await withServer(compress(chunks(parts)), async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(header(response, "content-encoding"), "gzip");
    assert.equal(header(response, "content-length"), undefined);
    assert.equal(await decompress(response.body, "gzip"), parts.join(""));
  });
  // threshold 0: everything, even one byte.
  await withServer(
    compress(answering([["Content-Type", "text/plain"]], "x"), { threshold: 0 }),
    async (t) => {
      const response = await get(t.port, ["Accept-Encoding: gzip"]);
      assert.equal(header(response, "content-encoding"), "gzip");
      assert.equal(await decompress(response.body, "gzip"), "x");
    },
  );
  // A UTF-8 body is measured in bytes: 600 "é" are 1200 bytes.
  await withServer(compress(chunks(["é".repeat(600)])), async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(header(response, "content-encoding"), "gzip");
    assert.equal(await decompress(response.body, "gzip"), "é".repeat(600));
  });
});

Deno.test("compress: the app's close() is called once, compressed or not, streamed or passed on untouched", async () => {
  let closed = 0;
  const close = () => {
    closed++;
  };
  const generated = (parts: string[]): App => (_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return Object.assign(
      (function* () {
        yield* parts;
      })(),
      { close },
    );
  };
  const array = (type: string): App => (_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", type], ["Content-Length", String(TEXT.length)]]);
    return Object.assign([TEXT], { close });
  };
  const cases: [string, App, string | undefined][] = [
    ["a compressed stream", generated([TEXT, "end"]), "gzip"],
    ["a small stream, sent as is", generated(["small"]), undefined],
    ["a compressed array", array("text/plain"), "gzip"],
    ["an array passed on untouched", array("image/png"), undefined],
  ];
  for (const [what, app, coding] of cases) {
    closed = 0;
    await withServer(compress(app), async (t) => {
      const response = await get(t.port, ["Accept-Encoding: gzip"]);
      assert.equal(response.status, 200, what);
      assert.equal(header(response, "content-encoding"), coding, what);
      await until(() => closed > 0, 2000, `close() for ${what}`);
    });
    assert.equal(closed, 1, what);
  }
});

// ---- operations, write() ----

Deno.test("compress: operations pass through: their values and errors go back into the app", async () => {
  const app = compress(function* (_environ: Environ, startResponse: StartResponse) {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield TEXT;
    const value: string = yield new Await(Promise.resolve("forty-two"));
    yield ` value=${value}`;
    try {
      yield new Await(Promise.reject(new Error("boom")));
      yield " not reached";
    } catch (error) {
      yield ` caught=${(error as Error).message}`;
    }
  });
  await withServer(app, async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(await decompress(response.body, "gzip"), `${TEXT} value=forty-two caught=boom`);
  });
});

Deno.test("compress: write() output keeps its place among the yielded chunks", async () => {
  const app = compress(function* (_environ: Environ, startResponse: StartResponse) {
    const write = startResponse("200 OK", [["Content-Type", "text/plain"]]);
    write("written first|");
    yield TEXT;
    write("|written between|");
    yield "yielded last";
  });
  await withServer(app, async (t) => {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(
      await decompress(response.body, "gzip"),
      `written first|${TEXT}|written between|yielded last`,
    );
    const identity = await get(t.port, []);
    assert.equal(identity.body, `written first|${TEXT}|written between|yielded last`);
  });
});

Deno.test("compress: startResponse a second time without excInfo is an error that says what to pass", async () => {
  const app = compress((_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    startResponse("500 Internal Server Error", [["Content-Type", "text/plain"]]);
    return ["never"];
  });
  const t = startServer(app);
  try {
    const response = await get(t.port, ["Accept-Encoding: gzip"]);
    assert.equal(response.status, 500);
    assert.equal(t.errors.length, 1);
    assert.match(
      String(t.errors[0].error),
      /called a second time without excInfo; pass the error being handled/,
    );
  } finally {
    await t.stop();
  }
});

// ---- streaming ----

/**
 * Two ways to the wait: a small first chunk held until the app's `""` (no
 * Content-Length), and a first chunk over the threshold compressed as it
 * arrives, before an operation yielded directly (with a Content-Length).
 */
const FIRST_CHUNKS = [
  { name: 'a small chunk, then ""', first: "Hello ", length: false, direct: false },
  { name: "a chunk over the threshold, then an Operation", first: TEXT, length: true, direct: true },
];

for (const coding of ["gzip", "deflate"] as const) {
  for (const { name, first, length, direct } of FIRST_CHUNKS) {
    Deno.test(`compress: ${coding}, ${name}: its bytes reach the client, decompressible, before the wait ends`, async () => {
      let resumed = false;
      const last = "World, signalled";
      const waiting: App = async function* (environ, startResponse) {
        const headers: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];
        if (length) headers.push(["Content-Length", String(first.length + last.length)]);
        startResponse("200 OK", headers);
        yield first;
        const value: string = yield direct
          ? new WaitForSignal("go")
          : environ.cogen.core.events.WaitForSignal("go");
        resumed = true;
        yield `World, ${direct ? value : environ.cogen.result}`;
      };
      const go: App = function* (_environ, startResponse) {
        const woken: number = yield new Signal("go", "signalled");
        startResponse("200 OK", [["Content-Type", "text/plain"]]);
        yield String(woken);
      };
      await withServer([["/go", go], ["/", compress(waiting)]], async (t) => {
        const client = await Client.connect(t.port);
        try {
          assert.ok(await client.write(`GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${coding}\r\n\r\n`));
          const arrived = await client.readUntil((text) => {
            const body = chunkedSoFar(text);
            return body.length > 0 && decompressPartial(body, coding) === first;
          });
          assert.ok(
            arrived,
            `the first chunk did not arrive decompressible: ${JSON.stringify(client.received)}`,
          );
          assert.equal(resumed, false, "the app is still waiting");
          assert.match(client.received, new RegExp(`Content-Encoding: ${coding}\\r\\n`));
          assert.equal((await get(t.port, [], "/go")).text, "1");
          const response = await client.response();
          assert.equal(await decompress(response.body, coding), first + last);
        } finally {
          await client.close();
        }
      });
    });
  }
}

Deno.test("compress: a client that leaves during the app's wait: the app's finally runs", async () => {
  let cleaned = false;
  const waiting: App = async function* (environ, startResponse) {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    try {
      yield "Hello ";
      yield environ.cogen.core.events.WaitForSignal("never");
      yield "not reached";
    } finally {
      cleaned = true;
    }
  };
  await withServer(compress(waiting), async (t) => {
    const client = await Client.connect(t.port);
    try {
      assert.ok(await client.write("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"));
      assert.ok(await client.readUntil((text) => chunkedSoFar(text).length > 0), "the first chunk arrived");
      assert.equal(cleaned, false);
    } finally {
      await client.close();
    }
    await until(() => cleaned, 2000, "the app's finally block");
  });
});

// ---- with staticFiles ----

Deno.test("compress over staticFiles: text compressed, images sent by the server as they are, ranges and HEAD untouched", async () => {
  const root = await Deno.makeTempDir();
  const big = Array.from({ length: 20000 }, (_, i) => `${i} bottles of beer on the wall\n`).join("");
  await Deno.writeTextFile(`${root}/big.txt`, big);
  await Deno.writeFile(`${root}/logo.png`, Uint8Array.from({ length: 3000 }, (_, i) => i % 251));
  try {
    await withServer(compress(staticFiles(root)), async (t) => {
      const text = await get(t.port, ["Accept-Encoding: gzip"], "/big.txt");
      assert.equal(text.status, 200);
      assert.equal(header(text, "content-encoding"), "gzip");
      assert.equal(header(text, "accept-ranges"), undefined);
      assert.match(header(text, "etag") ?? "", /^W\/"/);
      assert.equal(await decompress(text.body, "gzip"), big);

      const png = await get(t.port, ["Accept-Encoding: gzip"], "/logo.png");
      assert.equal(header(png, "content-encoding"), undefined);
      assert.equal(header(png, "vary"), undefined);
      assert.equal(header(png, "content-length"), "3000");
      assert.deepEqual(bytes(png.body), await Deno.readFile(`${root}/logo.png`));

      const range = await get(t.port, ["Accept-Encoding: gzip", "Range: bytes=0-9"], "/big.txt");
      assert.equal(range.status, 206);
      assert.equal(header(range, "content-encoding"), undefined);
      assert.equal(header(range, "vary"), "Accept-Encoding");
      assert.equal(range.body, big.slice(0, 10));

      const headResponse = await get(t.port, ["Accept-Encoding: gzip"], "/big.txt", "HEAD");
      assert.equal(header(headResponse, "content-encoding"), undefined);
      assert.equal(header(headResponse, "content-length"), String(big.length));
      assert.equal(header(headResponse, "vary"), "Accept-Encoding");

      // RFC 9110 §15.4.5: the 304 carries the ETag the (compressed) 200 had; without gzip, the strong one.
      const etag = header(headResponse, "etag")!;
      assert.equal(header(text, "etag"), `W/${etag}`);
      const notModified = await get(
        t.port,
        ["Accept-Encoding: gzip", `If-None-Match: W/${etag}`],
        "/big.txt",
      );
      assert.equal(notModified.status, 304);
      assert.equal(header(notModified, "etag"), `W/${etag}`);
      assert.equal(header(notModified, "vary"), "Accept-Encoding");
      const identity = await get(t.port, [`If-None-Match: ${etag}`], "/big.txt");
      assert.equal(identity.status, 304);
      assert.equal(header(identity, "etag"), etag);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---- options ----

Deno.test("compress: bad options are refused with a message that says what to pass", () => {
  const app = answering([]);
  assert.throws(() => compress(app, { threshold: -1 }), {
    name: "RangeError",
    message: "compress: threshold must be an integer number of bytes >= 0, got -1",
  });
  assert.throws(() => compress(app, { threshold: 0.5 }), RangeError);
  assert.throws(() => compress(app, { types: ["text"] }), {
    name: "TypeError",
    message: 'compress: types must hold media types such as "text/*" or "application/json", got "text"',
  });
  assert.throws(() => compress(app, { types: "text/*" } as unknown as CompressOptions), TypeError);
});

Deno.test("compress: types: exact types, families and */*", async () => {
  const cases: [string[], string, boolean][] = [
    [["application/x-ndjson"], "application/x-ndjson", true],
    [["application/x-ndjson"], "text/plain", false],
    [["text/*"], "TEXT/CSV; charset=utf-8", true],
    [["*/*"], "image/png", true],
  ];
  for (const [types, type, compressed] of cases) {
    await withServer(compress(answering([["Content-Type", type]]), { types }), async (t) => {
      const response = await get(t.port, ["Accept-Encoding: gzip"]);
      assert.equal(header(response, "content-encoding"), compressed ? "gzip" : undefined, `${types} ${type}`);
      assert.equal(compressed ? await decompress(response.body, "gzip") : response.body, TEXT);
    });
  }
});

Deno.test("compress over staticFiles: a client that leaves in the middle of a compressed file: the file is closed", async () => {
  const root = await Deno.makeTempDir();
  // Random bytes do not compress: more than the socket buffers hold, so the server is still sending.
  const file = await Deno.open(`${root}/noise.txt`, { write: true, create: true });
  const block = new Uint8Array(65536);
  for (let i = 0; i < 512; i++) await file.write(crypto.getRandomValues(block));
  file.close();
  const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;
  try {
    const t = startServer(compress(staticFiles(root)));
    try {
      const before = openFds();
      const client = await Client.connect(t.port);
      try {
        assert.ok(await client.write("GET /noise.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"));
        assert.ok(await client.readUntil((text) => chunkedSoFar(text).length > 0), "the body started");
        assert.match(client.received, /Content-Encoding: gzip\r\n/);
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
      const unexpected = t.errors.filter(({ error }) => !(error instanceof ClientGone));
      assert.deepEqual(unexpected, []);
    } finally {
      await t.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
