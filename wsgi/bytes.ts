/**
 * `concatBytes`: byte arrays joined into one, without a copy when there is
 * only one.
 *
 * @module
 */

/**
 * Joins `parts` into one array of `length` bytes (their total by default);
 * a single part is returned as it is.
 *
 * @example
 * ```ts
 * import { concatBytes } from "@cogen/cogen/wsgi";
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
