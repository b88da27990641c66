/**
 * The values of the fields that frame a request or steer the server, read
 * strictly: `Content-Length`, `Transfer-Encoding`, `Connection` and `Host`.
 * Called once per request with the field's (combined) value, off the
 * per-byte path.
 *
 * @module
 */
import { HEX, isDigit, REG_NAME_BYTE, TCHAR, trimOWS } from "./byte_classes.ts";
import { HttpError } from "./http_error.ts";
import type { RequestHead } from "./request_head.ts";

/**
 * Applies the tokens of the Connection fields to `head.keepAlive`: `close`
 * wins; `keep-alive` matters in HTTP/1.0 only.
 *
 * @example
 * ```ts
 * import { RequestHead } from "./request_head.ts";
 * import { connectionTokens } from "./field_values.ts";
 * const head = new RequestHead();
 * connectionTokens(head, "Upgrade, close");
 * head.keepAlive; // false
 * ```
 */
export function connectionTokens(head: RequestHead, value: string): void {
  let keepAlive = false;
  for (const token of value.split(",")) {
    const t = trimOWS(token).toLowerCase();
    if (t === "close") {
      head.keepAlive = false;
      return;
    }
    if (t === "keep-alive") keepAlive = true;
  }
  if (keepAlive && head.minor === 0) head.keepAlive = true;
}

/**
 * Checks a Transfer-Encoding list: `chunked`, once and last; no other coding.
 *
 * @throws {HttpError} 400 (empty, malformed, chunked twice or not last), 501
 * (a coding other than chunked).
 *
 * @example
 * ```ts
 * import { HttpError } from "@cogen/cogen/wsgi";
 * import { transferCodings } from "./field_values.ts";
 * transferCodings(" Chunked ");
 * try {
 *   transferCodings("gzip, chunked");
 * } catch (err) {
 *   (err as HttpError).status; // 501
 * }
 * ```
 */
export function transferCodings(value: string): void {
  const codings = value.split(",").map((c) => trimOWS(c).toLowerCase()).filter((c) => c !== "");
  if (codings.length === 0) throw new HttpError(400, "empty Transfer-Encoding");
  for (const coding of codings) {
    for (let i = 0; i < coding.length; i++) {
      if (TCHAR[coding.charCodeAt(i)] !== 1) throw new HttpError(400, `malformed transfer coding: ${coding}`);
    }
  }
  const chunked = codings.filter((c) => c === "chunked").length;
  if (chunked !== 1 || codings[codings.length - 1] !== "chunked") {
    throw new HttpError(
      400,
      chunked > 1 ? "chunked applied more than once" : "Transfer-Encoding whose final coding is not chunked",
    );
  }
  if (codings.length > 1) {
    throw new HttpError(501, `transfer coding ${codings.find((c) => c !== "chunked")} is not supported`);
  }
}

/**
 * Parses a Content-Length: digits only; a list of equal values (from one
 * field or several) collapses to one.
 *
 * @throws {HttpError} 400 (empty, not digits, too large, conflicting values).
 *
 * @example
 * ```ts
 * import { parseContentLength } from "./field_values.ts";
 * parseContentLength("5, 005"); // 5
 * ```
 */
export function parseContentLength(value: string): number {
  let result = -1;
  for (const part of value.split(",")) {
    const digits = trimOWS(part);
    let first = 0;
    while (first < digits.length - 1 && digits.charCodeAt(first) === 0x30) first++;
    if (digits.length === 0 || digits.length - first > 15) {
      throw new HttpError(400, digits.length === 0 ? "empty Content-Length" : "Content-Length too large");
    }
    let n = 0;
    for (let i = 0; i < digits.length; i++) {
      const d = digits.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) throw new HttpError(400, `Content-Length is not a number of bytes: ${value}`);
      n = n * 10 + d;
    }
    if (result !== -1 && n !== result) {
      throw new HttpError(400, `conflicting Content-Length values: ${value}`);
    }
    result = n;
  }
  return result;
}

/**
 * Whether a Host value is `uri-host [ ":" port ]` (RFC 9110, 7.2): an
 * IP-literal in brackets or a reg-name (pct-encoding checked), then an
 * optional port of digits. An empty value is allowed.
 *
 * @example
 * ```ts
 * import { validHost } from "./field_values.ts";
 * [validHost("[::1]:8080"), validHost("example.com"), validHost("u@h")]; // [true, true, false]
 * ```
 */
export function validHost(host: string): boolean {
  let i = 0;
  const n = host.length;
  if (n > 0 && host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf("]");
    if (close < 2) return false;
    for (i = 1; i < close; i++) {
      const c = host.charCodeAt(i);
      // IPv6 (hex, ":" and "." for an embedded IPv4) or IPvFuture ("v" hex "." then unreserved/sub-delims/":").
      if (!(HEX[c] >= 0 || c === 0x3a || c === 0x2e || (REG_NAME_BYTE[c] === 1 && c !== 0x25))) return false;
    }
    i = close + 1;
  } else {
    for (; i < n && host.charCodeAt(i) !== 0x3a; i++) {
      const c = host.charCodeAt(i);
      if (REG_NAME_BYTE[c] !== 1) return false;
      if (c === 0x25 && !(HEX[host.charCodeAt(i + 1)] >= 0 && HEX[host.charCodeAt(i + 2)] >= 0)) return false;
    }
  }
  if (i === n) return true;
  if (host.charCodeAt(i) !== 0x3a) return false;
  for (i++; i < n; i++) if (!isDigit(host.charCodeAt(i))) return false;
  return true;
}
