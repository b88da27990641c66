/**
 * `wsgi.input`: the request body for the app. Asynchronous by default (an
 * async iterable, a web `ReadableStream` as `.stream`, and operations through
 * `environ["cogen.input"]`); its synchronous `read`/`readline`/`readlines`
 * work only once the body is buffered (see `SynchronousInputMiddleware`).
 *
 * @module
 */
import { Await, type Operation } from "../core/mod.ts";

const EMPTY = new Uint8Array(0);

/** The seed's end of body: `""` rather than an empty chunk. */
function orEnd(chunk: Uint8Array): Uint8Array | "" {
  return chunk.length === 0 ? "" : chunk;
}
const CHUNK = 64 * 1024;

/**
 * What `wsgi.input` reads: the server's request body (`RequestBody`), or a
 * fetch request's stream.
 */
export interface BodyReader {
  /** The next body bytes (at most `max`), or an empty array at the end. */
  read(max: number): Promise<Uint8Array>;
  /** One line (at most `limit` bytes), or an empty array at the end. */
  readline(limit: number): Promise<Uint8Array>;
  /** The trailer fields (flat `[name, value…]`), once the body was read to the end. */
  readonly trailers: string[];
}

/**
 * The request body as the app sees it.
 *
 * @example
 * ```ts
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * async function* upload(environ: Environ, startResponse: StartResponse) {
 *   let size = 0;
 *   for await (const chunk of environ["wsgi.input"]) size += chunk.length;
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield `received ${size} bytes`;
 * }
 * ```
 */
export class Input implements AsyncIterable<Uint8Array> {
  #body: BodyReader | null;
  #bytes: Uint8Array | null;
  #pos = 0;
  #read = 0;
  #stream: ReadableStream<Uint8Array> | null = null;
  #ended = false;
  /** Made when asked for (most requests have none, and a held request then carries no array). */
  #trailers: string[] | null = null;

  /** @ignore The server makes it from the request's body. */
  constructor(body: BodyReader | null, bytes: Uint8Array | null = null) {
    this.#body = body;
    this.#bytes = bytes;
  }

  /**
   * An input over bytes already in memory: its synchronous methods work.
   *
   * @example
   * ```ts
   * import { Input } from "@cogen/cogen/wsgi";
   * const input = Input.fromBytes(new TextEncoder().encode("a\nb"));
   * input.readlines().length; // 2
   * ```
   */
  static fromBytes(bytes: Uint8Array, trailers: string[] = []): Input {
    const input = new Input(null, bytes);
    input.#trailers = trailers;
    return input;
  }

  /** Whether the whole body is in memory (the synchronous methods work). */
  get buffered(): boolean {
    return this.#bytes !== null;
  }

  /** The trailer fields of a chunked body (flat `[name, value…]`), once it was read to the end. */
  get trailers(): string[] {
    return this.#body?.trailers ?? (this.#trailers ??= []);
  }

  /**
   * Reads up to `n` bytes, asynchronously; an empty array at the end. Reading
   * again after the end was returned is an error.
   */
  async readAsync(n = CHUNK): Promise<Uint8Array> {
    this.#checkRead("read", "n", n);
    let chunk: Uint8Array;
    if (this.#bytes !== null) chunk = this.#slice(n);
    else if (this.#body === null) chunk = EMPTY;
    else {
      chunk = await this.#body.read(n);
      this.#read += chunk.length;
    }
    if (chunk.length === 0) this.#ended = true;
    return chunk;
  }

  /** Reads one line (up to `limit` bytes), asynchronously; an empty array at the end. */
  async readlineAsync(limit = CHUNK): Promise<Uint8Array> {
    this.#checkRead("readline", "limit", limit);
    let line: Uint8Array;
    if (this.#bytes !== null) line = this.readline(limit);
    else if (this.#body !== null) {
      line = await this.#body.readline(limit);
      this.#read += line.length;
    } else line = EMPTY;
    if (line.length === 0) this.#ended = true;
    return line;
  }

  /** @ignore `environ["cogen.input"].read(n)`: an operation resolving with the chunk, `""` at the end. */
  readOperation(n: number): Operation<Uint8Array | ""> {
    return new Await(this.readAsync(n).then(orEnd));
  }

  /** @ignore `environ["cogen.input"].readline(limit)`: the line, `""` at the end. */
  readlineOperation(limit: number): Operation<Uint8Array | ""> {
    return new Await(this.readlineAsync(limit).then(orEnd));
  }

  /** The body, chunk by chunk. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      let chunk: Uint8Array;
      if (this.#bytes !== null) chunk = this.#slice(CHUNK);
      else if (this.#body === null) return;
      else {
        chunk = await this.#body.read(CHUNK);
        this.#read += chunk.length;
      }
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  /** The body as a web `ReadableStream` (made on first use). */
  get stream(): ReadableStream<Uint8Array> {
    if (this.#stream === null) {
      const iterator = this[Symbol.asyncIterator]();
      this.#stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        async cancel() {
          await iterator.return();
        },
      }, { highWaterMark: 0 });
    }
    return this.#stream;
  }

  /**
   * Reads up to `n` bytes (all the rest when absent) — synchronous, so only
   * when the body is buffered.
   *
   * @throws {Error} naming `SynchronousInputMiddleware` when it is not.
   */
  read(n?: number): Uint8Array {
    this.#requireBuffered("read");
    return this.#slice(n === undefined || n < 0 ? Infinity : n);
  }

  /** Reads one line including `\n` (at most `limit` bytes) — synchronous; see `read`. */
  readline(limit = Infinity): Uint8Array {
    this.#requireBuffered("readline");
    const bytes = this.#bytes!;
    const lf = bytes.indexOf(10, this.#pos);
    const end = lf < 0 ? bytes.length : lf + 1;
    return this.#slice(Math.min(end - this.#pos, limit));
  }

  /** Reads every remaining line — synchronous; see `read`. */
  readlines(): Uint8Array[] {
    this.#requireBuffered("readlines");
    const lines: Uint8Array[] = [];
    for (let line = this.readline(); line.length > 0; line = this.readline()) lines.push(line);
    return lines;
  }

  /** Body bytes handed to the app so far (`environ.cogen.readCount`). */
  get bytesRead(): number {
    return this.#read;
  }

  #slice(n: number): Uint8Array {
    const bytes = this.#bytes!;
    const end = Math.min(bytes.length, this.#pos + n);
    const out = bytes.subarray(this.#pos, end);
    this.#read += end - this.#pos;
    this.#pos = end;
    return out;
  }

  /** A size argument must be a positive integer, and nothing is read after the end was returned. */
  #checkRead(method: string, name: string, size: number): void {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`wsgi.input.${method}: ${name} must be an integer >= 1, got ${size}`);
    }
    if (this.#ended) {
      throw new Error(
        `wsgi.input.${method}: the body has ended (a read already returned an empty chunk); stop reading`,
      );
    }
  }

  #requireBuffered(method: string): void {
    if (this.#bytes === null) {
      throw new Error(
        `wsgi.input.${method}() is synchronous and the body is not buffered: wrap the app in SynchronousInputMiddleware, or read asynchronously (for await (const chunk of environ["wsgi.input"]), or yield environ["cogen.input"].read(n))`,
      );
    }
  }
}
