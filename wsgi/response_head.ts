/**
 * Response heads: checking what the app gave `startResponse`, and writing
 * the status line and fields with the ones the server adds (`Date`, cached
 * per second; `Server`; framing; `Connection`).
 *
 * @module
 */
import type { Output } from "./output.ts";

/** The status code of a status line such as `"200 OK"`, or -1 when it is malformed. */
export function statusCode(status: unknown): number {
  if (typeof status !== "string" || status.length < 3) return -1;
  const a = status.charCodeAt(0) - 0x30;
  const b = status.charCodeAt(1) - 0x30;
  const c = status.charCodeAt(2) - 0x30;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  if (status.length > 3 && status.charCodeAt(3) !== 0x20) return -1;
  for (let i = 4; i < status.length; i++) {
    const ch = status.charCodeAt(i);
    if ((ch < 0x20 && ch !== 9) || ch === 0x7f || ch > 0xff) return -1;
  }
  return a * 100 + b * 10 + c;
}

/** What the server learnt from the app's header list. */
export interface HeaderFacts {
  /** The app's Content-Length, or -1. */
  contentLength: number;
  /** Whether the app set Date. */
  date: boolean;
  /** Whether the app set Server. */
  server: boolean;
  /** Whether the app asked to close (`Connection: close`). */
  close: boolean;
}

/**
 * Checks the app's headers: a list of `[name, value]` strings, names tokens,
 * values without CR, LF, NUL or code points above 0xFF, no
 * `Transfer-Encoding` (the server frames the body) and a valid
 * `Content-Length`.
 *
 * @throws {TypeError} saying which header is wrong and why.
 */
export function checkHeaders(headers: unknown, facts: HeaderFacts): void {
  if (!Array.isArray(headers)) {
    throw new TypeError(
      `startResponse: headers must be an array of [name, value] pairs, got ${typeof headers}`,
    );
  }
  facts.contentLength = -1;
  facts.date = facts.server = facts.close = false;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    if (
      !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string"
    ) {
      throw new TypeError(`startResponse: header ${i} must be a [name, value] pair of strings`);
    }
    const [name, value] = pair as [string, string];
    if (name.length === 0) throw new TypeError(`startResponse: header ${i} has an empty name`);
    for (let j = 0; j < name.length; j++) {
      if (!isTchar(name.charCodeAt(j))) {
        throw new TypeError(
          `startResponse: header name ${JSON.stringify(name)} has a character not allowed in a token`,
        );
      }
    }
    for (let j = 0; j < value.length; j++) {
      const c = value.charCodeAt(j);
      if (c === 13 || c === 10 || c === 0 || c > 0xff) {
        throw new TypeError(
          `startResponse: header ${name} has ${
            c > 0xff ? "a character above U+00FF" : c === 0 ? "a NUL" : "a CR or LF"
          } in its value (response splitting is refused)`,
        );
      }
    }
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "date") facts.date = true;
        break;
      case 6:
        if (name.toLowerCase() === "server") facts.server = true;
        break;
      case 10:
        if (name.toLowerCase() === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) facts.close = true;
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          const n = /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : -1;
          if (n < 0 || (facts.contentLength >= 0 && facts.contentLength !== n)) {
            throw new TypeError(`startResponse: invalid Content-Length ${JSON.stringify(value)}`);
          }
          facts.contentLength = n;
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") {
          throw new TypeError(
            "startResponse: an app must not set Transfer-Encoding; the server frames the body",
          );
        }
        break;
    }
  }
}

function isTchar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    (c < 0x7f && c > 0x20 && "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));
}

let dateSecond = -1;
let dateLine = "";

/** `Date: <IMF-fixdate>\r\n`, computed at most once a second. */
export function dateHeader(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** How the server frames a response body. */
export interface Framing {
  /** The Content-Length to add (the app gave none but the body is known), or -1. */
  addContentLength: number;
  /** Whether to send `Transfer-Encoding: chunked`. */
  chunked: boolean;
  /** Whether to announce `Connection: close` (else `keep-alive` when `keepAlive10`). */
  close: boolean;
  /** Whether to announce `Connection: keep-alive` (an HTTP/1.0 client that asked for it). */
  keepAlive10: boolean;
}

/**
 * Writes a response head: status line in the request's version (at most
 * 1.1), the app's fields, then Date, Server, framing and Connection.
 */
export function writeHead(
  out: Output,
  minor: number,
  status: string,
  headers: [string, string][],
  facts: HeaderFacts,
  framing: Framing,
  software: string,
): void {
  out.latin1(minor === 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.latin1(status);
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]: the second SP even without a reason.
  out.latin1(status.length === 3 ? " \r\n" : "\r\n");
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    out.latin1(header[0]);
    out.latin1(": ");
    out.latin1(header[1]);
    out.latin1("\r\n");
  }
  if (!facts.date) out.latin1(dateHeader());
  if (!facts.server) out.latin1(software);
  if (framing.addContentLength >= 0) out.latin1(`Content-Length: ${framing.addContentLength}\r\n`);
  if (framing.chunked) out.latin1("Transfer-Encoding: chunked\r\n");
  if (framing.close) {
    if (!facts.close) out.latin1("Connection: close\r\n");
  } else if (framing.keepAlive10) out.latin1("Connection: keep-alive\r\n");
  out.latin1("\r\n");
}
