/**
 * The HTTP/1.1 request parser (`wsgi/http_parser.ts`), pure: no sockets.
 *
 * - `findHead`/`parseHead` at every split and at random splits (bytes
 *   arriving as `Connection.#nextRequest` sees them, stale bytes past `end`),
 *   leading empty lines, limits raised as soon as the bytes so far exceed them;
 * - round-trips of generated valid requests;
 * - generated valid requests corrupted with one ambiguity vector are refused;
 * - Content-Length / Transfer-Encoding framing checked against a model of
 *   RFC 9112 §6.1 and §6.3 for a generated set of header combinations.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../../wsgi/mod.ts";
import { type ParserLimits, RequestParser } from "../../wsgi/http_parser.ts";
import type { RequestHead } from "../../wsgi/request_head.ts";
import {
  bytes,
  fieldValue,
  isHttpError,
  latin1,
  LIMITS,
  ows,
  RUNS,
  split,
  token,
  trimOws,
} from "./parser_suite.ts";

/** What a RequestHead says, as plain data. */
function snapshot(head: RequestHead): Record<string, unknown> {
  return {
    method: head.method,
    target: head.target,
    path: head.path,
    query: head.query,
    version: head.version,
    minor: head.minor,
    headers: [...head.headers],
    host: head.host,
    contentLength: head.contentLength,
    chunked: head.chunked,
    keepAlive: head.keepAlive,
    expectContinue: head.expectContinue,
    contentType: head.contentType,
    length: head.length,
  };
}

/** Stale bytes past `end`, as a reused read buffer holds: blank lines, to tempt a scan past the end. */
const STALE = bytes("\r\n\r\n");
/** What precedes `start`: the tail of an earlier request, ending with a CR. */
const BEFORE = bytes("GET /old HTTP/1.1\r\nHost: x\r\n\r\nXY\r");

interface Fed {
  /** The head, or the error findHead/parseHead threw. */
  head: RequestHead | null;
  error: unknown;
  /** Index of the head's end relative to `start` (-1 when none was found). */
  headEnd: number;
  /** Bytes received when the head was found or the error was thrown. */
  received: number;
}

/**
 * Feeds `pieces` into a read buffer the way the connection does: after each
 * piece, `findHead` on everything received so far (from `start`, with bytes
 * of an earlier request before it and stale bytes after `end`), until it
 * returns >= 0; then `parseHead`.
 */
function feed(parser: RequestParser, pieces: readonly Uint8Array[]): Fed {
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const start = BEFORE.length;
  const buf = new Uint8Array(start + total + 64);
  for (let i = start; i < buf.length; i++) buf[i] = STALE[i % STALE.length];
  buf.set(BEFORE, 0);
  let end = start;
  try {
    for (const piece of pieces) {
      buf.set(piece, end);
      end += piece.length;
      if (end === start) continue; // the connection calls findHead only with bytes buffered
      const found = parser.findHead(buf, start, end);
      if (found >= 0) {
        assert.ok(found <= end, "findHead returned an index past the bytes received");
        return {
          head: parser.parseHead(buf, found),
          error: null,
          headEnd: found - start,
          received: end - start,
        };
      }
    }
  } catch (error) {
    return { head: null, error, headEnd: -1, received: end - start };
  }
  return { head: null, error: null, headEnd: -1, received: end - start };
}

/** Parses a whole request (buffer exactly the request). */
function parseWhole(s: string | Uint8Array, limits: ParserLimits = LIMITS): RequestHead {
  const b = typeof s === "string" ? bytes(s) : s;
  const parser = new RequestParser(limits);
  const end = parser.findHead(b, 0, b.length);
  assert.ok(end >= 0, "no complete head");
  return parser.parseHead(b, end);
}

function statusOf(f: Fed): number | "head" | "incomplete" {
  if (f.error !== null) {
    if (!(f.error instanceof HttpError)) throw f.error;
    return f.error.status;
  }
  return f.head !== null ? "head" : "incomplete";
}

// ---- a corpus of valid requests ----

const CORPUS: string[] = [
  "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
  "GET /a/b?c=d&e=f HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n",
  "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n",
  "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
  "\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: h\r\n\r\n",
  "GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
  "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "GET / HTTP/1.0\r\n\r\n",
  "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tabs:\t a \t b \t\r\nX-Obs: caf\xe9 \xa0\xff\r\nConnection: keep-alive, close\r\n\r\n",
  "DELETE /r HTTP/1.1\r\nhOsT: h\r\ncontent-length: 007\r\n\r\n",
  "GET / HTTP/1.9\r\nHost: h\r\n\r\n",
  "M-SEARCH /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nA: 2\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
];

Deno.test("findHead/parseHead: every split point, byte by byte, and every strict prefix", () => {
  for (const request of CORPUS) {
    const data = bytes(request);
    const parser = new RequestParser(LIMITS);
    const whole = snapshot(parseWhole(data));
    assert.equal(whole.length, request.length - (request.match(/^(\r\n)*/)![0].length), request);
    for (let k = 0; k <= data.length; k++) {
      const fed = feed(parser, [data.subarray(0, k), data.subarray(k)]);
      assert.equal(fed.error, null, `${JSON.stringify(request)} split at ${k}: ${String(fed.error)}`);
      assert.deepEqual(snapshot(fed.head!), whole, `${JSON.stringify(request)} split at ${k}`);
      assert.equal(fed.headEnd, data.length);
    }
    const byByte = feed(parser, Array.from(data, (_, i) => data.subarray(i, i + 1)));
    assert.deepEqual(snapshot(byByte.head!), whole, `${JSON.stringify(request)} byte by byte`);
    assert.equal(byByte.received, data.length, "found before the last byte arrived");
    // Every strict prefix is incomplete, with stale blank lines after it.
    for (let n = 0; n < data.length; n++) {
      const buf = new Uint8Array(n + 8);
      buf.set(data.subarray(0, n));
      buf.set(bytes("\r\n\r\n\r\n\r\n"), n);
      assert.equal(parser.findHead(buf, 0, n), -1, `${JSON.stringify(request)} prefix ${n}`);
    }
    // With the body (or a pipelined request) right behind it: the head ends where it ends.
    const more = bytes(request + "hello world" + "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal(parser.findHead(more, 0, more.length), data.length);
  }
});

Deno.test("findHead/parseHead: random splits into many pieces give the same head", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CORPUS),
      fc.array(fc.nat(), { maxLength: 24 }),
      (request, cuts) => {
        const data = bytes(request);
        const fed = feed(new RequestParser(LIMITS), split(data, cuts));
        assert.equal(fed.error, null);
        assert.deepEqual(snapshot(fed.head!), snapshot(parseWhole(data)));
        assert.equal(fed.received, data.length);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("findHead: leading empty lines are skipped (RFC 9112 §2.2), a bare LF is not a line", () => {
  const parser = new RequestParser(LIMITS);
  const data = bytes("\r\n\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  assert.equal(parser.findHead(data, 0, data.length), data.length);
  assert.equal(parser.requestStart, 6);
  const head = parser.parseHead(data, data.length);
  assert.equal(head.target, "/x");
  assert.equal(head.length, data.length - 6);
  // Only empty lines so far: more is needed.
  const empties = bytes("\r\n\r\n\r");
  assert.equal(parser.findHead(empties, 0, empties.length), -1);
  // A bare LF, before the request line or in it, or ending the head: 400.
  for (
    const bad of [
      "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n\n",
    ]
  ) {
    assert.throws(() => parser.findHead(bytes(bad), 0, bad.length), isHttpError(400), JSON.stringify(bad));
  }
});

/**
 * What findHead owes for the prefix `p` of a request (CRLF lines only), by
 * the limits' documented meaning: the request line (with its CR) at most
 * `maxRequestLine` bytes, the header section after it (blank line included)
 * at most `maxHeaderBytes`, at most `maxHeaders` fields; "as soon as the
 * bytes so far exceed them".
 */
function limitOracle(p: string, limits: ParserLimits): number | 414 | 431 {
  let i = 0;
  while (p.startsWith("\r\n", i)) {
    i += 2;
    if (i > limits.maxRequestLine) return 414;
  }
  const lineEnd = p.indexOf("\r\n", i);
  // The request line's length does not count its CRLF (nor a CR that may be starting it).
  if (lineEnd < 0) return p.length - i - (p.endsWith("\r") ? 1 : 0) > limits.maxRequestLine ? 414 : -1;
  if (lineEnd - i > limits.maxRequestLine) return 414;
  const fieldsStart = lineEnd + 2;
  let pos = fieldsStart;
  let fields = 0;
  for (;;) {
    const e = p.indexOf("\r\n", pos);
    if (e < 0) return p.length - fieldsStart > limits.maxHeaderBytes ? 431 : -1;
    if (e + 2 - fieldsStart > limits.maxHeaderBytes) return 431;
    if (e === pos) return e + 2;
    if (++fields > limits.maxHeaders) return 431;
    pos = e + 2;
  }
}

function findHeadOutcome(parser: RequestParser, data: Uint8Array, n: number): number | 414 | 431 | string {
  const buf = new Uint8Array(n + 4);
  buf.set(data.subarray(0, n));
  buf.set(STALE, n);
  try {
    return parser.findHead(buf, 0, n);
  } catch (error) {
    if (error instanceof HttpError && (error.status === 414 || error.status === 431)) return error.status;
    return String(error);
  }
}

Deno.test("findHead: 414 and 431 as soon as the bytes so far exceed the limits", () => {
  const limits: ParserLimits = { maxRequestLine: 40, maxHeaderBytes: 64, maxHeaders: 3, maxBodyBytes: 100 };
  const parser = new RequestParser(limits);
  const line = (contentLength: number) => {
    const fixed = "GET / HTTP/1.1".length;
    return `GET /${"a".repeat(contentLength - fixed)} HTTP/1.1`;
  };
  // Request line (without its CRLF): up to 40 bytes is fine; 41 bytes → 414 at the 41st byte.
  for (const len of [38, 39, 40, 41, 60]) {
    for (const lead of ["", "\r\n\r\n"]) {
      const request = `${lead}${line(len)}\r\nHost: h\r\n\r\n`;
      const data = bytes(request);
      for (let n = 1; n <= data.length; n++) {
        const got = findHeadOutcome(parser, data, n);
        const tooLong = len > limits.maxRequestLine && n - lead.length > limits.maxRequestLine;
        if (tooLong) assert.equal(got, 414, `len ${len}, prefix ${n}`);
        else assert.equal(got, n === data.length ? n : -1, `len ${len}, prefix ${n}`);
      }
    }
  }
  // A request line that never ends: 414 once 41 bytes are in, not "when it ends".
  const endless = bytes("GET /" + "b".repeat(200));
  assert.equal(findHeadOutcome(parser, endless, 40), -1);
  assert.equal(findHeadOutcome(parser, endless, 41), 414);
  // Leading empty lines are bounded too.
  const blank = bytes("\r\n".repeat(30));
  assert.equal(findHeadOutcome(parser, blank, 40), -1);
  assert.equal(findHeadOutcome(parser, blank, 42), 414);
  // Header section (after the request line, blank line included): at most 64 bytes.
  for (const size of [63, 64, 65, 90]) {
    // "X: " + v + CRLF + CRLF = size
    const request = `GET / HTTP/1.1\r\nX: ${"v".repeat(size - 7)}\r\n\r\n`;
    const data = bytes(request);
    const rle = "GET / HTTP/1.1\r\n".length;
    for (let n = 1; n <= data.length; n++) {
      const got = findHeadOutcome(parser, data, n);
      if (size > 64 && n - rle > 64) assert.equal(got, 431, `size ${size}, prefix ${n}`);
      else assert.equal(got, n === data.length ? n : -1, `size ${size}, prefix ${n}`);
    }
  }
  const endlessField = bytes("GET / HTTP/1.1\r\nX: " + "c".repeat(200));
  assert.equal(findHeadOutcome(parser, endlessField, 16 + 64), -1);
  assert.equal(findHeadOutcome(parser, endlessField, 16 + 65), 431);
  // Fields: 3 are fine, the 4th line's LF → 431, even before the head is complete.
  const four = bytes("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n");
  assert.equal(findHeadOutcome(parser, four, four.length - 1), -1);
  assert.equal(findHeadOutcome(parser, four, four.length), 431);
  const three = bytes("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
  assert.equal(findHeadOutcome(parser, three, three.length), three.length);
});

Deno.test("findHead: limits, property: every prefix of a random request agrees with the limits' meaning", () => {
  const fieldLine = fc.tuple(
    fc.string({ unit: fc.constantFrom("a", "B", "-"), minLength: 1, maxLength: 8 }),
    fc.string({ unit: fc.constantFrom("v", " ", "\t", "\xe9"), maxLength: 30 }),
  ).map(([n, v]) => `${n}:${v}\r\n`);
  fc.assert(
    fc.property(
      fc.nat(3),
      fc.string({ unit: fc.constantFrom("a", "/", "?", "="), maxLength: 60 }),
      fc.array(fieldLine, { maxLength: 8 }),
      fc.boolean(),
      fc.record({
        maxRequestLine: fc.integer({ min: 16, max: 70 }),
        maxHeaderBytes: fc.integer({ min: 2, max: 120 }),
        maxHeaders: fc.integer({ min: 1, max: 6 }),
        maxBodyBytes: fc.constant(100),
      }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (blank, path, fields, complete, limits, cuts) => {
        const request = "\r\n".repeat(blank) + `GET /${path} HTTP/1.1\r\n` + fields.join("") +
          (complete ? "\r\n" : "");
        const data = bytes(request);
        const parser = new RequestParser(limits);
        let first414or431 = -1;
        for (let n = 0; n <= data.length; n++) {
          const expected = limitOracle(request.slice(0, n), limits);
          const got = findHeadOutcome(parser, data, n);
          assert.equal(got, expected, `prefix ${n} of ${JSON.stringify(request)}`);
          if (first414or431 < 0 && (expected === 414 || expected === 431)) first414or431 = n;
        }
        // Fed in random pieces, the error comes with the piece that crosses the limit.
        const fed = feed(parser, split(data, cuts));
        const status = statusOf(fed);
        if (first414or431 >= 0) {
          assert.equal(status, limitOracle(request.slice(0, first414or431), limits));
          let edge = 0;
          for (const piece of split(data, cuts)) {
            edge += piece.length;
            if (edge >= first414or431) break;
          }
          assert.equal(fed.received, edge, "the limit error came later than the piece that crossed it");
        }
      },
    ),
    { numRuns: RUNS },
  );
});

// ---- generated valid requests ----

const TARGET_CHARS: string[] = [];
for (let b = 0x21; b <= 0x7e; b++) if (b !== 0x23) TARGET_CHARS.push(String.fromCharCode(b));
const HOST_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".split("");
const SPECIAL = new Set(["host", "content-length", "transfer-encoding", "expect", "connection"]);

const randomCase = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((ups) =>
    Array.from(word, (c, i) => (ups[i] ? c.toUpperCase() : c.toLowerCase())).join("")
  );

type Form = "origin" | "absolute" | "asterisk";

interface Req {
  method: string;
  target: string;
  form: Form;
  version: string;
  /** Raw field lines: name, value as sent (with OWS). */
  fields: [string, string][];
  contentLength: number;
  host: string;
}

const request: fc.Arbitrary<Req> = fc
  .record({
    method: token.filter((m) => m !== "CONNECT"),
    form: fc.constantFrom<Form>("origin", "origin", "absolute", "asterisk"),
    path: fc.string({ unit: fc.constantFrom(...TARGET_CHARS), maxLength: 30 }),
    authority: fc.string({ unit: fc.constantFrom(..."abc.-:1".split("")), minLength: 1, maxLength: 10 }),
    version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.7"),
    others: fc.array(fc.tuple(token.filter((n) => !SPECIAL.has(n.toLowerCase())), fieldValue), {
      maxLength: 8,
    }),
    hostName: randomCase("host"),
    host: fc.string({ unit: fc.constantFrom(...HOST_CHARS), maxLength: 12 }),
    hostOws: fc.tuple(ows, ows),
    withHost10: fc.boolean(),
    cl: fc.option(fc.tuple(randomCase("content-length"), fc.nat(LIMITS.maxBodyBytes), fc.nat(2)), {
      nil: null,
    }),
    positions: fc.tuple(fc.nat(), fc.nat()),
  })
  .map((r) => {
    let method = r.method;
    let target: string;
    if (r.form === "origin") target = "/" + r.path;
    else if (r.form === "absolute") {
      const rest = r.path.replace(/^[^/?]*/, "");
      target = `http://${r.authority}${rest}`;
    } else {
      method = "OPTIONS";
      target = "*";
    }
    const fields: [string, string][] = r.others.map(([n, [a, v, b]]) => [n, a + v + b]);
    let contentLength = -1;
    if (r.version !== "HTTP/1.0" || r.withHost10) {
      fields.splice(r.positions[0] % (fields.length + 1), 0, [
        r.hostName,
        r.hostOws[0] + r.host + r.hostOws[1],
      ]);
    }
    if (r.cl !== null) {
      const [name, n, zeros] = r.cl;
      contentLength = n;
      fields.splice(r.positions[1] % (fields.length + 1), 0, [name, " " + "0".repeat(zeros) + String(n)]);
    }
    const hasHost = r.version !== "HTTP/1.0" || r.withHost10;
    return {
      method,
      target,
      form: r.form,
      version: r.version,
      fields,
      contentLength,
      host: hasHost ? r.host : "",
    };
  });

function render(r: Pick<Req, "method" | "target" | "version" | "fields">): string {
  return `${r.method} ${r.target} ${r.version}\r\n${r.fields.map(([n, v]) => `${n}:${v}\r\n`).join("")}\r\n`;
}

/** The path and query the parser owes for a target (RFC 9112 §3.2). */
function expectedPathQuery(r: Req): [string, string] {
  let p = r.target;
  if (r.form === "asterisk") return ["*", ""];
  if (r.form === "absolute") {
    const rest = p.slice(p.indexOf("://") + 3);
    const cut = rest.search(/[/?]/);
    p = cut < 0 ? "/" : rest.slice(cut);
    if (p.startsWith("?")) p = "/" + p;
  }
  const q = p.indexOf("?");
  return q < 0 ? [p, ""] : [p.slice(0, q), p.slice(q + 1)];
}

Deno.test("parseHead: random valid requests round-trip (whole and at random splits)", () => {
  fc.assert(
    fc.property(request, fc.array(fc.nat(), { maxLength: 12 }), (r, cuts) => {
      const text = render(r);
      const data = bytes(text);
      const head = parseWhole(data);
      const [path, query] = expectedPathQuery(r);
      assert.equal(head.method, r.method);
      assert.equal(head.target, r.target);
      assert.equal(head.path, path);
      assert.equal(head.query, query);
      assert.equal(head.version, r.version);
      assert.equal(head.minor, r.version === "HTTP/1.0" ? 0 : 1);
      assert.deepEqual(head.headers, r.fields.flatMap(([n, v]) => [n, trimOws(v)]));
      assert.equal(head.host, r.host);
      assert.equal(head.contentLength, r.contentLength);
      assert.equal(head.chunked, false);
      assert.equal(head.keepAlive, r.version !== "HTTP/1.0");
      assert.equal(head.length, data.length);
      for (const [n] of r.fields) {
        const first = r.fields.find(([m]) => m.toLowerCase() === n.toLowerCase())!;
        assert.equal(head.get(n.toUpperCase()), trimOws(first[1]));
      }
      const fed = feed(new RequestParser(LIMITS), split(data, cuts));
      assert.equal(fed.error, null);
      assert.deepEqual(snapshot(fed.head!), snapshot(head));
    }),
    { numRuns: RUNS },
  );
});

// ---- ambiguity vectors ----

const CTLS: string[] = [];
for (let b = 1; b < 0x20; b++) if (b !== 9 && b !== 10 && b !== 13) CTLS.push(String.fromCharCode(b));
CTLS.push("\x7f");

type Vector =
  | "bare LF ending a line"
  | "bare LF inside a line"
  | "bare CR in a value"
  | "bare CR in the target"
  | "CR ending a line"
  | "NUL"
  | "CTL in a value"
  | "CTL in a name"
  | "obs-fold"
  | "whitespace before the first field"
  | "whitespace before the colon"
  | "# in the target"
  | "conflicting Content-Length"
  | "Transfer-Encoding with Content-Length";

const VECTORS: Vector[] = [
  "bare LF ending a line",
  "bare LF inside a line",
  "bare CR in a value",
  "bare CR in the target",
  "CR ending a line",
  "NUL",
  "CTL in a value",
  "CTL in a name",
  "obs-fold",
  "whitespace before the first field",
  "whitespace before the colon",
  "# in the target",
  "conflicting Content-Length",
  "Transfer-Encoding with Content-Length",
];

function insertAt(s: string, at: number, what: string): string {
  const i = at % (s.length + 1);
  return s.slice(0, i) + what + s.slice(i);
}

/** Applies `vector` to `r`; returns the request's bytes and the status owed. */
function corrupt(r: Req, vector: Vector, n: number[], ctl: string, fold: string): [string, number] {
  const fields = r.fields.map(([a, b]) => [a, b] as [string, string]);
  const pick = (k: number) => n[k] % Math.max(fields.length, 1);
  const withFields = (f: [string, string][]) => render({ ...r, fields: f });
  switch (vector) {
    case "bare LF ending a line": {
      const text = withFields(fields);
      const ends: number[] = [];
      for (let i = text.indexOf("\r\n"); i >= 0; i = text.indexOf("\r\n", i + 1)) ends.push(i);
      const at = ends[n[0] % ends.length];
      return [text.slice(0, at) + text.slice(at + 1), 400];
    }
    case "bare LF inside a line": {
      if (fields.length === 0) {
        return [render({ ...r, target: r.target + "\n" }), 400];
      }
      const i = pick(0);
      fields[i][1] = insertAt(fields[i][1], n[1], "\n");
      return [withFields(fields), 400];
    }
    case "bare CR in a value": {
      if (fields.length === 0) return [render({ ...r, target: insertAt(r.target, n[1], "\r") }), 400];
      const i = pick(0);
      fields[i][1] = insertAt(fields[i][1], n[1], "\r");
      return [withFields(fields), 400];
    }
    case "bare CR in the target":
      return [render({ ...r, target: insertAt(r.target, n[1], "\r") }), 400];
    case "CR ending a line": {
      // A CR alone ends a line that more lines follow: never the last field line or the blank line.
      if (fields.length === 0) fields.push(["X", " a"]);
      const text = withFields(fields);
      const ends: number[] = [];
      for (let i = text.indexOf("\r\n"); i >= 0; i = text.indexOf("\r\n", i + 1)) ends.push(i);
      const at = ends[n[0] % (ends.length - 2)];
      return [text.slice(0, at + 1) + text.slice(at + 2), 400];
    }
    case "NUL": {
      const where = n[2] % 3;
      if (where === 0 || fields.length === 0) {
        return [render({ ...r, target: insertAt(r.target, n[1], "\0") }), 400];
      }
      const i = pick(0);
      fields[i][where === 1 ? 0 : 1] = insertAt(fields[i][where === 1 ? 0 : 1], n[1], "\0");
      return [withFields(fields), 400];
    }
    case "CTL in a value": {
      if (fields.length === 0) fields.push(["X", ""]);
      const i = pick(0);
      fields[i][1] = insertAt(fields[i][1], n[1], ctl);
      return [withFields(fields), 400];
    }
    case "CTL in a name": {
      if (fields.length === 0) fields.push(["X", ""]);
      const i = pick(0);
      fields[i][0] = insertAt(fields[i][0], n[1], ctl);
      return [withFields(fields), 400];
    }
    case "obs-fold": {
      if (fields.length === 0) fields.push(["X", " a"]);
      const i = pick(0);
      fields[i][1] += "\r\n" + fold + "continued";
      return [withFields(fields), 400];
    }
    case "whitespace before the first field":
      return [withFields([[fold + "X", " y"], ...fields]), 400];
    case "whitespace before the colon": {
      if (fields.length === 0) fields.push(["X", " a"]);
      const i = pick(0);
      fields[i][0] += fold;
      return [withFields(fields), 400];
    }
    case "# in the target":
      return [render({ ...r, target: insertAt(r.target, n[1], "#") }), 400];
    case "conflicting Content-Length": {
      const rest = fields.filter(([a]) => a.toLowerCase() !== "content-length");
      const a = n[1] % 1000;
      const b = a + 1 + (n[2] % 1000);
      const [x, y] = n[0] % 2 === 0 ? [a, b] : [b, a];
      if (n[3] % 3 === 0) rest.splice(n[4] % (rest.length + 1), 0, ["Content-Length", ` ${x}, ${y}`]);
      else {
        rest.splice(n[4] % (rest.length + 1), 0, ["Content-Length", ` ${x}`]);
        rest.splice(n[5] % (rest.length + 1), 0, ["content-length", ` ${y}`]);
      }
      return [withFields(rest), 400];
    }
    case "Transfer-Encoding with Content-Length": {
      const rest = fields.filter(([a]) => a.toLowerCase() !== "content-length");
      rest.splice(n[4] % (rest.length + 1), 0, ["Transfer-Encoding", " chunked"]);
      rest.splice(n[5] % (rest.length + 1), 0, ["Content-Length", ` ${n[1] % 100}`]);
      return [withFields(rest), 400];
    }
  }
}

Deno.test("parseHead: a valid request corrupted with an ambiguity vector is refused, never parsed", () => {
  fc.assert(
    fc.property(
      request,
      fc.constantFrom(...VECTORS),
      fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
      fc.constantFrom(...CTLS),
      fc.constantFrom(" ", "\t", "  "),
      fc.array(fc.nat(), { maxLength: 8 }),
      (r, vector, n, ctl, fold, cuts) => {
        const [text, status] = corrupt(r, vector, n, ctl, fold);
        const data = bytes(text);
        const parser = new RequestParser(LIMITS);
        const whole = feed(parser, [data]);
        assert.equal(statusOf(whole), status, `${vector}: ${JSON.stringify(text)} → ${String(whole.error)}`);
        const pieces = feed(parser, split(data, cuts));
        assert.equal(statusOf(pieces), status, `${vector} (split): ${JSON.stringify(text)}`);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("parseHead: fixed refusals — request line, version, Host, expectations", () => {
  const cases: [string, number][] = [
    ["GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400],
    ["GET /\r\n\r\n", 400],
    ["GET / http/1.1\r\nHost: h\r\n\r\n", 400],
    ["GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505],
    ["GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505],
    ["G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501],
    ["GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400],
    ["GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: h/p\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: h\r\n: empty-name\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n", 417],
    ["GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n", 417],
    ["POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000001\r\n\r\n", 413],
  ];
  for (const [text, status] of cases) {
    assert.throws(() => parseWhole(text), isHttpError(status), JSON.stringify(text));
  }
  // Accepted: HTTP/1.0 without Host, Expect ignored in 1.0, minor versions above 1 as 1.1.
  assert.equal(parseWhole("GET / HTTP/1.0\r\n\r\n").host, "");
  assert.equal(parseWhole("GET / HTTP/1.0\r\nExpect: whatever\r\n\r\n").expectContinue, false);
  assert.equal(parseWhole("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n").expectContinue, true);
  assert.equal(parseWhole("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive, true);
  assert.equal(parseWhole("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, close\r\n\r\n").keepAlive, false);
});

// ---- bare CR (RFC 9112 §2.2: a recipient of a bare CR must refuse it or read it as SP; we refuse) ----

/** The error `parseWhole` throws for `text`, which must be an HttpError. */
function refusal(text: string): HttpError {
  try {
    parseWhole(text);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new assert.AssertionError({ message: `accepted: ${JSON.stringify(text)}` });
}

Deno.test("parseHead: a bare CR is refused wherever it stands, and told apart from the CR of a CRLF", () => {
  const bare: string[] = [
    "GET / HTTP/1.1\rHost: x\r\n\r\n", // a CR alone ending the request line
    "GET / HTTP/1.1\r\r\nHost: x\r\n\r\n", // a CR before the line's CRLF
    "G\rET / HTTP/1.1\r\nHost: x\r\n\r\n", // in the method
    "GET\r/ HTTP/1.1\r\nHost: x\r\n\r\n", // in place of the first space
    "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", // in the target
    "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", // ending the target
    "GET / HTTP/1\r.1\r\nHost: x\r\n\r\n", // in the version
    "\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", // before the request line
    "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", // a CR alone ending a field line
    "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", // a CR before a field line's CRLF
    "GET / HTTP/1.1\r\nHo\rst: x\r\n\r\n", // in a field name
    "GET / HTTP/1.1\r\nHost\r: x\r\n\r\n", // between a name and its colon
    "GET / HTTP/1.1\r\nHost:\rx\r\n\r\n", // right after the colon
    "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", // in a value
    "GET / HTTP/1.1\r\nHost: x\r\n\r\r\n\r\n", // a line of a CR and CRLF
  ];
  for (const text of bare) {
    const error = refusal(text);
    assert.equal(error.status, 400, JSON.stringify(text));
    assert.match(error.message, /^bare CR in (the request line|a header field line)/, JSON.stringify(text));
  }
  // A CR right before the LF ends the line; what is wrong there is named for what it is.
  const ends: [string, RegExp][] = [
    ["GET /\r\nHost: x\r\n\r\n", /^request line without an HTTP version/],
    ["GET / HTTP/1.1\r\nX\r\nHost: x\r\n\r\n", /^header field line without a colon/],
    ["GET / HTTP/1.1 \r\nHost: x\r\n\r\n", /^malformed HTTP version/],
    ["GET / HTTP/1\r\nHost: x\r\n\r\n", /^malformed HTTP version/],
  ];
  for (const [text, message] of ends) {
    const error = refusal(text);
    assert.equal(error.status, 400, JSON.stringify(text));
    assert.match(error.message, message, JSON.stringify(text));
  }
  assert.deepEqual(parseWhole("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\r\n").headers, ["Host", "x", "X", "a"]);
});

Deno.test("parseHead: property — a CR inserted anywhere in a valid head is a bare CR: 400, whole and at any split", () => {
  fc.assert(
    fc.property(request, fc.nat(), fc.array(fc.nat(), { maxLength: 8 }), (r, at, cuts) => {
      const text = render(r);
      // Anywhere before the blank line's CR (there, the blank line would no longer be blank).
      const i = at % (text.length - 2);
      const data = bytes(text.slice(0, i) + "\r" + text.slice(i));
      const parser = new RequestParser(LIMITS);
      const whole = feed(parser, [data]);
      assert.equal(statusOf(whole), 400, `${JSON.stringify(data)}: ${String(whole.error)}`);
      assert.match((whole.error as HttpError).message, /^bare CR/, JSON.stringify(latin1(data)));
      const pieces = feed(parser, split(data, cuts));
      assert.equal(statusOf(pieces), 400);
      assert.equal((pieces.error as HttpError).message, (whole.error as HttpError).message);
    }),
    { numRuns: 400 },
  );
});

// ---- Content-Length / Transfer-Encoding against RFC 9112 §6.1 and §6.3 ----

/** Elements of a list-based field (RFC 9110 §5.6.1): split on commas, OWS trimmed, empty ones ignored. */
function listElements(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map(trimOws).filter((e) => e !== "");
}

/** transfer-coding = token *( OWS ";" OWS transfer-parameter ), transfer-parameter = token BWS "=" BWS ( token / quoted-string ). */
const CODING_RE =
  /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)((?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"[^"]*"))*)$/;

/**
 * The outcomes RFC 9112 allows for the framing of a request with these
 * fields: `len:N`, `chunked`, or a status. Where the RFC gives a choice, every
 * choice is in the set.
 */
function rfcFraming(minor: 0 | 1, fields: readonly [string, string][], maxBody: number): Set<string> {
  const te = fields.filter(([n]) => n.toLowerCase() === "transfer-encoding").map(([, v]) => trimOws(v));
  const cl = fields.filter(([n]) => n.toLowerCase() === "content-length").map(([, v]) => trimOws(v));
  if (te.length > 0) {
    // §6.1: Transfer-Encoding in HTTP/1.0: the framing is faulty.
    if (minor === 0) return new Set(["400"]);
    const codings = listElements(te);
    const parsed = codings.map((c) => CODING_RE.exec(c));
    // §6.3 item 4: chunked must be the final coding of a request, else 400.
    if (parsed.length === 0 || parsed.some((m) => m === null)) return new Set(["400"]);
    const names = parsed.map((m) => m![1].toLowerCase());
    if (names[names.length - 1] !== "chunked") return new Set(["400"]);
    // §7: chunked applied more than once is not a valid message.
    if (names.filter((c) => c === "chunked").length > 1) return new Set(["400"]);
    // §6.1: a coding the server does not understand: SHOULD 501. chunked takes no parameters.
    const unknown = names.some((c) => c !== "chunked");
    const params = parsed.some((m) => m![2] !== "");
    const outcome = new Set(unknown ? ["501"] : ["chunked"]);
    if (params) { for (const o of ["400", "501"]) outcome.add(o); // a parameter on chunked: undefined, refusable
     }
    // §6.3 item 3: with Content-Length too, the server MAY reject (and MUST close).
    if (cl.length > 0) outcome.add("400");
    return outcome;
  }
  if (cl.length > 0) {
    // §6.3 item 5 and RFC 9110 §8.6: Content-Length = 1*DIGIT; a list of one repeated value MAY be collapsed.
    const elements = cl.flatMap((v) => v.split(",")).map(trimOws);
    if (elements.some((e) => !/^[0-9]+$/.test(e))) return new Set(["400"]);
    const values = new Set(elements.map((e) => BigInt(e)));
    if (values.size > 1) return new Set(["400"]);
    const n = [...values][0];
    if (n > BigInt(maxBody)) return new Set(["413", "400"]);
    return new Set(elements.length > 1 ? [`len:${n}`, "400"] : [`len:${n}`]);
  }
  // §6.3 item 7: a request with neither has no body.
  return new Set(["len:0"]);
}

function ourFraming(minor: 0 | 1, fields: readonly [string, string][]): string {
  const text = render({
    method: "POST",
    target: "/",
    version: `HTTP/1.${minor}`,
    fields: [["Host", " h"], ...fields],
  });
  try {
    const head = parseWhole(text);
    return head.chunked ? "chunked" : `len:${Math.max(head.contentLength, 0)}`;
  } catch (error) {
    if (error instanceof HttpError) return String(error.status);
    throw error;
  }
}

const CL_VALUES = [
  "0",
  "5",
  "005",
  "5, 5",
  "5,5",
  "5, 6",
  "",
  "abc",
  "-1",
  "+5",
  "5.0",
  "0x5",
  "5 5",
  ",5",
  "5,",
  "1e3",
  "99999999999999999999",
  "2000000",
];
const TE_VALUES = [
  "chunked",
  "Chunked",
  "CHUNKED",
  "gzip, chunked",
  "chunked, gzip",
  "gzip",
  "identity",
  "chunked, chunked",
  "",
  ",chunked",
  "chunked,",
  "chunked;foo=bar",
  "x-custom, chunked",
  "deflate,chunked",
  "chunked , ",
  "chu nked",
];
const FRAMING_FIELDS: [string, string][] = [
  ...CL_VALUES.map((v): [string, string] => ["Content-Length", " " + v]),
  ...TE_VALUES.map((v): [string, string] => ["Transfer-Encoding", " " + v]),
];

Deno.test("framing: Content-Length / Transfer-Encoding combinations agree with RFC 9112 §6.3 (exhaustive, up to two fields)", () => {
  const mismatches: string[] = [];
  let checked = 0;
  const combos: [string, string][][] = [[]];
  for (const a of FRAMING_FIELDS) {
    combos.push([a]);
    for (const b of FRAMING_FIELDS) combos.push([a, b]);
  }
  for (const minor of [0, 1] as const) {
    for (const fields of combos) {
      const allowed = rfcFraming(minor, fields, LIMITS.maxBodyBytes);
      const got = ourFraming(minor, fields);
      checked++;
      if (!allowed.has(got)) {
        mismatches.push(
          `HTTP/1.${minor} ${JSON.stringify(fields)}: ours ${got}, RFC ${[...allowed].join("|")}`,
        );
      }
    }
  }
  assert.ok(checked > 2000);
  assert.deepEqual(mismatches, []);
});

Deno.test("framing: random combinations of up to four framing fields, names in any case, agree with RFC 9112 §6.3", () => {
  const field = fc.tuple(fc.constantFrom(...FRAMING_FIELDS), fc.boolean(), ows).chain((
    [[name, value], upper, pad],
  ) => randomCase(name).map((n): [string, string] => [upper ? name : n, value + pad]));
  fc.assert(
    fc.property(fc.constantFrom<0 | 1>(0, 1), fc.array(field, { maxLength: 4 }), (minor, fields) => {
      const allowed = rfcFraming(minor, fields, LIMITS.maxBodyBytes);
      const got = ourFraming(minor, fields);
      assert.ok(
        allowed.has(got),
        `HTTP/1.${minor} ${JSON.stringify(fields)}: ours ${got}, RFC ${[...allowed]}`,
      );
    }),
    { numRuns: 300 },
  );
});

// Known deviations (see the report): these fail until the parser is fixed.

Deno.test("BUG framing: Content-Length with an obs-text 0xA0 byte is invalid (RFC 9112 §6.3 item 5: MUST 400)", () => {
  // parseContentLength trims each element with String.prototype.trim, which strips U+00A0.
  for (const v of ["5\xa0", "\xa05", "5,\xa05"]) {
    assert.deepEqual(rfcFraming(1, [["Content-Length", v]], LIMITS.maxBodyBytes), new Set(["400"]));
    assert.equal(ourFraming(1, [["Content-Length", " " + v]]), "400", JSON.stringify(v));
  }
});

Deno.test("BUG framing: Transfer-Encoding 'chunked\\xA0' is not chunked (RFC 9112 §6.1: 501; §6.3 item 4: 400)", () => {
  // transferCodings trims with String.prototype.trim, which strips U+00A0: the coding is taken as chunked.
  for (const v of ["chunked\xa0", "\xa0chunked"]) {
    const allowed = rfcFraming(1, [["Transfer-Encoding", v]], LIMITS.maxBodyBytes);
    assert.ok(!allowed.has("chunked"));
    assert.ok(allowed.has(ourFraming(1, [["Transfer-Encoding", " " + v]])), JSON.stringify(v));
  }
});

Deno.test("BUG parseHead: a Host value outside the grammar of RFC 9110 §7.2 gets 400 (RFC 9112 §3.2: MUST)", () => {
  // Host = uri-host [ ":" port ], port = *DIGIT, reg-name = *( unreserved / pct-encoded / sub-delims ),
  // IP-literal = "[" ... "]". The parser only checks that every byte is one of those characters.
  for (const host of ["x:8o", "x:80:90", "[::1", "::1]", "%zz", "a[b]"]) {
    assert.throws(() => parseWhole(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`), isHttpError(400), host);
  }
});

Deno.test("parseHead: leading zeros do not count against the digit limit of Content-Length", () => {
  const limits: ParserLimits = {
    maxRequestLine: 8192,
    maxHeaderBytes: 16384,
    maxHeaders: 100,
    maxBodyBytes: 100,
  };
  const parser = new RequestParser(limits);
  const head = bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000000005\r\n\r\n");
  assert.equal(parser.parseHead(head, parser.findHead(head, 0, head.length)).contentLength, 5);
});

Deno.test("RequestParser: a target spelt like the last one is the same string; a different one is read anew", () => {
  const parser = new RequestParser(LIMITS);
  const parse = (target: string) => {
    const bytes = new TextEncoder().encode(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    return parser.parseHead(bytes, parser.findHead(bytes, 0, bytes.length));
  };
  assert.equal(parse("/items/1?a=b").target, "/items/1?a=b");
  assert.equal(parse("/items/1?a=b").path, "/items/1");
  assert.equal(parse("/items/2?a=b").target, "/items/2?a=b");
  assert.equal(parse("/items/2").query, "");
  assert.equal(parse("/items/2?a=b").query, "a=b");
});
