/**
 * Helpers shared by the pure parser tests (`http_parser_test.ts`,
 * `chunked_decoder_test.ts`, `field_line_test.ts`, `byte_classes_test.ts`):
 * byte strings, splits, the limits, and the generators of tokens and values.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../../wsgi/mod.ts";
import type { ParserLimits } from "../../wsgi/http_parser.ts";

export const LIMITS: ParserLimits = {
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBodyBytes: 1_000_000,
};

/** fast-check runs per property (each run is cheap: no sockets). */
export const RUNS = 200;

/** A string of code points 0-255 as bytes (ISO-8859-1). */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`not a byte: U+${c.toString(16)}`);
    out[i] = c;
  }
  return out;
}

/** Bytes as a string, one code point per byte. */
export function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

/** Splits `data` at `cuts` (any naturals, taken modulo its length + 1; repeats give empty pieces). */
export function split(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (data.length + 1)).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(data.subarray(last, p));
    last = p;
  }
  pieces.push(data.subarray(last));
  return pieces;
}

/** `data` one byte a piece. */
export function byteByByte(data: Uint8Array): Uint8Array[] {
  return Array.from(data, (b) => Uint8Array.of(b));
}

/** An `assert.throws` check: an HttpError with `status`. */
export function isHttpError(status: number): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof HttpError, `expected HttpError ${status}, got ${String(e)}`);
    assert.equal(e.status, status, `expected ${status}, got ${e.status}: ${e.message}`);
    return true;
  };
}

/** Trims SP and HTAB, as the parser trims field values. */
export function trimOws(v: string): string {
  return v.replace(/^[ \t]+/, "").replace(/[ \t]+$/, "");
}

export const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split(
  "",
);
/** The bytes of a field value: VCHAR, obs-text, SP, HTAB. */
export const FIELD_CHARS: string[] = [" ", "\t"];
for (let b = 0x21; b <= 0xff; b++) if (b !== 0x7f) FIELD_CHARS.push(String.fromCharCode(b));

export const token: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...TCHARS),
  minLength: 1,
  maxLength: 12,
});
export const ows: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 3 });
/** A field value as sent: leading OWS, the value, trailing OWS. */
export const fieldValue: fc.Arbitrary<[string, string, string]> = fc.tuple(
  ows,
  fc.string({ unit: fc.constantFrom(...FIELD_CHARS), maxLength: 24 }),
  ows,
);
