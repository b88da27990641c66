/**
 * `describe(value)`: how error messages name a value the caller passed.
 *
 * @module
 */

/**
 * A short description of a value for error messages: a string quoted (cut
 * at 40 characters), a function by name, an object by its class.
 *
 * @example
 * ```ts
 * import { describe } from "./describe.ts";
 * describe(new Uint8Array(2)); // "a Uint8Array"
 * describe(new Error("x")); // "an Error"
 * describe([1, 2]); // "an array of 2"
 * ```
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  if (!name || name === "Object") return "an object";
  // "an Error", "an Object…"; but "a Uint8Array", "a URL", "a User": a leading U is mostly said "you".
  return `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`;
}
