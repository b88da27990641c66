/**
 * `readLine`: one line from a body read in pieces, for the `readline` of
 * every input the server and its bridges give apps.
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";

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
