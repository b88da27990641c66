/**
 * The names most requests carry, made into strings once: parsing a common
 * method or field name allocates nothing, and a common field's value is
 * reused when it repeats the last one seen (Host, User-Agent, Accept… do).
 *
 * @module
 */
import { latin1, sameText } from "./byte_classes.ts";

/** Field names that come in most requests, as clients spell them (canonical; lower case is added). */
const COMMON_FIELDS = [
  "Host",
  "User-Agent",
  "Accept",
  "Accept-Encoding",
  "Accept-Language",
  "Connection",
  "Content-Length",
  "Content-Type",
  "Cookie",
  "Referer",
  "Origin",
  "Cache-Control",
  "Pragma",
  "Upgrade-Insecure-Requests",
  "Sec-Fetch-Dest",
  "Sec-Fetch-Mode",
  "Sec-Fetch-Site",
  "Sec-Fetch-User",
  "If-None-Match",
  "If-Modified-Since",
  "Authorization",
  "X-Forwarded-For",
  "X-Requested-With",
  "DNT",
];

/** Methods seen every request. */
const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"];

/**
 * A common field name, spelt one way, and the last value it came with (as a
 * string, and as the bytes it was made from, to compare the next one with).
 *
 * @example
 * ```ts
 * import { KnownFields } from "./known_names.ts";
 * const buf = new TextEncoder().encode("Host");
 * const host = new KnownFields().find(buf, 0, 4)!;
 * [host.name, host.value]; // ["Host", ""]
 * ```
 */
export interface KnownField {
  /** The name, as clients spell it. */
  readonly name: string;
  /** The last value seen with it. */
  value: string;
  /** The bytes of `value` (its first `length`): a load each to compare, where a string costs a call per character. */
  bytes: Uint8Array;
  /** How many of `bytes` are the value's. */
  length: number;
}

const NO_BYTES = new Uint8Array(0);

/**
 * The common field names in both spellings, looked up by the bytes of a name.
 * One table per parser: the last values are that parser's.
 *
 * @example
 * ```ts
 * import { KnownFields } from "./known_names.ts";
 * const known = new KnownFields();
 * const buf = new TextEncoder().encode("user-agent");
 * known.find(buf, 0, buf.length)?.name; // "user-agent"
 * ```
 */
export class KnownFields {
  /** The fields by the length of their name. */
  readonly #byLength: KnownField[][] = [];

  /** Creates the table, every value empty. */
  constructor() {
    for (const name of COMMON_FIELDS) {
      for (const spelling of [name, name.toLowerCase()]) {
        (this.#byLength[spelling.length] ??= []).push({
          name: spelling,
          value: "",
          bytes: NO_BYTES,
          length: 0,
        });
      }
    }
  }

  /** The common field spelt exactly as `buf[start, end)`, or `null`. */
  find(buf: Uint8Array, start: number, end: number): KnownField | null {
    const candidates = this.#byLength[end - start];
    if (candidates === undefined) return null;
    for (let k = 0; k < candidates.length; k++) {
      if (sameText(buf, start, end, candidates[k].name)) return candidates[k];
    }
    return null;
  }

  /**
   * The value of `field` spelt as `buf[start, end)`: the string made last
   * time when the bytes are the same (clients repeat theirs), else a new one,
   * remembered for next time.
   */
  valueOf(field: KnownField, buf: Uint8Array, start: number, end: number): string {
    const n = end - start;
    let bytes = field.bytes;
    if (n === field.length) {
      let i = 0;
      while (i < n && buf[start + i] === bytes[i]) i++;
      if (i === n) return field.value;
    }
    if (bytes.length < n) bytes = field.bytes = new Uint8Array(Math.max(32, 2 * n));
    for (let i = 0; i < n; i++) bytes[i] = buf[start + i];
    field.length = n;
    return field.value = latin1(buf, start, end);
  }
}

/**
 * The method spelt as `buf[start, end)`: the same string every time for the
 * common ones, a new one for others.
 *
 * @example
 * ```ts
 * import { methodName } from "./known_names.ts";
 * methodName(new TextEncoder().encode("GET /"), 0, 3); // "GET"
 * ```
 */
export function methodName(buf: Uint8Array, start: number, end: number): string {
  for (const m of METHODS) {
    if (m.length !== end - start) continue;
    let same = true;
    for (let i = 0; i < m.length; i++) {
      if (buf[start + i] !== m.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return m;
  }
  return latin1(buf, start, end);
}
