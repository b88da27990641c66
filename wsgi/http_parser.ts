/**
 * The HTTP/1.1 request parser (RFC 9112), written for the hot path: it works
 * on the connection's read buffer in place, with no regex and no copy, one
 * pass over each line. Strict: anything that could frame a message two ways
 * is refused with an {@linkcode HttpError}, never guessed at.
 *
 * `findHead` looks for a complete head in the bytes received so far (call it
 * again when more arrive: any split works); `parseHead` turns it into a
 * {@linkcode RequestHead}. Bodies are framed by {@linkcode ChunkedDecoder} or
 * by the `contentLength`.
 *
 * @module
 */
import { HttpError } from "./http_error.ts";

/** The limits the parser enforces. */
export interface ParserLimits {
  /** Longest request line, in bytes, before 414. */
  maxRequestLine: number;
  /** Largest header section (or trailer section), in bytes, before 431. */
  maxHeaderBytes: number;
  /** Most header (or trailer) fields before 431. */
  maxHeaders: number;
  /** Largest body, in bytes, before 413 (from Content-Length, or the sum of chunk sizes). */
  maxBodyBytes: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** `tchar` of RFC 9110: the bytes of a token. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}
/** Bytes allowed in a field value: VCHAR, obs-text, SP, HTAB. */
const FIELD_BYTE = new Uint8Array(256);
for (let b = 0x21; b <= 0xff; b++) FIELD_BYTE[b] = b === 0x7f ? 0 : 1;
FIELD_BYTE[SP] = FIELD_BYTE[HTAB] = 1;
/** Bytes allowed in a request target: visible ASCII (a `#` is refused on its own). */
const TARGET_BYTE = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) TARGET_BYTE[b] = 1;
/** Bytes of a reg-name (RFC 3986): unreserved, sub-delims, and "%" of pct-encoded. */
const REG_NAME_BYTE = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=") {
  REG_NAME_BYTE[c.charCodeAt(0)] = 1;
}
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX["0123456789abcdef".charCodeAt(i)] = i;
  HEX["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Field names that come in most requests, as clients spell them (canonical
 * and lower case): parsing one of them allocates no name, and its value is
 * reused when it repeats the last one seen (Host, User-Agent, Accept… do).
 */
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

/** A common field name and the last value it came with. */
interface KnownField {
  readonly name: string;
  value: string;
}

/** Methods seen every request, interned so parsing them allocates nothing. */
const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"];

/**
 * A parsed request head. `headers` is flat: `[name, value, name, value…]`,
 * names as received, values with surrounding whitespace trimmed, in order.
 *
 * @example
 * ```ts
 * import { RequestParser } from "@cogen/cogen/wsgi";
 * const parser = new RequestParser({ maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 1e6 });
 * const bytes = new TextEncoder().encode("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n");
 * const end = parser.findHead(bytes, 0, bytes.length);
 * const head = parser.parseHead(bytes, end);
 * head.target; // "/a?b"
 * ```
 */
export class RequestHead {
  /** The method, as received (case-sensitive). */
  method = "";
  /** The request target exactly as received. */
  target = "";
  /** The path part of the target (absolute-form: without scheme and authority; `*` for asterisk-form). */
  path = "";
  /** What follows the first `?` (raw), or `""`. */
  query = "";
  /** `"HTTP/1.0"`, `"HTTP/1.1"`… as received. */
  version = "";
  /** 0 for HTTP/1.0, 1 for 1.1 and above. */
  minor = 1;
  /** The header fields, flat. */
  headers: string[] = [];
  /** The Host value (`""` when absent). */
  host = "";
  /** The Content-Length, or -1 when absent. */
  contentLength: number = -1;
  /** Whether the body is chunked. */
  chunked = false;
  /** Whether the connection stays open after this exchange (as the client asked). */
  keepAlive = true;
  /** Whether the client sent `Expect: 100-continue` (HTTP/1.1). */
  expectContinue = false;
  /** The Content-Type value (`""` when absent). */
  contentType = "";
  /** Bytes of the head, from the request line to the blank line included. */
  length = 0;

  /** The value of the first field named `name` (case-insensitive), or `undefined`. */
  get(name: string): string | undefined {
    const headers = this.headers;
    const lower = name.toLowerCase();
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i].length === lower.length && headers[i].toLowerCase() === lower) return headers[i + 1];
    }
    return undefined;
  }
}

/**
 * Finds and parses request heads within the limits it was given.
 *
 * @example
 * ```ts
 * import { HttpError, RequestParser } from "@cogen/cogen/wsgi";
 * const parser = new RequestParser({ maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 1e6 });
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
 * try {
 *   parser.parseHead(bytes, parser.findHead(bytes, 0, bytes.length));
 * } catch (err) {
 *   (err as HttpError).status; // 400: whitespace before the colon
 * }
 * ```
 */
export class RequestParser {
  /** The limits. */
  readonly limits: ParserLimits;
  /** Where the request line starts (after leading empty lines), set by `findHead`. */
  requestStart = 0;
  /**
   * The minor version of the last request line parsed, or -1 if it was not
   * reached: an error answer uses it (HTTP/1.0 for a 1.0 request, else 1.1).
   */
  minor: number = -1;
  /** The common field names by length; the last Host value that passed the check. */
  readonly #known: KnownField[][] = [];
  #validHost = "";
  /** The last request target, reused when the next one is spelt the same (clients repeat theirs). */
  #lastTarget = "";

  /** Creates a parser enforcing `limits`. */
  constructor(limits: ParserLimits) {
    this.limits = limits;
    for (const name of COMMON_FIELDS) {
      for (const spelling of [name, name.toLowerCase()]) {
        (this.#known[spelling.length] ??= []).push({ name: spelling, value: "" });
      }
    }
  }

  /**
   * Looks for a complete head in `buf[start, end)`. Returns the index just
   * past its blank line, or -1 when more bytes are needed. Leading empty lines
   * are skipped (`requestStart` says where the request line starts).
   *
   * @throws {HttpError} 400 (a bare LF), 414 (request line too long), 431
   * (header section too large, or too many fields).
   */
  findHead(buf: Uint8Array, start: number, end: number): number {
    const { maxRequestLine, maxHeaderBytes, maxHeaders } = this.limits;
    let lineStart = start;
    let requestLineEnd = -1;
    let fields = 0;
    for (;;) {
      const lf = buf.indexOf(LF, lineStart);
      if (lf < 0 || lf >= end) {
        // Incomplete: only check that what we have fits the limits.
        if (requestLineEnd < 0) {
          // The line so far, without a CR that may be the start of its CRLF.
          if (end - lineStart - (buf[end - 1] === CR ? 1 : 0) > maxRequestLine) {
            throw new HttpError(414, `request line longer than ${maxRequestLine} bytes`);
          }
        } else if (end - requestLineEnd > maxHeaderBytes) {
          throw new HttpError(431, `header section larger than ${maxHeaderBytes} bytes`);
        }
        this.requestStart = requestLineEnd < 0 ? lineStart : this.requestStart;
        return -1;
      }
      if (lf === lineStart || buf[lf - 1] !== CR) {
        throw new HttpError(400, "bare LF without CR as a line end");
      }
      if (requestLineEnd < 0) {
        if (lf === lineStart + 1) {
          // An empty line before the request line: ignored (RFC 9112, 2.2).
          lineStart = lf + 1;
          if (lineStart - start > maxRequestLine) {
            throw new HttpError(414, `request line longer than ${maxRequestLine} bytes`);
          }
          continue;
        }
        if (lf - 1 - lineStart > maxRequestLine) {
          throw new HttpError(414, `request line longer than ${maxRequestLine} bytes`);
        }
        this.requestStart = lineStart;
        requestLineEnd = lf + 1;
      } else {
        if (lf + 1 - requestLineEnd > maxHeaderBytes) {
          throw new HttpError(431, `header section larger than ${maxHeaderBytes} bytes`);
        }
        if (lf === lineStart + 1) return lf + 1;
        if (++fields > maxHeaders) throw new HttpError(431, `more than ${maxHeaders} header fields`);
      }
      lineStart = lf + 1;
    }
  }

  /**
   * Parses the head `findHead` found, ending at `headEnd`.
   *
   * @throws {HttpError} 400 (syntax, Host, Content-Length or
   * Transfer-Encoding problems), 413 (declared body too large), 417 (unknown
   * expectation), 501 (CONNECT, or a transfer coding other than chunked), 505
   * (HTTP major version other than 1).
   */
  parseHead(buf: Uint8Array, headEnd: number): RequestHead {
    this.minor = -1;
    const head = new RequestHead();
    const start = this.requestStart;
    head.length = headEnd - start;
    let pos = this.#parseRequestLine(buf, start, head);
    // Header fields, one per line; pos is at the start of a line.
    let hosts = 0;
    let transferEncoding: string | null = null;
    let contentLength: string | null = null;
    let connection: string | null = null;
    const headers = head.headers;
    while (pos < headEnd - 2) {
      const lineEnd = buf.indexOf(LF, pos) - 1; // index of the CR
      const first = buf[pos];
      if (first === SP || first === HTAB) {
        throw new HttpError(400, "obsolete line folding (a field line starting with whitespace)");
      }
      let colon = pos;
      while (colon < lineEnd && TCHAR[buf[colon]] === 1) colon++;
      if (buf[colon] !== COLON) {
        throw new HttpError(
          400,
          colon === lineEnd
            ? "header field without a colon"
            : buf[colon] === SP || buf[colon] === HTAB
            ? "whitespace between a header field name and its colon"
            : `invalid byte 0x${hex(buf[colon])} in a header field name`,
        );
      }
      if (colon === pos) throw new HttpError(400, "empty header field name");
      let valueStart = colon + 1;
      while (valueStart < lineEnd && (buf[valueStart] === SP || buf[valueStart] === HTAB)) valueStart++;
      let valueEnd = lineEnd;
      for (let i = valueStart; i < lineEnd; i++) {
        if (FIELD_BYTE[buf[i]] !== 1) {
          throw new HttpError(
            400,
            buf[i] === CR
              ? "bare CR in a header field"
              : `invalid byte 0x${hex(buf[i])} in a header field value`,
          );
        }
      }
      while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
      const known = this.#knownField(buf, pos, colon);
      let name: string;
      let value: string;
      if (known === null) {
        name = ascii(buf, pos, colon);
        value = latin1(buf, valueStart, valueEnd);
      } else {
        name = known.name;
        value = known.value;
        if (!sameText(buf, valueStart, valueEnd, value)) {
          value = known.value = latin1(buf, valueStart, valueEnd);
        }
      }
      headers.push(name, value);
      // The fields that frame the message or steer the server.
      switch (colon - pos) {
        case 4:
          if (equalsLower(buf, pos, "host")) {
            hosts++;
            head.host = value;
          }
          break;
        case 6:
          if (equalsLower(buf, pos, "expect")) this.#expect(head, value);
          break;
        case 10:
          if (equalsLower(buf, pos, "connection")) {
            connection = connection === null ? value : `${connection},${value}`;
          }
          break;
        case 12:
          if (equalsLower(buf, pos, "content-type")) head.contentType = value;
          break;
        case 14:
          if (equalsLower(buf, pos, "content-length")) {
            contentLength = contentLength === null ? value : `${contentLength},${value}`;
          }
          break;
        case 17:
          if (equalsLower(buf, pos, "transfer-encoding")) {
            transferEncoding = transferEncoding === null ? value : `${transferEncoding},${value}`;
          }
          break;
      }
      pos = lineEnd + 2;
    }
    if (head.minor === 1) {
      if (hosts !== 1) {
        throw new HttpError(
          400,
          hosts === 0 ? "HTTP/1.1 request without a Host header" : "more than one Host header",
        );
      }
    } else if (hosts > 1) throw new HttpError(400, "more than one Host header");
    if (connection !== null) connectionTokens(head, connection);
    if (head.host !== this.#validHost) {
      if (!validHost(head.host)) throw new HttpError(400, "invalid Host header (expected host[:port])");
      this.#validHost = head.host;
    }
    if (transferEncoding !== null) {
      if (contentLength !== null) throw new HttpError(400, "both Transfer-Encoding and Content-Length");
      if (head.minor === 0) throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
      transferCodings(transferEncoding);
      head.chunked = true;
    } else if (contentLength !== null) {
      head.contentLength = parseContentLength(contentLength);
      if (head.contentLength > this.limits.maxBodyBytes) {
        throw new HttpError(
          413,
          `body of ${head.contentLength} bytes is over the limit of ${this.limits.maxBodyBytes}`,
        );
      }
    }
    return head;
  }

  /** The common field spelt exactly as `buf[start, end)`, or `null`. */
  #knownField(buf: Uint8Array, start: number, end: number): KnownField | null {
    const candidates = this.#known[end - start];
    if (candidates === undefined) return null;
    for (let k = 0; k < candidates.length; k++) {
      if (sameText(buf, start, end, candidates[k].name)) return candidates[k];
    }
    return null;
  }

  /** Parses `method SP target SP version CRLF`; returns the start of the next line. */
  #parseRequestLine(buf: Uint8Array, start: number, head: RequestHead): number {
    const lineEnd = buf.indexOf(LF, start) - 1;
    let i = start;
    while (TCHAR[buf[i]] === 1) i++;
    if (i === start || buf[i] !== SP) {
      throw new HttpError(400, i === start ? "request line without a method" : "invalid byte in the method");
    }
    head.method = method(buf, start, i);
    const targetStart = ++i;
    while (TARGET_BYTE[buf[i]] === 1) {
      if (buf[i] === 0x23) throw new HttpError(400, "fragment (#) in the request target");
      i++;
    }
    if (i === targetStart) {
      throw new HttpError(400, "empty request target, or more than one space after the method");
    }
    if (buf[i] !== SP) {
      throw new HttpError(400, `invalid byte 0x${hex(buf[i])} in the request target`);
    }
    head.target = sameText(buf, targetStart, i, this.#lastTarget)
      ? this.#lastTarget
      : (this.#lastTarget = ascii(buf, targetStart, i));
    const versionStart = i + 1;
    if (
      lineEnd - versionStart !== 8 || buf[versionStart] !== 0x48 || buf[versionStart + 1] !== 0x54 ||
      buf[versionStart + 2] !== 0x54 || buf[versionStart + 3] !== 0x50 || buf[versionStart + 4] !== 0x2f ||
      buf[versionStart + 6] !== 0x2e || !isDigit(buf[versionStart + 5]) || !isDigit(buf[versionStart + 7])
    ) throw new HttpError(400, "malformed HTTP version (expected HTTP/x.y then CRLF)");
    const major = buf[versionStart + 5] - 0x30;
    const minor = buf[versionStart + 7] - 0x30;
    if (major !== 1) throw new HttpError(505, `HTTP/${major}.${minor} is not supported; use HTTP/1.1`);
    head.version = minor === 1 ? "HTTP/1.1" : minor === 0 ? "HTTP/1.0" : `HTTP/1.${minor}`;
    head.minor = minor === 0 ? 0 : 1;
    this.minor = head.minor;
    head.keepAlive = minor !== 0;
    this.#targetForm(head);
    return lineEnd + 2;
  }

  /** Splits the target into path and query, by its form. */
  #targetForm(head: RequestHead): void {
    const target = head.target;
    if (head.method === "CONNECT") throw new HttpError(501, "CONNECT is not supported by this server");
    let path: string;
    if (target.charCodeAt(0) === 0x2f) path = target;
    else if (target === "*") {
      if (head.method !== "OPTIONS") throw new HttpError(400, "asterisk-form target (*) is only for OPTIONS");
      path = "*";
    } else {
      const scheme = target.indexOf("://");
      if (scheme <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(target.slice(0, scheme))) {
        throw new HttpError(
          400,
          "request target is neither origin-form (/path) nor absolute-form (http://host/path)",
        );
      }
      const authorityStart = scheme + 3;
      let pathStart = authorityStart;
      while (pathStart < target.length && target[pathStart] !== "/" && target[pathStart] !== "?") pathStart++;
      if (pathStart === authorityStart) throw new HttpError(400, "absolute-form target without a host");
      if (target.lastIndexOf("@", pathStart) >= authorityStart) {
        throw new HttpError(400, "userinfo (user@) in the request target is not allowed (RFC 9110, 4.2.4)");
      }
      path = target.slice(pathStart);
      if (path === "" || path[0] === "?") path = "/" + path;
    }
    const q = path.indexOf("?");
    if (q >= 0) {
      head.query = path.slice(q + 1);
      path = path.slice(0, q);
    }
    head.path = path;
  }

  #expect(head: RequestHead, value: string): void {
    if (head.minor === 0) return; // RFC 9110, 10.1.1: ignore it in HTTP/1.0
    if (value.length === 12 && value.toLowerCase() === "100-continue") head.expectContinue = true;
    else throw new HttpError(417, `unsupported expectation: ${value}`);
  }
}

/** Applies the tokens of the Connection fields: "close" wins; "keep-alive" matters in HTTP/1.0. */
function connectionTokens(head: RequestHead, value: string): void {
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

/** Checks a Transfer-Encoding list: chunked, once and last; no other coding. */
function transferCodings(value: string): void {
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

/** Parses a Content-Length: digits only; a list of equal values collapses to one. */
function parseContentLength(value: string): number {
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

/** States of the chunked decoder. */
const SIZE = 0, // hex digits of the chunk size
  EXT = 1, // after the size: whitespace and `;extensions` up to CR
  SIZE_LF = 2, // the LF after the size line's CR
  DATA = 3, // chunk data
  DATA_CR = 4, // the CR after the data
  DATA_LF = 5, // the LF after it
  TRAILER = 6, // a trailer line (or the empty line that ends the body)
  TRAILER_LF = 7, // the LF after a trailer line's CR
  DONE = 8;

/**
 * Decodes a chunked body (RFC 9112, 7.1) from the bytes it is fed, in place:
 * `decode` reports where the next data slice is, never copying it. Any split
 * of the input works. Chunk extensions are skipped; trailer fields are parsed
 * and kept apart, never merged into the headers.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "@cogen/cogen/wsgi";
 * const body = new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\n");
 * const decoder = new ChunkedDecoder({ maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 1e6 });
 * const out: string[] = [];
 * let pos = 0;
 * while (!decoder.done) {
 *   pos = decoder.decode(body, pos, body.length);
 *   out.push(new TextDecoder().decode(body.subarray(decoder.dataStart, decoder.dataEnd)));
 * }
 * out.join(""); // "hello"
 * ```
 */
export class ChunkedDecoder {
  /** Where the data slice of the last `decode` starts. */
  dataStart = 0;
  /** Where it ends (equal to `dataStart` when there was none). */
  dataEnd = 0;
  /** The trailer fields, flat `[name, value…]`. */
  trailers: string[] = [];
  /** Body bytes decoded so far. */
  total = 0;
  readonly #limits: ParserLimits;
  #state = SIZE;
  #size = 0;
  #digits = 0;
  #significant = 0;
  #remaining = 0;
  /** Whether a `;` was seen on the size line: what follows is an extension. */
  #inExtension = false;
  /** Whether whitespace followed the size (it may only lead to an extension). */
  #spaced = false;
  /** Bytes of the current size line (bounded by maxRequestLine). */
  #lineBytes = 0;
  /** Bytes of the trailer section so far (bounded by maxHeaderBytes). */
  #trailerBytes = 0;
  /** The trailer line being read. */
  #line: number[] = [];

  /** Creates a decoder bound by `limits` (maxBodyBytes; maxHeaderBytes and maxHeaders for trailers). */
  constructor(limits: ParserLimits) {
    this.#limits = limits;
  }

  /** Whether the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Consumes bytes of `buf[start, end)` and returns the index it stopped at.
   * When a data slice was found it is `buf[dataStart, dataEnd)`, and decoding
   * stopped right after it: hand it on, then call again.
   *
   * @throws {HttpError} 400 (bad chunk size or framing), 413 (body over the
   * limit), 431 (trailers over the limits).
   */
  decode(buf: Uint8Array, start: number, end: number): number {
    this.dataStart = this.dataEnd = start;
    let pos = start;
    while (pos < end) {
      const b = buf[pos];
      switch (this.#state) {
        case SIZE: {
          const digit = HEX[b];
          if (digit >= 0) {
            this.#digits++;
            // Leading zeros do not count towards the 12 significant hex digits allowed.
            if ((this.#size > 0 || digit > 0) && ++this.#significant > 12) {
              throw new HttpError(400, "chunk size too large");
            }
            this.#size = this.#size * 16 + digit;
          } else if (this.#digits === 0) throw new HttpError(400, "chunk size is not a hexadecimal number");
          else {
            this.#state = EXT;
            continue; // look at this byte again as part of the extension
          }
          break;
        }
        case EXT:
          if (b === CR) {
            if (this.#spaced && !this.#inExtension) {
              throw new HttpError(400, "whitespace after a chunk size without an extension");
            }
            this.#state = SIZE_LF;
          } else if (b === LF) throw new HttpError(400, "bare LF in a chunk size line");
          else if ((b < 0x20 && b !== HTAB) || b === 0x7f) {
            throw new HttpError(400, "control byte in a chunk size line");
          } else if (b === 0x3b) this.#inExtension = true;
          else if (!this.#inExtension) {
            if (b !== SP && b !== HTAB) throw new HttpError(400, "invalid byte after the chunk size");
            this.#spaced = true;
          }
          break;
        case SIZE_LF:
          if (b !== LF) throw new HttpError(400, "bare CR in a chunk size line");
          this.#endSizeLine();
          pos++;
          continue;
        case DATA: {
          const n = Math.min(this.#remaining, end - pos);
          this.dataStart = pos;
          this.dataEnd = pos + n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = DATA_CR;
          return pos + n;
        }
        case DATA_CR:
          if (b !== CR) throw new HttpError(400, "chunk data longer than its chunk size");
          this.#state = DATA_LF;
          break;
        case DATA_LF:
          if (b !== LF) throw new HttpError(400, "chunk data not followed by CRLF");
          this.#state = SIZE;
          this.#size =
            this.#digits =
            this.#significant =
            this.#lineBytes =
              0;
          this.#inExtension = this.#spaced = false;
          pos++;
          continue;
        case TRAILER:
          if (b === CR) this.#state = TRAILER_LF;
          else if (b === LF) throw new HttpError(400, "bare LF in the trailer section");
          else this.#line.push(b);
          if (++this.#trailerBytes > this.#limits.maxHeaderBytes) {
            throw new HttpError(431, `trailer section larger than ${this.#limits.maxHeaderBytes} bytes`);
          }
          pos++;
          continue;
        case TRAILER_LF:
          if (b !== LF) throw new HttpError(400, "bare CR in the trailer section");
          if (++this.#trailerBytes > this.#limits.maxHeaderBytes) {
            throw new HttpError(431, `trailer section larger than ${this.#limits.maxHeaderBytes} bytes`);
          }
          pos++;
          if (this.#line.length === 0) {
            this.#state = DONE;
            return pos;
          }
          this.#trailerField(Uint8Array.from(this.#line));
          this.#line.length = 0;
          this.#state = TRAILER;
          continue;
        case DONE:
          return pos;
      }
      if (++this.#lineBytes > this.#limits.maxRequestLine) {
        throw new HttpError(400, "chunk size line too long");
      }
      pos++;
    }
    return pos;
  }

  #endSizeLine(): void {
    const size = this.#size;
    if (this.total + size > this.#limits.maxBodyBytes) {
      throw new HttpError(413, `chunked body over the limit of ${this.#limits.maxBodyBytes} bytes`);
    }
    this.total += size;
    if (size === 0) this.#state = TRAILER;
    else {
      this.#remaining = size;
      this.#state = DATA;
    }
  }

  /** One trailer field line (without its CRLF). */
  #trailerField(line: Uint8Array): void {
    if (this.trailers.length / 2 >= this.#limits.maxHeaders) {
      throw new HttpError(431, `more than ${this.#limits.maxHeaders} trailer fields`);
    }
    if (line[0] === SP || line[0] === HTAB) throw new HttpError(400, "obsolete line folding in a trailer");
    let colon = 0;
    while (colon < line.length && TCHAR[line[colon]] === 1) colon++;
    if (colon === 0 || line[colon] !== COLON) throw new HttpError(400, "malformed trailer field");
    let v = colon + 1;
    while (v < line.length && (line[v] === SP || line[v] === HTAB)) v++;
    let e = line.length;
    for (let i = v; i < e; i++) {
      if (FIELD_BYTE[line[i]] !== 1) throw new HttpError(400, "invalid byte in a trailer field value");
    }
    while (e > v && (line[e - 1] === SP || line[e - 1] === HTAB)) e--;
    this.trailers.push(ascii(line, 0, colon), latin1(line, v, e));
  }
}

/**
 * Whether a Host value is `uri-host [ ":" port ]` (RFC 9110, 7.2): an
 * IP-literal in brackets or a reg-name (pct-encoding checked), then an
 * optional port of digits. An empty value is allowed.
 */
function validHost(host: string): boolean {
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

/**
 * Trims optional whitespace (SP and HTAB) only: `String.prototype.trim` also
 * strips U+00A0 and others, which would let "3\xA0" pass as a length.
 */
function trimOWS(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === SP || text.charCodeAt(start) === HTAB)) start++;
  while (end > start && (text.charCodeAt(end - 1) === SP || text.charCodeAt(end - 1) === HTAB)) end--;
  return text.slice(start, end);
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/** Whether `buf[start, end)` holds exactly the code points of `text` (all <= 0xFF). */
function sameText(buf: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (buf[start + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Case-insensitive comparison of `buf[pos…]` with a lower-case ASCII word. */
function equalsLower(buf: Uint8Array, pos: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if ((buf[pos + i] | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

function method(buf: Uint8Array, start: number, end: number): string {
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
  return ascii(buf, start, end);
}

/** Bytes as a string, one code point per byte (ASCII or ISO-8859-1). */
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

const ascii = latin1;
