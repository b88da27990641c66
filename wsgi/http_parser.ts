/**
 * The HTTP/1.1 request parser (RFC 9112), written for the hot path: it works
 * on the connection's read buffer in place, with no regex and no copy, one
 * pass over each line. Strict: anything that could frame a message two ways
 * is refused with an {@linkcode HttpError}, never guessed at.
 *
 * `findHead` looks for a complete head in the bytes received so far (call it
 * again when more arrive: any split works); `parseHead` turns it into a
 * {@linkcode RequestHead}. Bodies are framed by the `ChunkedDecoder` of
 * `chunked_decoder.ts` or by the `contentLength`.
 *
 * @module
 */
import {
  CR,
  equalsLower,
  hexByte,
  isDigit,
  latin1,
  LF,
  sameText,
  SP,
  TARGET_BYTE,
  TCHAR,
} from "./byte_classes.ts";
import { FieldLine } from "./field_line.ts";
import { connectionTokens, parseContentLength, transferCodings, validHost } from "./field_values.ts";
import { HttpError } from "./http_error.ts";
import { KnownFields, methodName } from "./known_names.ts";
import { RequestHead } from "./request_head.ts";

/**
 * The limits the parser (and the chunked decoder) enforce.
 *
 * @example
 * ```ts
 * import { type ParserLimits, RequestParser } from "./http_parser.ts";
 * const limits: ParserLimits = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 1e6 };
 * new RequestParser(limits).limits.maxHeaders; // 100
 * ```
 */
export interface ParserLimits {
  /** Longest request line, in bytes, before 414 (and longest chunk size line, before 400). */
  maxRequestLine: number;
  /** Largest header section (or trailer section), in bytes, before 431. */
  maxHeaderBytes: number;
  /** Most header (or trailer) fields before 431. */
  maxHeaders: number;
  /** Largest body, in bytes, before 413 (from Content-Length, or the sum of chunk sizes). */
  maxBodyBytes: number;
}

/**
 * Finds and parses request heads within the limits it was given.
 *
 * @example
 * ```ts
 * import { HttpError } from "@cogen/cogen/wsgi";
 * import { RequestParser } from "./http_parser.ts";
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
  readonly #known = new KnownFields();
  /** The last Host value that passed the check. */
  #validHost = "";
  /** The last request target, reused when the next one is spelt the same (clients repeat theirs). */
  #lastTarget = "";
  /** Where the parts of the field line just parsed are. */
  readonly #line = new FieldLine("header");

  /** Creates a parser enforcing `limits`. */
  constructor(limits: ParserLimits) {
    this.limits = limits;
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
      const lf = lineEndAfter(buf, lineStart, end);
      if (lf === end) {
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
    const line = this.#line;
    while (pos < headEnd - 2) {
      const lineEnd = line.parse(buf, pos, headEnd);
      const colon = line.nameEnd;
      const valueStart = line.valueStart;
      const valueEnd = line.valueEnd;
      const known = this.#known.find(buf, pos, colon);
      let name: string;
      let value: string;
      if (known === null) {
        name = latin1(buf, pos, colon);
        value = latin1(buf, valueStart, valueEnd);
      } else {
        name = known.name;
        value = this.#known.valueOf(known, buf, valueStart, valueEnd);
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

  /**
   * Parses `method SP target SP HTTP-version CRLF`; returns the start of the
   * next line. Each part is scanned by its byte class up to the byte that
   * ends it, so a CR is either the one right before the line's LF or a bare
   * CR, refused where it stands.
   */
  #parseRequestLine(buf: Uint8Array, start: number, head: RequestHead): number {
    let i = start;
    while (TCHAR[buf[i]] === 1) i++;
    if (i === start || buf[i] !== SP) {
      throw requestLineError(
        buf,
        i,
        i === start ? "request line without a method" : "invalid byte in the method",
      );
    }
    head.method = methodName(buf, start, i);
    const targetStart = ++i;
    while (TARGET_BYTE[buf[i]] === 1) {
      if (buf[i] === 0x23) throw new HttpError(400, "fragment (#) in the request target");
      i++;
    }
    if (i === targetStart) {
      throw requestLineError(buf, i, "empty request target, or more than one space after the method");
    }
    if (buf[i] !== SP) {
      throw requestLineError(
        buf,
        i,
        buf[i] === CR
          ? "request line without an HTTP version (HTTP/0.9 is not supported)"
          : `invalid byte 0x${hexByte(buf[i])} in the request target`,
      );
    }
    head.target = sameText(buf, targetStart, i, this.#lastTarget)
      ? this.#lastTarget
      : (this.#lastTarget = latin1(buf, targetStart, i));
    // "HTTP/x.y" CR LF. The line has an LF (findHead saw it), so these ten reads stay within it.
    const v = i + 1;
    if (
      buf[v] !== 0x48 || buf[v + 1] !== 0x54 || buf[v + 2] !== 0x54 || buf[v + 3] !== 0x50 ||
      buf[v + 4] !== 0x2f || !isDigit(buf[v + 5]) || buf[v + 6] !== 0x2e || !isDigit(buf[v + 7]) ||
      buf[v + 8] !== CR || buf[v + 9] !== LF
    ) {
      let at = v; // the first CR in or right after the version, if any: bare unless the line's LF follows
      while (at < v + 8 && buf[at] !== CR) at++;
      throw requestLineError(buf, at, "malformed HTTP version (expected HTTP/x.y then CRLF)");
    }
    const major = buf[v + 5] - 0x30;
    const minor = buf[v + 7] - 0x30;
    if (major !== 1) throw new HttpError(505, `HTTP/${major}.${minor} is not supported; use HTTP/1.1`);
    head.version = minor === 1 ? "HTTP/1.1" : minor === 0 ? "HTTP/1.0" : `HTTP/1.${minor}`;
    head.minor = minor === 0 ? 0 : 1;
    this.minor = head.minor;
    head.keepAlive = minor !== 0;
    this.#targetForm(head);
    return v + 10;
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
      if (!isScheme(target, scheme)) {
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

/**
 * The index of the first LF in `buf[start, end)`, or `end`. Most field lines
 * are short: a loop finds their end sooner than `indexOf`, a call into C++
 * (~70 ns) that pays off only on long lines, which it is left to.
 */
function lineEndAfter(buf: Uint8Array, start: number, end: number): number {
  const near = Math.min(end, start + 64);
  let i = start;
  while (i < near && buf[i] !== LF) i++;
  if (i < near || near === end) return i;
  const lf = buf.indexOf(LF, near);
  return lf < 0 || lf > end ? end : lf;
}

/**
 * The error for a request line that stopped at `buf[at]`: a bare CR there (a
 * CR not followed by LF) is named as such, else `message`.
 */
function requestLineError(buf: Uint8Array, at: number, message: string): HttpError {
  return new HttpError(
    400,
    buf[at] === CR && buf[at + 1] !== LF
      ? "bare CR in the request line (a line ends with CRLF; a CR alone is not allowed)"
      : message,
  );
}

/** Whether `text[0, end)` is a URI scheme (RFC 3986, 3.1): a letter, then letters, digits, "+", "-", ".". */
function isScheme(text: string, end: number): boolean {
  if (end <= 0) return false;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const lower = c | 0x20; // an upper-case letter folded onto its lower-case one
    if (lower >= 0x61 && lower <= 0x7a) continue;
    if (i === 0 || !(isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e)) return false;
  }
  return true;
}
