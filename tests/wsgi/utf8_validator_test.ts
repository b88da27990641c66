/**
 * The incremental UTF-8 validator (`wsgi/utf8_validator.ts`), pure:
 *
 * - any text encoded by `TextEncoder` is valid and complete, under any split;
 * - the invalid sequences of the Autobahn suite (6.x) and others fail at
 *   their first impossible byte, whole and byte by byte;
 * - random bytes: the same verdict as a fatal `TextDecoder`, and the same
 *   first impossible byte as a fatal streaming one, under any split.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Utf8Validator } from "../../wsgi/utf8_validator.ts";
import { RUNS, split } from "./parser_suite.ts";

interface Verdict {
  /** The index of the first impossible byte, -1 if none. */
  invalidAt: number;
  complete: boolean;
}

/** Feeds `pieces` (consecutive parts of one stream) to a validator; `invalidAt` counts from the stream's start. */
function check(pieces: Uint8Array[]): Verdict {
  const utf8 = new Utf8Validator();
  let offset = 0;
  for (const piece of pieces) {
    if (!utf8.feed(piece, 0, piece.length)) {
      assert.equal(utf8.valid, false);
      assert.equal(utf8.complete, false);
      return { invalidAt: offset + utf8.invalidAt, complete: false };
    }
    offset += piece.length;
  }
  assert.equal(utf8.invalidAt, -1);
  return { invalidAt: -1, complete: utf8.complete };
}

/**
 * The reference: the first byte at which a fatal streaming `TextDecoder`
 * (WHATWG, the same bounds for the second byte) gives up, and whether the
 * whole decodes.
 */
function reference(bytes: Uint8Array): Verdict {
  for (let n = 1; n <= bytes.length; n++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
    } catch {
      return { invalidAt: n - 1, complete: false };
    }
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return { invalidAt: -1, complete: true };
  } catch {
    return { invalidAt: -1, complete: false };
  }
}

/** Bytes of valid text mixed with single arbitrary bytes: invalid, but often deep into the text. */
const mixed: fc.Arbitrary<Uint8Array> = fc.array(
  fc.oneof(
    fc.string({ unit: "binary", maxLength: 6 }).map((s) => Array.from(new TextEncoder().encode(s))),
    fc.integer({ min: 0, max: 255 }).map((b) => [b]),
    // The bytes at the edges of the classes: lead bytes with a narrowed second byte, continuation bounds.
    fc.constantFrom(0xe0, 0xed, 0xf0, 0xf4, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2).map((b) => [b]),
  ),
  { maxLength: 12 },
).map((parts) => Uint8Array.from(parts.flat()));

Deno.test("utf8: any text TextEncoder makes is valid and complete, under any split", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 64 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (s, cuts) => {
        const bytes = new TextEncoder().encode(s);
        assert.deepEqual(check(split(bytes, cuts)), { invalidAt: -1, complete: true });
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("utf8: a text cut anywhere is valid, and complete only at a character boundary", () => {
  for (const s of ["é", "€", "𝄞", "aκόσμε"]) {
    const bytes = new TextEncoder().encode(s);
    for (let cut = 1; cut < bytes.length; cut++) {
      const whole = check([bytes.subarray(0, cut)]);
      const inside = bytes[cut] >= 0x80 && bytes[cut] < 0xc0;
      assert.deepEqual(whole, { invalidAt: -1, complete: !inside }, `${s} cut at ${cut}`);
    }
  }
});

/** Invalid sequences and the index of their first impossible byte. */
const INVALID: [string, number[], number][] = [
  ["overlong 2-byte NUL", [0xc0, 0x80], 0],
  ["C1 never starts a character", [0xc1, 0xbf], 0],
  ["overlong 3-byte /", [0xe0, 0x80, 0xaf], 1],
  ["overlong 3-byte U+07FF", [0xe0, 0x9f, 0xbf], 1],
  ["overlong 4-byte", [0xf0, 0x80, 0x80, 0xaf], 1],
  ["overlong 4-byte U+FFFF", [0xf0, 0x8f, 0xbf, 0xbf], 1],
  ["surrogate U+D800", [0xed, 0xa0, 0x80], 1],
  ["surrogate U+DFFF", [0xed, 0xbf, 0xbf], 1],
  ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 1],
  ["F5 never starts a character", [0xf5, 0x80, 0x80, 0x80], 0],
  ["FF", [0xff], 0],
  ["FE", [0xfe], 0],
  ["lone continuation byte", [0x80], 0],
  ["continuation byte after ASCII", [0x61, 0x62, 0xbf], 2],
  ["missing continuation byte", [0xc3, 0x28], 1],
  ["3-byte sequence cut by ASCII", [0xe2, 0x82, 0x41], 2],
  ["4-byte sequence cut by a lead byte", [0xf0, 0x9f, 0x98, 0xf0], 3],
  // Autobahn 6.4.x (fail fast): "κόσμε", then an impossible byte (the rest, "-edited", is never needed).
  ["κόσμε + F4 90 80 80 (6.4.1)", [
    0xce,
    0xba,
    0xe1,
    0xbd,
    0xb9,
    0xcf,
    0x83,
    0xce,
    0xbc,
    0xce,
    0xb5,
    0xf4,
    0x90,
  ], 12],
  ["κόσμε + ED A0 80", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0], 12],
];

Deno.test("utf8: the well-known invalid sequences fail at their first impossible byte, whole and byte by byte", () => {
  for (const [name, list, at] of INVALID) {
    const bytes = Uint8Array.from(list);
    assert.equal(reference(bytes).invalidAt, at, `reference, ${name}`);
    assert.deepEqual(check([bytes]), { invalidAt: at, complete: false }, name);
    assert.deepEqual(
      check(Array.from(bytes, (b) => Uint8Array.of(b))),
      { invalidAt: at, complete: false },
      name,
    );
    // Nothing before the impossible byte is refused.
    assert.equal(check([bytes.subarray(0, at)]).invalidAt, -1, name);
  }
});

Deno.test("utf8: text ending in the middle of a character is not complete", () => {
  for (const list of [[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x61, 0xf4, 0x8f, 0xbf]]) {
    assert.deepEqual(check([Uint8Array.from(list)]), { invalidAt: -1, complete: false }, `${list}`);
  }
});

Deno.test("utf8: the boundaries of the code points are exact", () => {
  for (const cp of [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff]) {
    const bytes = new TextEncoder().encode(String.fromCodePoint(cp));
    assert.deepEqual(check([bytes]), { invalidAt: -1, complete: true }, cp.toString(16));
  }
});

Deno.test("utf8: an impossible byte anywhere in a run of ASCII is found at its index", () => {
  for (let at = 0; at < 40; at++) {
    for (const bad of [0x80, 0xc0, 0xff]) {
      const bytes = new Uint8Array(40).fill(0x61);
      bytes[at] = bad;
      const utf8 = new Utf8Validator();
      assert.equal(utf8.feed(bytes, 0, 40), false);
      assert.equal(utf8.invalidAt, at);
      // Fed from an offset: the index is still one of `bytes`.
      utf8.reset();
      assert.equal(utf8.feed(bytes, at > 3 ? 3 : 0, 40), false);
      assert.equal(utf8.invalidAt, at);
    }
  }
});

Deno.test("utf8: only [start, end) is read", () => {
  const bytes = Uint8Array.from([0xff, 0x61, 0xe2, 0x82, 0xac, 0xff]);
  const utf8 = new Utf8Validator();
  assert.equal(utf8.feed(bytes, 1, 5), true);
  assert.equal(utf8.complete, true);
  assert.equal(utf8.feed(bytes, 2, 4), true);
  assert.equal(utf8.complete, false);
});

Deno.test("utf8: after a failure every feed fails until reset", () => {
  const utf8 = new Utf8Validator();
  assert.equal(utf8.feed(Uint8Array.of(0x61, 0xc0), 0, 2), false);
  assert.equal(utf8.invalidAt, 1);
  assert.equal(utf8.feed(Uint8Array.of(0x61), 0, 1), false);
  assert.equal(utf8.invalidAt, 1);
  assert.equal(utf8.valid, false);
  utf8.reset();
  assert.equal(utf8.valid, true);
  assert.equal(utf8.invalidAt, -1);
  assert.equal(utf8.feed(Uint8Array.of(0x61), 0, 1), true);
  assert.equal(utf8.complete, true);
});

Deno.test("utf8: random bytes get the verdict of a fatal TextDecoder, at the same byte, under any split", () => {
  fc.assert(
    fc.property(
      fc.oneof(mixed, fc.uint8Array({ maxLength: 16 })),
      fc.array(fc.nat(), { maxLength: 6 }),
      (bytes, cuts) => {
        const expected = reference(bytes);
        assert.deepEqual(check([bytes]), expected);
        assert.deepEqual(check(split(bytes, cuts)), expected);
      },
    ),
    { numRuns: RUNS * 5 },
  );
});
