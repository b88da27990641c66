/**
 * `StreamBody`: the body of a fetch `Request` as `wsgi.input` reads it —
 * from the request's stream, as the app asks, never ahead of it.
 *
 * @module
 */
import { ClientGone } from "../wsgi/mod.ts";
import { PieceReader } from "../wsgi/read_line.ts";

const EMPTY = new Uint8Array(0);

/**
 * The request body for `wsgi.input`: reads from the request's stream as the
 * app asks, never ahead of it. It has what `Input` reads of the server's
 * `RequestBody`: `read(max)`, `readline(limit)` and `trailers`.
 */
export class StreamBody extends PieceReader {
  readonly #stream: ReadableStream<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #done = false;
  #reading = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    super();
    this.#stream = stream;
  }

  /** A fetch request carries no trailers. */
  get trailers(): string[] {
    return [];
  }

  /** The next body bytes (at most `max`), or an empty array at the end. */
  async read(max: number): Promise<Uint8Array> {
    if (this.leftover.length > 0) return this.cut(this.leftover, max);
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
        if (step.value.length > 0) return this.cut(step.value, max);
      }
    } finally {
      this.#reading = false;
    }
  }

  /** The request is over: let go of the stream (a body the app did not read to the end is cancelled). */
  release(): void {
    if (this.#reader !== null && !this.#done) this.#reader.cancel().catch(() => {});
  }
}
