/**
 * `wsgi.file_wrapper`: a file the server streams itself, without the app
 * touching its bytes.
 *
 * @module
 */

/**
 * A file to send as the response body: return it from the app (after
 * `startResponse`). The server reads and writes it block by block and closes
 * it at the end. Through middleware that does not know it, it is an async
 * iterable of blocks. `length` stops after that many bytes (from the file's
 * current position: seek first to send a range).
 *
 * @example
 * ```ts
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * async function download(environ: Environ, startResponse: StartResponse) {
 *   const file = await Deno.open("README.md");
 *   const { size } = await file.stat();
 *   startResponse("200 OK", [["Content-Type", "text/markdown"], ["Content-Length", String(size)]]);
 *   return environ["wsgi.file_wrapper"](file, 65536);
 * }
 * ```
 */
export class FileWrapper implements AsyncIterable<Uint8Array> {
  /** The file. */
  readonly file: Deno.FsFile;
  /** Bytes per read. */
  readonly blockSize: number;
  /** Bytes to send at most (Infinity: to the end). */
  readonly length: number;
  #closed = false;

  /**
   * Wraps `file`.
   *
   * @throws {RangeError} when `blockSize` is not an integer >= 1 or `length` is negative.
   */
  constructor(file: Deno.FsFile, blockSize = 65536, length = Infinity) {
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new RangeError(`wsgi.file_wrapper: blockSize must be an integer >= 1, got ${blockSize}`);
    }
    if (!(length >= 0)) throw new RangeError(`wsgi.file_wrapper: length must be >= 0, got ${length}`);
    this.file = file;
    this.blockSize = blockSize;
    this.length = length;
  }

  /** The blocks of the file (each a new array). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    let left = this.length;
    try {
      while (left > 0) {
        const block = new Uint8Array(Math.min(this.blockSize, left));
        const n = await this.file.read(block);
        if (n === null) return;
        left -= n;
        yield n === block.length ? block : block.subarray(0, n);
      }
    } finally {
      this.close();
    }
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.file.close();
    } catch {
      // Already closed.
    }
  }
}

/** The type of `environ["wsgi.file_wrapper"]`. */
export type FileWrapperFactory = (file: Deno.FsFile, blockSize?: number, length?: number) => FileWrapper;

/** `environ["wsgi.file_wrapper"]`. */
export const fileWrapper: FileWrapperFactory = (file, blockSize, length): FileWrapper =>
  new FileWrapper(file, blockSize, length);
