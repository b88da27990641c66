/**
 * The body of one request, read from the connection's buffer as the app asks
 * for it: `Content-Length` counted down, or chunked decoded, with
 * `Expect: 100-continue` answered on the first read and the socket-operation
 * timeout restarted whenever data arrives.
 *
 * @module
 */
import { ClientGone } from "./errors.ts";
import { PieceReader } from "./read_line.ts";
import type { Socket } from "../core/mod.ts";
import { ChunkedDecoder } from "./chunked_decoder.ts";
import type { ParserLimits } from "./http_parser.ts";
import type { RequestHead } from "./request_head.ts";

const EMPTY = new Uint8Array(0);

/** What the body needs from its connection. */
export interface BodyHost {
  /** The connection's socket (its read buffer holds what arrived). */
  readonly socket: Socket;
  /** Sends `HTTP/1.1 100 Continue` (once) before the first read waits for data. */
  sendContinue(): void;
  /** Arms the socket-operation timeout while a read waits (`false` disarms). */
  awaitingBody(waiting: boolean): void;
}

/**
 * A request body. `read(max)` resolves with the next bytes (a copy, at most
 * `max`), or an empty array at the end.
 *
 * @example
 * ```ts ignore
 * const body = new RequestBody(host, head, limits);
 * for (let chunk = await body.read(65536); chunk.length > 0; chunk = await body.read(65536)) {
 *   // ...
 * }
 * ```
 */
export class RequestBody extends PieceReader {
  readonly #host: BodyHost;
  readonly #decoder: ChunkedDecoder | null;
  /** Bytes of a Content-Length body still to read. */
  #remaining: number;
  #failed: unknown = null;
  #reading = false;

  /** Frames the body of `head`. */
  constructor(host: BodyHost, head: RequestHead, limits: ParserLimits) {
    super();
    this.#host = host;
    this.#decoder = head.chunked ? new ChunkedDecoder(limits) : null;
    this.#remaining = head.chunked ? 0 : Math.max(head.contentLength, 0);
  }

  /** Whether every byte of the body was read. */
  get done(): boolean {
    return this.leftover.length === 0 &&
      (this.#decoder === null ? this.#remaining === 0 : this.#decoder.done);
  }

  /** Body bytes the framing still announces (chunked: unknown, -1). */
  get remaining(): number {
    return this.#decoder === null ? this.#remaining : this.#decoder.done ? 0 : -1;
  }

  /** The trailer fields of a chunked body, flat `[name, value…]` (once it was read to the end). */
  get trailers(): string[] {
    return this.#decoder?.trailers ?? [];
  }

  /** An error that broke the body's framing: the connection cannot be reused. */
  get failed(): unknown {
    return this.#failed;
  }

  /**
   * The next body bytes (a copy, at most `max`), or an empty array at the end.
   *
   * @throws {Error} an `HttpError` on bad chunked framing (400) or a body over the limit (413).
   * @throws {Error} when the client closes before the whole body arrived, or
   * when two reads overlap.
   */
  async read(max: number): Promise<Uint8Array> {
    if (this.#failed !== null) throw this.#failed;
    if (this.leftover.length > 0) return this.cut(this.leftover, max);
    if (this.done) return EMPTY;
    if (this.#reading) {
      throw new Error("wsgi.input: a read is already under way; await it before reading again");
    }
    this.#reading = true;
    try {
      for (;;) {
        const chunk = this.#fromBuffer(max);
        if (chunk !== null) return chunk;
        this.#host.sendContinue();
        this.#host.awaitingBody(true);
        let more: boolean;
        try {
          more = await this.#host.socket.fill();
        } finally {
          this.#host.awaitingBody(false);
        }
        if (!more) {
          throw new ClientGone(
            undefined,
            "the client closed the connection before sending the whole request body",
          );
        }
      }
    } catch (error) {
      this.#failed = error;
      throw error;
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Reads and discards the rest of the body, if it is at most `maxBytes`.
   * Resolves `true` when the connection can carry another request.
   */
  async drain(maxBytes: number): Promise<boolean> {
    if (this.#failed !== null) return false;
    let budget = maxBytes;
    this.leftover = EMPTY;
    try {
      while (!this.done) {
        if (this.#decoder === null && this.#remaining > budget) return false;
        const chunk = await this.read(65536);
        budget -= chunk.length;
        if (budget < 0) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Decodes what the socket has buffered; `null` when more bytes must arrive first. */
  #fromBuffer(max: number): Uint8Array | null {
    const socket = this.#host.socket;
    const buf = socket.buffer;
    const start = socket.start;
    const end = socket.end;
    if (this.#decoder === null) {
      const n = Math.min(this.#remaining, end - start, max);
      if (n === 0) return null;
      this.#remaining -= n;
      return socket.take(n);
    }
    const decoder = this.#decoder;
    let pos = start;
    while (pos < end) {
      pos = decoder.decode(buf, pos, end);
      if (decoder.dataEnd > decoder.dataStart) {
        const data = buf.slice(decoder.dataStart, decoder.dataEnd);
        socket.consume(pos - start);
        return this.cut(data, max);
      }
      if (decoder.done) {
        socket.consume(pos - start);
        return EMPTY;
      }
    }
    socket.consume(pos - start);
    return null;
  }
}
