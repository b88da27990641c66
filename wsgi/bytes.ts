/**
 * `concatBytes`: byte arrays joined into one, without a copy when there is
 * only one; `prependBytes`: bytes put back in front of others.
 *
 * @module
 */

/**
 * Joins `parts` into one array of `length` bytes (their total by default);
 * a single part is returned as it is.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  length: number = parts.reduce((sum, part) => sum + part.length, 0),
): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * `front` followed by `rest`: `front` itself when `rest` is empty (bytes read
 * past a line's end, put back before what was set aside).
 *
 * @example
 * ```ts
 * import { prependBytes } from "./bytes.ts";
 * prependBytes(new Uint8Array([1]), new Uint8Array([2])); // Uint8Array [1, 2]
 * ```
 */
export function prependBytes(front: Uint8Array, rest: Uint8Array): Uint8Array {
  return rest.length === 0 ? front : concatBytes([front, rest], front.length + rest.length);
}
