/**
 * The response writer of a connection: what the app driver produces, as
 * HTTP/1.1 bytes on the connection's {@linkcode Output} — the head with the
 * fields the server adds, the body framed by Content-Length, chunked or by
 * the close, the interim `100 Continue`, and the server's own short answers
 * (400, 408, 500…). It decides whether the connection closes after the
 * response.
 *
 * @module
 */
import type { AppDriver } from "./app_driver.ts";
import type { ResponseSink } from "./app_host.ts";
import type { Chunk } from "./app.ts";
import type { RequestBody } from "./body.ts";
import { STATUS_TEXT } from "./http_error.ts";
import type { RequestHead } from "./request_head.ts";
import type { ResolvedLimits } from "./options.ts";
import type { Output } from "./output.ts";
import { dateHeader, type Framing, type ServerLines, writeHead } from "./response_head.ts";

/** What the writer needs from its server. */
export interface WriterHost {
  /** The limits (the drainable rest of a request body). */
  readonly limits: ResolvedLimits;
  /** The Date and Server lines as bytes. */
  readonly lines: ServerLines;
  /** `Server: ...\r\n`. */
  readonly serverLine: string;
  /** Whether the server is shutting down (responses announce `Connection: close`). */
  readonly closing: boolean;
}

/** How the response being committed is framed: filled and used within one synchronous `commit`. */
const FRAMING: Framing = { addContentLength: -1, chunked: false, close: false, keepAlive10: false };
const encoder = new TextEncoder();

/**
 * Writes one response at a time to `out` (see the module doc).
 *
 * @example
 * ```ts ignore
 * const writer = new ResponseWriter(out, server);
 * writer.begin(head, body);
 * // the driver calls commit, frame, finish…
 * if (writer.close) socket.close();
 * ```
 */
export class ResponseWriter implements ResponseSink {
  /** The connection's output. */
  readonly out: Output;
  /** Whether the connection closes after this response. */
  close = false;
  /** Whether `100 Continue` was sent for this request. */
  continueSent = false;
  /** Whether the response was `101 Switching Protocols`: the connection speaks another protocol now. */
  upgraded = false;
  /** Whether the response was cut short (the app failed after its head went out). */
  cutShort = false;
  /** Called once a 101 head is written (the connection's WebSocket starts reading). */
  onUpgrade: (() => void) | null = null;
  readonly #host: WriterHost;
  #head: RequestHead | null = null;
  #body: RequestBody | null = null;
  #chunked = false;
  #noBody = false;

  /** A writer to `out` for the requests of `host`. */
  constructor(out: Output, host: WriterHost) {
    this.out = out;
    this.#host = host;
  }

  /** A new request: its head, and its body (`null` without one). */
  begin(head: RequestHead, body: RequestBody | null): void {
    this.#head = head;
    this.#body = body;
    this.#chunked = false;
    this.#noBody = head.method === "HEAD";
    this.close = false;
    this.cutShort = false;
    this.continueSent = false;
  }

  /** @ignore For the driver: writes the head. */
  commit(driver: AppDriver, length: number): void {
    const head = this.#head!;
    const known = driver.known!;
    const code = driver.code;
    const framing = FRAMING;
    framing.addContentLength = -1;
    framing.chunked = false;
    this.#noBody = driver.noBody;
    if (code === 101) {
      // Switching protocols: the head as the app gave it (Upgrade, Connection: Upgrade…), no framing; the
      // connection speaks the new protocol from here and never carries another request.
      this.close = true;
      this.upgraded = true;
      framing.close = false;
      framing.keepAlive10 = false;
      writeHead(this.out, head.minor, known, framing, this.#host.lines);
      this.onUpgrade?.();
      return;
    }
    if (known.facts.contentLength < 0 && code !== 204 && code !== 304) {
      // A 205's length is 0 whatever the app produced (never chunked); a HEAD's mirrors its GET's.
      if (code === 205) framing.addContentLength = 0;
      else if (length >= 0) framing.addContentLength = length;
      else if (head.minor === 1) framing.chunked = true;
      else this.close = true; // HTTP/1.0 without a length: the end of the body is the end of the connection
    }
    const body = this.#body;
    if (body !== null && !body.done) {
      // A body that cannot be drained (too much left, broken framing, a client still waiting for its
      // 100 Continue) means the connection ends with this response: announce it.
      if (
        body.failed !== null || (head.expectContinue && !this.continueSent) ||
        body.remaining > this.#host.limits.maxDrainBytes
      ) this.close = true;
    }
    this.close ||= known.facts.close || !head.keepAlive || this.#host.closing;
    framing.close = this.close;
    framing.keepAlive10 = head.minor === 0 && !this.close;
    writeHead(this.out, head.minor, known, framing, this.#host.lines);
    this.#chunked = framing.chunked;
  }

  /** @ignore For the driver: a body chunk, chunk-framed if need be. */
  frame(chunk: Chunk, length: number): void {
    if (this.#noBody) return;
    const out = this.out;
    if (this.#chunked) out.latin1(`${length.toString(16)}\r\n`);
    if (typeof chunk === "string") out.utf8(chunk, length);
    else out.bytes(chunk);
    if (this.#chunked) out.latin1("\r\n");
  }

  /** @ignore For the driver: the last chunk of a chunked body. */
  finish(): void {
    if (this.#chunked && !this.#noBody) this.out.latin1("0\r\n\r\n");
  }

  /** @ignore For the driver: the message is cut by closing the connection after what went out. */
  cut(): void {
    this.close = true;
    this.cutShort = true;
  }

  /** @ignore For the driver: the app failed before its head went out. */
  answerError(status: number, detail: string, headers?: readonly [string, string][]): void {
    const head = this.#head!;
    this.errorResponse(status, detail, head.minor, head.method !== "HEAD", headers);
  }

  /**
   * A short plain-text response from the server itself (`minor`: the HTTP
   * version to answer in, 0 or 1), after which the connection closes.
   */
  errorResponse(
    status: number,
    detail: string,
    minor: number,
    withBody = true,
    headers: readonly [string, string][] = [],
  ): void {
    const reason = STATUS_TEXT[status] ?? "Error";
    const body = encoder.encode(
      `${status} ${reason}\n${detail && !detail.endsWith("\n") ? detail + "\n" : detail}`,
    );
    this.close = true;
    let extra = "";
    // Only fields that cannot break the head (an app's HttpError could carry anything).
    for (const [name, value] of headers) {
      if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && !/[\r\n\0]/.test(value)) {
        extra += `${name}: ${value}\r\n`;
      }
    }
    this.out.latin1(
      `HTTP/1.${minor === 0 ? 0 : 1} ${status} ${reason}\r\n${dateHeader()}${this.#host.serverLine}${extra}` +
        `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    if (withBody) this.out.bytes(body);
  }

  /** Sends the interim `100 Continue`, once, unless the response has begun. */
  sendContinue(committed: boolean): void {
    const head = this.#head;
    if (head === null || !head.expectContinue || this.continueSent || committed) return;
    this.continueSent = true;
    this.out.latin1("HTTP/1.1 100 Continue\r\n\r\n");
    this.out.send();
  }
}
