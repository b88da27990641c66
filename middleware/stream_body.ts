/**
 * `StreamBody`: the body of a fetch `Request` as `wsgi.input` reads it —
 * from the request's stream, as the app asks, never ahead of it.
 *
 * @module
 */
import { ClientGone } from "../wsgi/mod.ts";
import { prependBytes } from "../wsgi/bytes.ts";
import { readLine } from "../wsgi/read_line.ts";

const EMPTY = new Uint8Array(0);

/**
 * The request body for `wsgi.input`: reads from the request's stream as the
 * app asks, never ahead of it. It has what `Input` reads of the server's
 * `RequestBody`: `read(max)`, `readline(limit)` and `trailers`.
 */
export class StreamBody {
  readonly #stream: ReadableStream<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #leftover: Uint8Array = EMPTY;
  #done = false;
  #reading = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
  }

  /** A fetch request carries no trailers. */
  get trailers(): string[] {
    return [];
  }

  /** The next body bytes (at most `max`), or an empty array at the end. */
  async read(max: number): Promise<Uint8Array> {
    if (this.#leftover.length > 0) return this.#take(this.#leftover, max);
    if (this.#done) return EMPTY;
    if (this.#reading) {
      throw new Error("wsgi.input: a read is already under way; await it before reading again");
    }
    this.#reading = true;
    try {
      this.#reader ??= this.#stream.getReader();
      for (;;) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await this.#reader.read();
        } catch (error) {
          throw new ClientGone(
            error,
            "the client closed the connection before sending the whole request body",
          );
        }
        if (step.done) {
          this.#done = true;
          return EMPTY;
        }
        if (step.value.length > 0) return this.#take(step.value, max);
      }
    } finally {
      this.#reading = false;
    }
  }

  /** One line, up to and including `\n` (at the end: what is left, possibly empty). */
  readline(limit: number): Promise<Uint8Array> {
    return readLine(this, limit);
  }

  /** For `readLine`: bytes read past a line's end go back in front of what the read left over. */
  unread(bytes: Uint8Array): void {
    this.#leftover = prependBytes(bytes, this.#leftover);
  }

  /** The request is over: let go of the stream (a body the app did not read to the end is cancelled). */
  release(): void {
    if (this.#reader !== null && !this.#done) this.#reader.cancel().catch(() => {});
  }

  #take(chunk: Uint8Array, max: number): Uint8Array {
    if (chunk.length <= max) {
      this.#leftover = EMPTY;
      return chunk;
    }
    this.#leftover = chunk.subarray(max);
    return chunk.subarray(0, max);
  }
}
