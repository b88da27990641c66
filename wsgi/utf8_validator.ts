/**
 * `Utf8Validator`: UTF-8 (RFC 3629) checked incrementally, as the bytes of a
 * text message arrive, failing at the first byte no valid text could hold.
 *
 * @module
 */

/** The classes of bytes the automaton tells apart (a column of the transition table each). */
const ASCII = 0, // 00-7F: a code point on its own
  CONT_LOW = 1, // 80-8F: a continuation byte, also the only one allowed after F4
  CONT_MID = 2, // 90-9F: a continuation byte, also allowed after ED and F0
  CONT_HIGH = 3, // A0-BF: a continuation byte, also allowed after E0 and F0
  LEAD2 = 4, // C2-DF: starts a 2-byte sequence
  LEAD_E0 = 5, // E0: a 3-byte sequence whose next byte is A0-BF (no overlongs)
  LEAD3 = 6, // E1-EC, EE-EF: a 3-byte sequence
  LEAD_ED = 7, // ED: a 3-byte sequence whose next byte is 80-9F (no surrogates)
  LEAD_F0 = 8, // F0: a 4-byte sequence whose next byte is 90-BF (no overlongs)
  LEAD4 = 9, // F1-F3: a 4-byte sequence
  LEAD_F4 = 10, // F4: a 4-byte sequence whose next byte is 80-8F (nothing above U+10FFFF)
  NEVER = 11, // C0, C1, F5-FF: in no valid text
  CLASSES = 12;

/**
 * States of the automaton, premultiplied by `CLASSES` so that a step is one
 * load: `TRANSITIONS[state + CLASS[b]]`.
 */
const ACCEPT = 0 * CLASSES, // on a code point boundary
  REJECT = 1 * CLASSES, // no valid text goes on like this
  NEED1 = 2 * CLASSES, // one more continuation byte
  NEED2 = 3 * CLASSES, // two more
  NEED2_E0 = 4 * CLASSES, // two more, the first A0-BF
  NEED2_ED = 5 * CLASSES, // two more, the first 80-9F
  NEED3 = 6 * CLASSES, // three more
  NEED3_F0 = 7 * CLASSES, // three more, the first 90-BF
  NEED3_F4 = 8 * CLASSES, // three more, the first 80-8F
  STATES = 9;

/** The class of each byte. */
const CLASS = new Uint8Array(256);
CLASS.fill(CONT_LOW, 0x80, 0x90).fill(CONT_MID, 0x90, 0xa0).fill(CONT_HIGH, 0xa0, 0xc0);
CLASS.fill(NEVER, 0xc0, 0xc2).fill(LEAD2, 0xc2, 0xe0).fill(LEAD3, 0xe1, 0xf0).fill(LEAD4, 0xf1, 0xf4);
CLASS.fill(NEVER, 0xf5, 0x100);
CLASS[0xe0] = LEAD_E0;
CLASS[0xed] = LEAD_ED;
CLASS[0xf0] = LEAD_F0;
CLASS[0xf4] = LEAD_F4;

/** The next state for each (state, class): `REJECT` unless listed below. */
const TRANSITIONS = new Uint8Array(STATES * CLASSES).fill(REJECT);
function allow(from: number, classes: readonly number[], to: number): void {
  for (const c of classes) TRANSITIONS[from + c] = to;
}
const ANY_CONT = [CONT_LOW, CONT_MID, CONT_HIGH];
allow(ACCEPT, [ASCII], ACCEPT);
allow(ACCEPT, [LEAD2], NEED1);
allow(ACCEPT, [LEAD3], NEED2);
allow(ACCEPT, [LEAD_E0], NEED2_E0);
allow(ACCEPT, [LEAD_ED], NEED2_ED);
allow(ACCEPT, [LEAD4], NEED3);
allow(ACCEPT, [LEAD_F0], NEED3_F0);
allow(ACCEPT, [LEAD_F4], NEED3_F4);
allow(NEED1, ANY_CONT, ACCEPT);
allow(NEED2, ANY_CONT, NEED1);
allow(NEED2_E0, [CONT_HIGH], NEED1);
allow(NEED2_ED, [CONT_LOW, CONT_MID], NEED1);
allow(NEED3, ANY_CONT, NEED2);
allow(NEED3_F0, [CONT_MID, CONT_HIGH], NEED2);
allow(NEED3_F4, [CONT_LOW], NEED2);

/**
 * Validates UTF-8 fed in pieces, as a DFA of one table load a byte (after
 * Björn Höhrmann's decoder), with a fast path over runs of ASCII. It refuses
 * a byte as soon as no valid text could continue with it (an overlong form,
 * a surrogate U+D800-DFFF, a code point above U+10FFFF, a stray or missing
 * continuation byte), even in the middle of a sequence split across pieces;
 * `complete` tells whether the bytes so far end on a code point boundary.
 *
 * @example
 * ```ts
 * import { Utf8Validator } from "./utf8_validator.ts";
 * const utf8 = new Utf8Validator();
 * const euro = new Uint8Array([0xe2, 0x82, 0xac]);
 * utf8.feed(euro, 0, 2); // true: a valid start…
 * utf8.complete; // false: …in the middle of "€"
 * utf8.feed(euro, 2, 3) && utf8.complete; // true
 * utf8.feed(new Uint8Array([0x61, 0xc0, 0x80]), 0, 3); // false: C0 is never valid
 * utf8.invalidAt; // 1
 * ```
 */
export class Utf8Validator {
  /** The index, in the bytes of the `feed` that failed, of the first invalid byte; -1 while valid. */
  invalidAt: number = -1;
  #state = ACCEPT;

  /** Whether no invalid byte was fed since the last `reset`. */
  get valid(): boolean {
    return this.#state !== REJECT;
  }

  /** Whether the bytes fed are valid and end on a code point boundary (a text may end here). */
  get complete(): boolean {
    return this.#state === ACCEPT;
  }

  /**
   * Checks `bytes[start, end)`, the next bytes of the text. Returns whether
   * they are still valid; when not, `invalidAt` is the index of the first
   * invalid byte and every later `feed` returns false until `reset`.
   */
  feed(bytes: Uint8Array, start: number, end: number): boolean {
    let state = this.#state;
    if (state === REJECT) return false;
    let i = start;
    while (i < end) {
      if (state === ACCEPT) {
        // Eight ASCII bytes a test while the text is plain ASCII.
        while (
          i + 8 <= end &&
          ((bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3] | bytes[i + 4] | bytes[i + 5] |
              bytes[i + 6] | bytes[i + 7]) & 0x80) === 0
        ) i += 8;
        while (i < end && bytes[i] < 0x80) i++;
        if (i === end) break;
      }
      state = TRANSITIONS[state + CLASS[bytes[i]]];
      if (state === REJECT) {
        this.#state = REJECT;
        this.invalidAt = i;
        return false;
      }
      i++;
    }
    this.#state = state;
    return true;
  }

  /** Starts over, for the next text. */
  reset(): void {
    this.#state = ACCEPT;
    this.invalidAt = -1;
  }
}
