/**
 * The chunked decoder (`wsgi/chunked_decoder.ts`), pure: no sockets.
 *
 * - generated chunked bodies (sizes, extensions, trailers) at random splits
 *   and byte by byte: the same data, trailers and stopping point;
 * - its errors, fed whole, byte by byte and at random splits, never reading
 *   outside `[start, end)`;
 * - the body limit at the size line that crosses it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../../wsgi/mod.ts";
import { ChunkedDecoder } from "../../wsgi/chunked_decoder.ts";
import type { ParserLimits } from "../../wsgi/http_parser.ts";
import {
  byteByByte,
  bytes,
  FIELD_CHARS,
  fieldValue,
  isHttpError,
  latin1,
  LIMITS,
  RUNS,
  split,
  token,
  trimOws,
} from "./parser_suite.ts";

/** A view of `real` that throws when a byte outside `window` is read. */
function guarded(real: Uint8Array, window: { start: number; end: number }): Uint8Array {
  return new Proxy(real, {
    get(target, key) {
      if (typeof key === "string" && key !== "" && /^[0-9]+$/.test(key)) {
        const i = Number(key);
        if (i < window.start || i >= window.end) {
          throw new Error(`decode read buf[${i}] outside [${window.start}, ${window.end})`);
        }
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

interface Decoded {
  data: Uint8Array;
  trailers: string[];
  /** Where decoding stopped (relative to the start of the stream). */
  stop: number;
  done: boolean;
  error: unknown;
  /** Bytes fed when done became true (or when the error was thrown). */
  fedAt: number;
  /** Whether done was ever true before the last body byte was fed. */
  earlyDone: boolean;
}

/**
 * Feeds `pieces` to a decoder the way `RequestBody` does: the buffer grows,
 * `decode` is called on `[pos, end)` until it is done or all is consumed;
 * reads outside that window throw.
 */
function decodePieces(pieces: readonly Uint8Array[], limits: ParserLimits, bodyLength = Infinity): Decoded {
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const offset = 7;
  const real = new Uint8Array(offset + total + 16).fill(0x0a);
  const window = { start: 0, end: 0 };
  const buf = guarded(real, window);
  const decoder = new ChunkedDecoder(limits);
  const out: number[] = [];
  let pos = offset;
  let end = offset;
  let earlyDone = false;
  try {
    for (const piece of pieces) {
      real.set(piece, end);
      end += piece.length;
      while (pos < end && !decoder.done) {
        window.start = pos;
        window.end = end;
        const next = decoder.decode(buf, pos, end);
        assert.ok(next > pos || decoder.done, "decode made no progress");
        assert.ok(next <= end);
        if (decoder.dataEnd > decoder.dataStart) {
          assert.ok(decoder.dataStart >= pos && decoder.dataEnd <= next);
          out.push(...real.subarray(decoder.dataStart, decoder.dataEnd));
        }
        pos = next;
      }
      if (decoder.done) {
        if (end - offset < bodyLength) earlyDone = true;
        break;
      }
    }
  } catch (error) {
    return {
      data: Uint8Array.from(out),
      trailers: decoder.trailers,
      stop: pos - offset,
      done: decoder.done,
      error,
      fedAt: end - offset,
      earlyDone,
    };
  }
  // Once done, decode consumes nothing more.
  if (decoder.done && pos < end) {
    window.start = pos;
    window.end = end;
    assert.equal(decoder.decode(buf, pos, end), pos);
    assert.equal(decoder.dataEnd, decoder.dataStart);
  }
  return {
    data: Uint8Array.from(out),
    trailers: decoder.trailers,
    stop: pos - offset,
    done: decoder.done,
    error: null,
    fedAt: end - offset,
    earlyDone,
  };
}

const EXTENSIONS = [
  "",
  "",
  ";a=b",
  ";x",
  " ;x",
  "\t;x",
  "; a = b",
  ';q="quoted ; value"',
  ";a=b;c",
  ';a="caf\xe9 \\" \\\xe9";b',
  ';a="" ;b= c',
];

const chunkedBody = fc.record({
  body: fc.uint8Array({ maxLength: 300 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  exts: fc.array(fc.constantFrom(...EXTENSIONS), { minLength: 10, maxLength: 10 }),
  zeros: fc.array(fc.nat(3), { minLength: 10, maxLength: 10 }),
  upper: fc.boolean(),
  trailers: fc.array(
    fc.tuple(token, fieldValue).map(([n, [a, v, b]]): [string, string] => [n, a + v + b]),
    { maxLength: 3 },
  ),
});

function encodeChunked(c: {
  body: Uint8Array;
  cuts: number[];
  exts: string[];
  zeros: number[];
  upper: boolean;
  trailers: [string, string][];
}): string {
  const points = [...new Set(c.cuts.map((x) => x % (c.body.length + 1)))].filter((x) =>
    x > 0 && x < c.body.length
  )
    .sort((a, b) => a - b);
  const bounds = [0, ...points, c.body.length];
  let out = "";
  for (let i = 0; i + 1 < bounds.length; i++) {
    const chunk = c.body.subarray(bounds[i], bounds[i + 1]);
    if (chunk.length === 0) continue;
    let size = "0".repeat(c.zeros[i % 10]) + chunk.length.toString(16);
    size = c.upper ? size.toUpperCase() : size;
    out += `${size}${c.exts[i % 10]}\r\n${latin1(chunk)}\r\n`;
  }
  out += `${"0".repeat(c.zeros[9])}0${c.exts[9]}\r\n`;
  for (const [n, v] of c.trailers) out += `${n}:${v}\r\n`;
  return out + "\r\n";
}

Deno.test("ChunkedDecoder: random bodies, chunk sizes, extensions and trailers at random splits", () => {
  fc.assert(
    fc.property(chunkedBody, fc.array(fc.nat(), { maxLength: 16 }), (c, splits) => {
      const encoded = encodeChunked(c);
      const pipelined = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
      const data = bytes(encoded + pipelined);
      const result = decodePieces(split(data, splits), LIMITS, encoded.length);
      assert.equal(result.error, null, `${JSON.stringify(encoded)}: ${String(result.error)}`);
      assert.ok(result.done);
      assert.ok(!result.earlyDone, "done before the last byte of the body arrived");
      assert.ok(result.fedAt >= encoded.length);
      assert.equal(result.stop, encoded.length, "decoding must stop right after the body");
      assert.deepEqual(result.data, c.body);
      assert.deepEqual(result.trailers, c.trailers.flatMap(([n, v]) => [n, trimOws(v)]));
      // Fed byte by byte: done exactly with the last byte of the body.
      const byByte = decodePieces(
        Array.from(bytes(encoded), (b) => Uint8Array.of(b)),
        LIMITS,
        encoded.length,
      );
      assert.equal(byByte.fedAt, encoded.length);
      assert.deepEqual(byByte.data, c.body);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("ChunkedDecoder: a prefix of a body is never done", () => {
  const encoded = bytes("5;a=b\r\nhello\r\n1\r\n!\r\n0\r\nX: y\r\n\r\n");
  for (let n = 0; n < encoded.length; n++) {
    const r = decodePieces([encoded.subarray(0, n)], LIMITS);
    assert.equal(r.error, null);
    assert.equal(r.done, false, `prefix ${n}`);
  }
  assert.equal(decodePieces([encoded], LIMITS).done, true);
});

const SMALL: ParserLimits = { maxRequestLine: 64, maxHeaderBytes: 32, maxHeaders: 2, maxBodyBytes: 10 };

const CHUNKED_ERRORS: [string, string, number, ParserLimits?][] = [
  ["size not hex", "g\r\n", 400],
  ["empty size", "\r\nhello\r\n0\r\n\r\n", 400],
  ["negative size", "-5\r\nhello\r\n0\r\n\r\n", 400],
  ["space before size", " 5\r\nhello\r\n0\r\n\r\n", 400],
  ["0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400],
  ["invalid byte after size", "5x\r\nhello\r\n0\r\n\r\n", 400],
  ["13 hex digits", "1000000000000\r\n", 400],
  ["13 significant hex digits after leading zeros", "0001000000000000\r\n", 400],
  ["whitespace after the size without an extension", "5 \r\nhello\r\n0\r\n\r\n", 400],
  ["20 hex digits", "ffffffffffffffffffff\r\n", 400],
  ["data longer than size", "5\r\nhello!\r\n0\r\n\r\n", 400],
  ["missing CRLF after data", "5\r\nhello0\r\n\r\n", 400],
  ["a byte other than CR after data, then LF", "5\r\nhello!\n0\r\n\r\n", 400],
  ["CR without LF after data", "5\r\nhello\r0\r\n\r\n", 400],
  ["bare LF ending the size line", "5\nhello\r\n0\r\n\r\n", 400],
  ["bare LF after data", "5\r\nhello\n0\r\n\r\n", 400],
  ["bare LF after the last chunk", "0\n\r\n", 400],
  ["bare LF ending the body", "0\r\n\n", 400],
  ["bare LF in a trailer", "0\r\nX: y\n\r\n", 400],
  ["bare CR in the size line", "5\rhello\r\n0\r\n\r\n", 400],
  ["bare CR in a trailer", "0\r\nX: y\rz\r\n\r\n", 400],
  ["control byte in an extension", "5;a=\x01\r\nhello\r\n0\r\n\r\n", 400],
  ["NUL in an extension", "5;a=\x00b\r\nhello\r\n0\r\n\r\n", 400],
  ["DEL in an extension", "5;\x7f\r\nhello\r\n0\r\n\r\n", 400],
  ["NUL after the size", "5\x00\r\nhello\r\n0\r\n\r\n", 400],
  ["';' without an extension name", "5;\r\nhello\r\n0\r\n\r\n", 400],
  ["';' then whitespace and '=' without a name", "5; =x\r\nhello\r\n0\r\n\r\n", 400],
  ["';;'", "5;a;;b\r\nhello\r\n0\r\n\r\n", 400],
  ["';' without a name on the last chunk", "5\r\nhello\r\n0;\r\n\r\n", 400],
  ["unbalanced quote", '5;a="b\r\nhello\r\n0\r\n\r\n', 400],
  ["unbalanced quote after an escaped quote", '5;a="b\\"\r\nhello\r\n0\r\n\r\n', 400],
  ["unbalanced quote on the last chunk", '5\r\nhello\r\n0;a="\r\n\r\n', 400],
  ["'=' without a value", "5;a=\r\nhello\r\n0\r\n\r\n", 400],
  ["a name that is not a token", "5;\xe9\r\nhello\r\n0\r\n\r\n", 400],
  ["a token value with obs-text", "5;a=\xe9\r\nhello\r\n0\r\n\r\n", 400],
  ["two words for a name", "5;a b\r\nhello\r\n0\r\n\r\n", 400],
  ["whitespace after an extension name, then CRLF", "5;a \r\nhello\r\n0\r\n\r\n", 400],
  ["whitespace after an extension value, then CRLF", "5;a=b\t\r\nhello\r\n0\r\n\r\n", 400],
  ["a byte after a closing quote", '5;a="b"c\r\nhello\r\n0\r\n\r\n', 400],
  ["a control byte in a quoted value", '5;a="\x01"\r\nhello\r\n0\r\n\r\n', 400],
  ["a control byte in a quoted-pair", '5;a="\\\x01"\r\nhello\r\n0\r\n\r\n', 400],
  ["a bare LF in a quoted value", '5;a="b\nc"\r\nhello\r\n0\r\n\r\n', 400],
  ["obs-fold in the trailers", "0\r\nX: a\r\n b\r\n\r\n", 400],
  ["space before a trailer's colon", "0\r\nX : a\r\n\r\n", 400],
  ["NUL in a trailer value", "0\r\nX: a\x00b\r\n\r\n", 400],
  ["trailer without a colon", "0\r\nXa\r\n\r\n", 400],
  ["one-byte trailer line", "0\r\nX\r\n\r\n", 400],
  ["size line over maxRequestLine", "5;" + "e".repeat(80) + "\r\nhello\r\n0\r\n\r\n", 400, SMALL],
  ["one chunk over maxBodyBytes", "b\r\nhello world\r\n0\r\n\r\n", 413, SMALL],
  ["12-digit size over maxBodyBytes", "ffffffffffff\r\n", 413, SMALL],
  ["total over maxBodyBytes", "5\r\nhello\r\n5\r\nworld\r\n1\r\n!\r\n0\r\n\r\n", 413, SMALL],
  ["trailer section over maxHeaderBytes", "0\r\nX: " + "t".repeat(40) + "\r\n\r\n", 431, SMALL],
  [
    "trailer section over maxHeaderBytes in small fields",
    "0\r\nA: 12345678901\r\nB: 12345678901\r\nC: 123\r\n\r\n",
    431,
    {
      ...SMALL,
      maxHeaders: 10,
    },
  ],
  ["too many trailer fields", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, SMALL],
];

Deno.test("ChunkedDecoder: errors, fed whole and at random splits, never reading outside [start, end)", () => {
  for (const [what, body, status, limits] of CHUNKED_ERRORS) {
    const data = bytes(body);
    const whole = decodePieces([data], limits ?? LIMITS);
    assert.ok(whole.error !== null, `${what}: accepted`);
    isHttpError(status)(whole.error);
    assert.ok(!whole.done, `${what}: done`);
    const byByte = decodePieces(Array.from(data, (b) => Uint8Array.of(b)), limits ?? LIMITS);
    assert.ok(byByte.error !== null, `${what} (byte by byte): accepted`);
    isHttpError(status)(byByte.error);
  }
  fc.assert(
    fc.property(
      fc.constantFrom(...CHUNKED_ERRORS),
      fc.array(fc.nat(), { maxLength: 8 }),
      ([what, body, status, limits], cuts) => {
        const r = decodePieces(split(bytes(body), cuts), limits ?? LIMITS);
        assert.ok(r.error !== null, `${what}: accepted`);
        isHttpError(status)(r.error);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("ChunkedDecoder: the sum of chunk sizes over maxBodyBytes → 413 at the size line that crosses it", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 150 }),
      (sizes, max) => {
        const limits = { ...LIMITS, maxBodyBytes: max };
        let text = "";
        let sum = 0;
        let crossing = -1;
        let deliveredBefore = 0;
        for (const n of sizes) {
          if (crossing < 0 && sum + n > max) {
            crossing = text.length + n.toString(16).length + 2;
            deliveredBefore = sum;
          }
          sum += n;
          text += `${n.toString(16)}\r\n${"d".repeat(n)}\r\n`;
        }
        text += "0\r\n\r\n";
        const r = decodePieces([bytes(text)], limits);
        if (crossing < 0) {
          assert.equal(r.error, null);
          assert.equal(r.data.length, sum);
        } else {
          isHttpError(413)(r.error);
          assert.equal(
            r.data.length,
            deliveredBefore,
            "data of the chunks before the crossing one is delivered",
          );
          const byByte = decodePieces(Array.from(bytes(text), (b) => Uint8Array.of(b)), limits);
          isHttpError(413)(byByte.error);
          assert.equal(byByte.fedAt, crossing, "413 as soon as the size line that crosses the limit ends");
        }
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("ChunkedDecoder: leading zeros do not count against the 12 significant digits of a size", () => {
  const body = bytes("0000000000005\r\nhello\r\n0\r\n\r\n");
  const r = decodePieces([body], { ...LIMITS, maxBodyBytes: 100 });
  assert.equal(r.error, null);
  assert.equal(latin1(r.data), "hello");
});

// ---- chunk extensions (RFC 9112 §7.1.1) ----

/**
 * The model: `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
 * chunk-ext-val ] )`, name = token, val = token / quoted-string, with
 * quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ). A regex is fine here:
 * it is the test's oracle, not the parser.
 */
const TOKEN_RE = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED_RE = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const BWS_RE = "[ \\t]*";
const CHUNK_EXT = new RegExp(
  `^(?:${BWS_RE};${BWS_RE}${TOKEN_RE}(?:${BWS_RE}=${BWS_RE}(?:${TOKEN_RE}|${QUOTED_RE}))?)*$`,
);

/** What decoding `5<ext>\r\nhello\r\n0<ext2>\r\n\r\n` in `pieces` gives: the data, or the error's status and message. */
function withExtensions(ext: string, last: string, cuts: readonly number[] | "bytes"): string {
  const data = bytes(`5${ext}\r\nhello\r\n0${last}\r\n\r\n`);
  const r = decodePieces(cuts === "bytes" ? byteByByte(data) : split(data, cuts), LIMITS);
  if (r.error === null) return r.done ? `data ${latin1(r.data)}` : "incomplete";
  if (!(r.error instanceof HttpError)) throw r.error;
  return `${r.error.status} ${r.error.message}`;
}

const BWS = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 2 });
const QDTEXT_CHARS = FIELD_CHARS.filter((c) => c !== '"' && c !== "\\");
const quoted = fc
  .array(
    fc.oneof(
      fc.constantFrom(...QDTEXT_CHARS),
      fc.constantFrom(...FIELD_CHARS).map((c) => "\\" + c),
    ),
    { maxLength: 6 },
  )
  .map((parts) => `"${parts.join("")}"`);
/** One extension by the grammar, in parts so that a test can break one. */
const extension = fc.record({
  before: BWS,
  after: BWS,
  name: token,
  value: fc.option(fc.tuple(BWS, BWS, fc.oneof(token, quoted)), { nil: null }),
});
type Extension = typeof extension extends fc.Arbitrary<infer T> ? T : never;
const render = (e: Extension, name = e.name) =>
  `${e.before};${e.after}${name}${e.value === null ? "" : `${e.value[0]}=${e.value[1]}${e.value[2]}`}`;

Deno.test("chunk extensions: the three refusals, with their messages, whole, byte by byte and at every split", () => {
  const cases: [string, RegExp][] = [
    [";", /^400 chunk extension without a name/],
    ["; =x", /^400 chunk extension without a name/],
    [";a;", /^400 chunk extension without a name/],
    [';a="b', /^400 unbalanced quote in a chunk extension/],
    [';a="b\\"', /^400 unbalanced quote in a chunk extension/],
    [';a="b\\', /^400 unbalanced quote in a chunk extension/],
  ];
  for (const [ext, message] of cases) {
    for (const [first, last] of [[ext, ""], ["", ext]]) {
      const whole = withExtensions(first, last, []);
      assert.match(whole, message, JSON.stringify(ext));
      assert.equal(withExtensions(first, last, "bytes"), whole);
      const length = `5${first}\r\nhello\r\n0${last}\r\n\r\n`.length;
      for (let at = 0; at <= length; at++) {
        assert.equal(withExtensions(first, last, [at]), whole, `${JSON.stringify(ext)} split at ${at}`);
      }
    }
  }
});

Deno.test("chunk extensions: property — extensions by the grammar are accepted and ignored at any split", () => {
  fc.assert(
    fc.property(
      fc.array(extension, { maxLength: 3 }),
      fc.array(extension, { maxLength: 2 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (exts, lasts, cuts) => {
        const ext = exts.map((e) => render(e)).join("");
        const last = lasts.map((e) => render(e)).join("");
        assert.match(ext + last, /^[^\r\n]*$/);
        assert.equal(withExtensions(ext, last, []), "data hello", JSON.stringify([ext, last]));
        assert.equal(withExtensions(ext, last, cuts), "data hello");
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("chunk extensions: property — without a name, or with a quote left open, 400 at any split", () => {
  fc.assert(
    fc.property(
      fc.array(extension, { minLength: 1, maxLength: 3 }),
      fc.nat(),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 6 }),
      (exts, which, open, cuts) => {
        const k = which % exts.length;
        let broken: string;
        let message: RegExp;
        if (open) {
          // Drop the closing quote of a quoted value (the last extension's: the line ends inside the string).
          const e = exts[exts.length - 1];
          e.value = [e.value?.[0] ?? "", e.value?.[1] ?? "", `"${(e.value?.[2] ?? "").replaceAll('"', "")}`];
          broken = exts.map((x) => render(x)).join("");
          message = /^400 unbalanced quote in a chunk extension/;
        } else {
          broken = exts.map((x, i) => render(x, i === k ? "" : x.name)).join("");
          message = /^400 chunk extension without a name/;
        }
        const whole = withExtensions(broken, "", []);
        assert.match(whole, message, JSON.stringify(broken));
        assert.equal(withExtensions(broken, "", cuts), whole);
        assert.equal(withExtensions("", broken, cuts), withExtensions("", broken, []));
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("chunk extensions: property — any string of extension bytes is accepted exactly when the grammar says so", () => {
  // Bytes and grammar-shaped fragments, so that some strings are valid; no hex
  // digits first (right after the size they would be read as more of it).
  const fragment = fc.constantFrom(
    ...[" ", "\t", ";", "=", '"', "\\", "x", "y-", "\xe9", "\x01", ",", "@"],
    ...[";x", "=y", '"q"', ";x=y", ';x="a\\"b"', '="\\\xe9 "'],
  );
  fc.assert(
    fc.property(
      fc.array(fragment, { maxLength: 6 }).map((parts) => parts.join("")),
      fc.array(fc.nat(), { maxLength: 6 }),
      (ext, cuts) => {
        const whole = withExtensions(ext, "", []);
        if (CHUNK_EXT.test(ext)) assert.equal(whole, "data hello", JSON.stringify(ext));
        else assert.match(whole, /^400 /, JSON.stringify(ext));
        assert.equal(withExtensions(ext, "", cuts), whole, JSON.stringify(ext));
        assert.equal(withExtensions("", ext, cuts), whole.startsWith("400") ? whole : "data hello");
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("chunk extensions: a long valid extension still counts against the size line's limit", () => {
  const small = { ...LIMITS, maxRequestLine: 64 };
  const ok = bytes(`5;a="${"x".repeat(50)}"\r\nhello\r\n0\r\n\r\n`);
  assert.equal(decodePieces([ok], small).error, null);
  const long = bytes(`5;a="${"x".repeat(70)}"\r\nhello\r\n0\r\n\r\n`);
  for (const pieces of [[long], byteByByte(long)]) {
    const r = decodePieces(pieces, small);
    isHttpError(400)(r.error);
    assert.match((r.error as HttpError).message, /^chunk size line longer than 64 bytes/);
  }
});
