/**
 * Response heads: checking what the app gave `startResponse`, and writing
 * the status line and fields with the ones the server adds (`Date`, cached
 * per second; `Server`; framing; `Connection`).
 *
 * @module
 */
import type { Output } from "./output.ts";
import { describe } from "../core/describe.ts";

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

/**
 * The checks of every `startResponse` before its headers (PEP 3333, and
 * what an HTTP/1.1 server can send); returns the status code.
 *
 * - with `excInfo`, once the head went out (`headSent`: a body byte was
 *   produced) there is nothing left to replace: `excInfo` is thrown again;
 * - without it, a second call (`started`) is an error;
 * - the status must be three digits from 200 to 599, a space and a reason.
 *
 * @throws {unknown} `excInfo`, an `Error` or a `TypeError` as above.
 *
 * @example
 * ```ts
 * import { checkStartResponse } from "./response_head.ts";
 * checkStartResponse("404 Not Found", undefined, false, false); // 404
 * ```
 */
export function checkStartResponse(
  status: string,
  excInfo: unknown,
  started: boolean,
  headSent: boolean,
  upgrading = false,
): number {
  if (excInfo !== undefined && excInfo !== null) {
    if (headSent) throw excInfo;
  } else if (started) {
    throw new Error(
      "startResponse: called a second time without excInfo; pass the error being handled as the third argument",
    );
  }
  const code = statusCode(status);
  if (code < 0) {
    throw new TypeError(
      `startResponse: status must look like "200 OK" (three digits from 200 to 599, a space, a reason), got ${
        describe(status)
      }`,
    );
  }
  if (code === 101 && upgrading) return code;
  if (code < 200) {
    throw new TypeError(
      `startResponse: ${code} is an interim status; the server sends 100 Continue itself` +
        (code === 101 ? ", and 101 Switching Protocols through acceptWebSocket" : ""),
    );
  }
  return code;
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

/** 1 for the bytes of a token (RFC 9110, 5.6.2). */
const TCHAR = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) {
  if (/[A-Za-z0-9!#$%&'*+\-.^_`|~]/.test(String.fromCharCode(c))) TCHAR[c] = 1;
}

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

let lastSecond = -1;
let lastLine = "";

/**
 * `Date: <IMF-fixdate>\r\n` (RFC 9110 §5.6.7) for `second`, a Unix time in
 * whole seconds: the one place the server formats its Date, as text for
 * {@linkcode dateHeader} and as bytes for {@linkcode ServerLines}. The last
 * line is kept, so the format runs at most once a second however many ask.
 *
 * @example
 * ```ts
 * import { dateLine } from "./response_head.ts";
 * dateLine(784111777); // "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", RFC 9110's example
 * ```
 */
export function dateLine(second: number): string {
  if (second !== lastSecond) {
    lastSecond = second;
    // toUTCString is IMF-fixdate for years 0 to 9999 (ECMA-262, Date.prototype.toUTCString).
    lastLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return lastLine;
}

/** `Date: <IMF-fixdate>\r\n` for now ({@linkcode dateLine}), for the server's own answers. */
export function dateHeader(): string {
  return dateLine(Math.floor(Date.now() / 1000));
}

const latin1Bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const CONTENT_LENGTH = latin1Bytes("Content-Length: ");
/** No server lines (the app set both Date and Server). */
const NO_LINES = new Uint8Array(0);

/**
 * A status and header list an app answered with: checked once, its part of
 * the head (`HTTP/1.x status\r\n` and the fields) encoded once.
 *
 * @example
 * ```ts ignore
 * const known = new KnownHead("200 OK", [["Content-Type", "text/plain"]]);
 * known.facts.contentLength; // -1
 * ```
 */
export class KnownHead {
  /** The status line as the app gave it. */
  readonly status: string;
  /** What the server learnt from the fields. */
  readonly facts: HeaderFacts = { contentLength: -1, date: false, server: false, close: false };
  /** The fields, flat: `[name, value, …]`. */
  readonly fields: string[];
  readonly #text: string;
  #bytes11: Uint8Array | null = null;
  #bytes10: Uint8Array | null = null;
  /**
   * The head with the server's lines after it (and `Content-Length: ` when
   * the server adds one), by version and that choice; made again when the
   * lines change (the Date line, once a second).
   */
  #withLines: (Uint8Array | null)[] = [null, null, null, null];
  #linesUsed: Uint8Array | null = null;

  /**
   * Checks `headers` ({@linkcode checkHeaders}) and that they suit the
   * status, which must be valid already.
   *
   * @throws {TypeError} as {@linkcode checkHeaders}, or for a 204 or 205
   * with a Content-Length other than 0 (a 204's `Content-Length: 0` is
   * not sent).
   */
  constructor(status: string, headers: [string, string][]) {
    checkHeaders(headers, this.facts);
    const code = statusCode(status);
    // A 205 has no content (RFC 9110, 15.3.6): a non-zero length would leave the client waiting for bytes.
    if (this.facts.contentLength > 0 && code === 205) {
      throw new TypeError(
        `startResponse: a 205 response has no content (RFC 9110 §15.3.6), but its Content-Length is ${this.facts.contentLength}; leave Content-Length out (the server sends 0) or set it to 0`,
      );
    }
    // A 204 has no content and a server must not send Content-Length with it (RFC 9110, 8.6): a 0 is
    // dropped, any other length is the app's mistake.
    if (this.facts.contentLength > 0 && code === 204) {
      throw new TypeError(
        `startResponse: a 204 response has no content and no Content-Length (RFC 9110 §8.6), but its Content-Length is ${this.facts.contentLength}; leave Content-Length out`,
      );
    }
    this.status = status;
    this.fields = [];
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]: the second SP even without a reason.
    let text = status + (status.length === 3 ? " \r\n" : "\r\n");
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i];
      this.fields.push(name, value);
      if (code === 204 && name.length === 14 && name.toLowerCase() === "content-length") continue;
      text += name + ": " + value + "\r\n";
    }
    this.#text = text;
  }

  /** Whether `status` and `headers` are exactly these (strings compared by content). */
  matches(status: string, headers: [string, string][]): boolean {
    const fields = this.fields;
    if (status !== this.status || headers.length * 2 !== fields.length) return false;
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i];
      if (
        !Array.isArray(pair) || pair.length !== 2 || pair[0] !== fields[2 * i] ||
        pair[1] !== fields[2 * i + 1]
      ) {
        return false;
      }
    }
    return true;
  }

  /** The status line (in HTTP/1.`minor`) and the fields, as bytes. */
  bytes(minor: number): Uint8Array {
    if (minor === 0) return this.#bytes10 ??= latin1Bytes("HTTP/1.0 " + this.#text);
    return this.#bytes11 ??= latin1Bytes("HTTP/1.1 " + this.#text);
  }

  /**
   * `bytes(minor)`, then `lines` (the server's Date and Server lines), then
   * `Content-Length: ` if `contentLength`: one array, so that a response head
   * is a few appends rather than many.
   */
  withLines(minor: number, lines: Uint8Array, contentLength: boolean): Uint8Array {
    if (lines !== this.#linesUsed) {
      this.#withLines.fill(null);
      this.#linesUsed = lines;
    }
    const slot = (minor === 0 ? 0 : 2) + (contentLength ? 1 : 0);
    let bytes = this.#withLines[slot];
    if (bytes === null) {
      const head = this.bytes(minor);
      bytes = new Uint8Array(head.length + lines.length + (contentLength ? CONTENT_LENGTH.length : 0));
      bytes.set(head);
      bytes.set(lines, head.length);
      if (contentLength) bytes.set(CONTENT_LENGTH, head.length + lines.length);
      this.#withLines[slot] = bytes;
    }
    return bytes;
  }
}

/**
 * The last few distinct heads a server's apps answered with: an app that
 * answers the same status and fields again skips their check and encoding.
 *
 * @example
 * ```ts ignore
 * const heads = new HeadCache();
 * const known = heads.get("200 OK", [["Content-Type", "text/plain"]]);
 * ```
 */
export class HeadCache {
  readonly #entries: KnownHead[] = [];
  readonly #size: number;
  #next = 0;

  /** A cache of `size` heads (replaced in turn). */
  constructor(size = 16) {
    this.#size = size;
  }

  /**
   * The head for `status` and `headers`, checked and encoded on a miss.
   *
   * @throws {TypeError} as {@linkcode KnownHead}'s constructor.
   */
  get(status: string, headers: [string, string][]): KnownHead {
    const entries = this.#entries;
    if (Array.isArray(headers)) {
      for (let i = 0; i < entries.length; i++) {
        if (entries[i].matches(status, headers)) return entries[i];
      }
    }
    const known = new KnownHead(status, headers);
    if (entries.length < this.#size) entries.push(known);
    else {
      entries[this.#next] = known;
      this.#next = (this.#next + 1) % this.#size;
    }
    return known;
  }
}

/**
 * `Date: …\r\nServer: …\r\n` as bytes, the Date part renewed once a second,
 * and each line alone for a response whose app set the other.
 *
 * @example
 * ```ts ignore
 * const lines = new ServerLines("cogen-deno/0.1.0");
 * lines.write(out, known.facts);
 * ```
 */
export class ServerLines {
  readonly #server: Uint8Array;
  #second = -1;
  #fresh = false;
  #ticking = false;
  #both: Uint8Array = new Uint8Array(0);
  #date: Uint8Array = new Uint8Array(0);

  /** For the `Server` value `software`. */
  constructor(software: string) {
    this.#server = latin1Bytes(`Server: ${software}\r\n`);
  }

  /**
   * Makes the next `write` read the clock again. Called once a second by the
   * server (as hyper does), so that writes between two calls cost no clock
   * read; until the first call, every write reads the clock.
   */
  stale(): void {
    this.#ticking = true;
    this.#fresh = false;
  }

  /** Writes the Date line unless `facts.date`, and the Server line unless `facts.server`. */
  write(out: Output, facts: HeaderFacts): void {
    const lines = this.current(facts);
    if (lines.length > 0) out.bytes(lines);
  }

  /**
   * The lines to write for `facts`: Date unless `facts.date`, Server unless
   * `facts.server`. The same array until the Date line changes.
   */
  current(facts: HeaderFacts): Uint8Array {
    if (!this.#fresh) {
      this.#refresh();
      this.#fresh = this.#ticking;
    }
    if (!facts.date && !facts.server) return this.#both;
    if (!facts.date) return this.#date;
    if (!facts.server) return this.#server;
    return NO_LINES;
  }

  #refresh(): void {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#date = latin1Bytes(dateLine(second));
      this.#both = new Uint8Array(this.#date.length + this.#server.length);
      this.#both.set(this.#date);
      this.#both.set(this.#server, this.#date.length);
    }
  }
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

const CHUNKED = latin1Bytes("Transfer-Encoding: chunked\r\n");
const CLOSE = latin1Bytes("Connection: close\r\n");
const KEEP_ALIVE = latin1Bytes("Connection: keep-alive\r\n");
const CRLF = latin1Bytes("\r\n");
const CRLF_CRLF = latin1Bytes("\r\n\r\n");

/**
 * Writes a response head: status line in the request's version (at most
 * 1.1), the app's fields, then Date, Server, framing and Connection.
 */
export function writeHead(
  out: Output,
  minor: number,
  known: KnownHead,
  framing: Framing,
  lines: ServerLines,
): void {
  const facts = known.facts;
  const length = framing.addContentLength;
  out.bytes(known.withLines(minor, lines.current(facts), length >= 0));
  if (length >= 0) out.decimal(length);
  const close = framing.close && !facts.close;
  if (!framing.chunked && !close && !framing.keepAlive10) {
    // The usual end: the length's line end, if any, and the blank line, in one append.
    out.bytes(length >= 0 ? CRLF_CRLF : CRLF);
    return;
  }
  if (length >= 0) out.bytes(CRLF);
  if (framing.chunked) out.bytes(CHUNKED);
  if (close) out.bytes(CLOSE);
  else if (!framing.close && framing.keepAlive10) out.bytes(KEEP_ALIVE);
  out.bytes(CRLF);
}
