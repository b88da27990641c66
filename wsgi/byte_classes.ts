/**
 * The byte classes of HTTP/1.1 (RFC 9110, 5.6; RFC 9112) as lookup tables,
 * and the small byte helpers the request parser and the chunked decoder
 * share. A class test is one load (`TCHAR[b] === 1`): no regex, no branch per
 * character range.
 *
 * @module
 */

/**
 * Carriage return: a line ends with CR LF, and a CR anywhere else is refused.
 *
 * @example
 * ```ts
 * import { CR } from "./byte_classes.ts";
 * CR === "\r".charCodeAt(0); // true
 * ```
 */
export const CR = 13;

/**
 * Line feed: the byte that ends a line (after its CR).
 *
 * @example
 * ```ts
 * import { LF } from "./byte_classes.ts";
 * LF === "\n".charCodeAt(0); // true
 * ```
 */
export const LF = 10;

/**
 * Space: with {@linkcode HTAB}, the whitespace of OWS and BWS.
 *
 * @example
 * ```ts
 * import { SP } from "./byte_classes.ts";
 * SP === " ".charCodeAt(0); // true
 * ```
 */
export const SP = 32;

/**
 * Horizontal tab: with {@linkcode SP}, the whitespace of OWS and BWS.
 *
 * @example
 * ```ts
 * import { HTAB } from "./byte_classes.ts";
 * HTAB === "\t".charCodeAt(0); // true
 * ```
 */
export const HTAB = 9;

/** Builds a table holding 1 for each character of `chars`. */
function table(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * `tchar` of RFC 9110, 5.6.2: 1 for the bytes of a token (field names,
 * methods, transfer codings, chunk extension names and token values).
 *
 * @example
 * ```ts
 * import { TCHAR } from "./byte_classes.ts";
 * [TCHAR[0x41], TCHAR[0x3a]]; // [1, 0]: "A" is a tchar, ":" is not
 * ```
 */
export const TCHAR: Uint8Array = table("!#$%&'*+-.^_`|~" + ALNUM);

/**
 * 1 for the bytes allowed in a field value (RFC 9110, 5.5): VCHAR, obs-text,
 * SP and HTAB. Also the bytes allowed after the backslash of a quoted-pair.
 *
 * @example
 * ```ts
 * import { FIELD_BYTE } from "./byte_classes.ts";
 * [FIELD_BYTE[0xe9], FIELD_BYTE[0x0d], FIELD_BYTE[0x7f]]; // [1, 0, 0]
 * ```
 */
export const FIELD_BYTE = new Uint8Array(256);
for (let b = 0x21; b <= 0xff; b++) FIELD_BYTE[b] = b === 0x7f ? 0 : 1;
FIELD_BYTE[SP] = FIELD_BYTE[HTAB] = 1;

/**
 * `qdtext` of RFC 9110, 5.6.4: 1 for the bytes a quoted-string holds as they
 * are (a field byte other than `"` and `\`).
 *
 * @example
 * ```ts
 * import { QDTEXT } from "./byte_classes.ts";
 * [QDTEXT[0x61], QDTEXT[0x22], QDTEXT[0x5c]]; // [1, 0, 0]
 * ```
 */
export const QDTEXT: Uint8Array = FIELD_BYTE.slice();
QDTEXT[0x22] = QDTEXT[0x5c] = 0;

/**
 * 1 for the bytes allowed in a request target: visible ASCII (the parser
 * refuses a `#` on its own, with a message of its own).
 *
 * @example
 * ```ts
 * import { TARGET_BYTE } from "./byte_classes.ts";
 * [TARGET_BYTE[0x2f], TARGET_BYTE[0x20]]; // [1, 0]: "/" yes, a space no
 * ```
 */
export const TARGET_BYTE = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) TARGET_BYTE[b] = 1;

/**
 * 1 for the bytes of a reg-name (RFC 3986, 3.2.2): unreserved, sub-delims,
 * and the `%` of pct-encoded.
 *
 * @example
 * ```ts
 * import { REG_NAME_BYTE } from "./byte_classes.ts";
 * [REG_NAME_BYTE[0x2e], REG_NAME_BYTE[0x40]]; // [1, 0]: "." yes, "@" no
 * ```
 */
export const REG_NAME_BYTE: Uint8Array = table("-._~%!$&'()*+,;=" + ALNUM);

/**
 * The value of a hexadecimal digit byte (either case), -1 for any other byte.
 *
 * @example
 * ```ts
 * import { HEX } from "./byte_classes.ts";
 * [HEX[0x61], HEX[0x46], HEX[0x67]]; // [10, 15, -1]: "a", "F", "g"
 * ```
 */
export const HEX: Int8Array = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX["0123456789abcdef".charCodeAt(i)] = i;
  HEX["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Whether `b` is an ASCII digit.
 *
 * @example
 * ```ts
 * import { isDigit } from "./byte_classes.ts";
 * [isDigit(0x37), isDigit(0x61)]; // [true, false]
 * ```
 */
export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/**
 * A byte as two hex digits, for error messages.
 *
 * @example
 * ```ts
 * import { hexByte } from "./byte_classes.ts";
 * hexByte(0x0d); // "0d"
 * ```
 */
export function hexByte(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/**
 * Trims optional whitespace (SP and HTAB) only: `String.prototype.trim` also
 * strips U+00A0 and others, which would let `"3\xA0"` pass as a length.
 *
 * @example
 * ```ts
 * import { trimOWS } from "./byte_classes.ts";
 * trimOWS(" \tchunked\xa0 "); // "chunked\xa0"
 * ```
 */
export function trimOWS(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === SP || text.charCodeAt(start) === HTAB)) start++;
  while (end > start && (text.charCodeAt(end - 1) === SP || text.charCodeAt(end - 1) === HTAB)) end--;
  return text.slice(start, end);
}

/**
 * Whether `buf[start, end)` holds exactly the code points of `text` (all
 * <= 0xFF): how the parser reuses a string it made before instead of making
 * it again.
 *
 * @example
 * ```ts
 * import { sameText } from "./byte_classes.ts";
 * sameText(new TextEncoder().encode("GET /"), 4, 5, "/"); // true
 * ```
 */
export function sameText(buf: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (buf[start + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Case-insensitive comparison of the bytes at `buf[pos…]` with `word`, a
 * lower-case ASCII word of letters and `-`. The bytes must be known tchar
 * (a CR would pass for a `-`); the caller checks the length.
 *
 * @example
 * ```ts
 * import { equalsLower } from "./byte_classes.ts";
 * equalsLower(new TextEncoder().encode("Content-Length"), 0, "content-length"); // true
 * ```
 */
export function equalsLower(buf: Uint8Array, pos: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if ((buf[pos + i] | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Bytes as a string, one code point per byte (ASCII or ISO-8859-1).
 *
 * @example
 * ```ts
 * import { latin1 } from "./byte_classes.ts";
 * latin1(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 0, 4); // "café"
 * ```
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end - start >= 128) {
    return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  // Eight code points a call: about twice as fast as one at a time, and no array or view to make.
  let s = "";
  let i = start;
  for (; i + 8 <= end; i += 8) {
    s += String.fromCharCode(
      buf[i],
      buf[i + 1],
      buf[i + 2],
      buf[i + 3],
      buf[i + 4],
      buf[i + 5],
      buf[i + 6],
      buf[i + 7],
    );
  }
  for (; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}
