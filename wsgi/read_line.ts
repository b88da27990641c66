/**
 * A body read in pieces: `readLine` for the `readline` of every input the
 * server and its bridges give apps, and `PieceReader`, what such a body
 * shares (the bytes a read left over, `readline`, `unread`).
 *
 * @module
 */
import { concatBytes, prependBytes } from "./bytes.ts";

const EMPTY = new Uint8Array(0);

/** A body read in pieces that can take back the bytes read past a line's end. */
export interface LineSource {
  /** Up to `max` bytes; an empty array at the end. */
  read(max: number): Promise<Uint8Array>;
  /** Puts `bytes` back in front of what is still to be read. */
  unread(bytes: Uint8Array): void;
}

/**
 * Reads one line from `source`, up to and including `\n` (at the end: what
 * is left, possibly empty); what came after the line is given back with
 * `unread`.
 *
 * @throws {Error} when no line end comes within `limit` bytes.
 *
 * @example
 * ```ts
 * import { type LineSource, readLine } from "./read_line.ts";
 * let rest: Uint8Array = new TextEncoder().encode("first\nsecond");
 * const source: LineSource = {
 *   read: (max) => {
 *     const piece = rest.subarray(0, max);
 *     rest = rest.subarray(piece.length);
 *     return Promise.resolve(piece);
 *   },
 *   unread: (bytes) => rest = bytes,
 * };
 * new TextDecoder().decode(await readLine(source, 100)); // "first\n"
 * ```
 */
export async function readLine(source: LineSource, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const chunk = await source.read(limit - length);
    if (chunk.length === 0) break;
    const lf = chunk.indexOf(10);
    if (lf >= 0) {
      if (lf + 1 < chunk.length) source.unread(chunk.subarray(lf + 1));
      parts.push(chunk.subarray(0, lf + 1));
      length += lf + 1;
      break;
    }
    parts.push(chunk);
    length += chunk.length;
    if (length >= limit) {
      throw new Error(`readline: no line end within ${limit} bytes; raise the limit or read(n) instead`);
    }
  }
  return concatBytes(parts, length);
}

/**
 * The common part of the request bodies (`RequestBody` on our sockets,
 * `StreamBody` of a fetch `Request`): bytes a read got beyond what its
 * caller asked for wait in `leftover` for the next read, and `readline`
 * reads on top of `read`.
 *
 * @example
 * ```ts
 * import { PieceReader } from "./read_line.ts";
 * class Fixed extends PieceReader {
 *   #rest: Uint8Array | null = new TextEncoder().encode("a\nbc");
 *   read(max: number): Promise<Uint8Array> {
 *     if (this.leftover.length > 0) return Promise.resolve(this.cut(this.leftover, max));
 *     const all = this.#rest ?? new Uint8Array(0);
 *     this.#rest = null;
 *     return Promise.resolve(this.cut(all, max));
 *   }
 * }
 * new TextDecoder().decode(await new Fixed().readline(10)); // "a\n"
 * ```
 */
export abstract class PieceReader implements LineSource {
  /** Bytes read and not handed out yet: the next read takes them first. */
  protected leftover: Uint8Array = EMPTY;

  /** The next body bytes (at most `max`), or an empty array at the end. */
  abstract read(max: number): Promise<Uint8Array>;

  /**
   * Reads one line, up to and including `\n` (at the end: what is left,
   * possibly empty).
   *
   * @throws {Error} when no line end comes within `limit` bytes.
   */
  readline(limit: number): Promise<Uint8Array> {
    return readLine(this, limit);
  }

  /** For `readLine`: bytes read past a line's end go back in front of what was left over. */
  unread(bytes: Uint8Array): void {
    this.leftover = prependBytes(bytes, this.leftover);
  }

  /** At most `max` bytes of `piece`; the rest becomes the leftover. */
  protected cut(piece: Uint8Array, max: number): Uint8Array {
    if (piece.length <= max) {
      if (piece === this.leftover) this.leftover = EMPTY;
      return piece;
    }
    this.leftover = piece.subarray(max);
    return piece.subarray(0, max);
  }
}
