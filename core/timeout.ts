/**
 * Timeout options: a number of ms, `-1` for never, `0` or absent for the
 * scheduler's `defaultTimeout` (itself `0` = never unless set).
 *
 * @module
 */
import { describe } from "./describe.ts";

/**
 * Checks a `timeout` option and returns it (`undefined` stays `undefined`).
 *
 * @throws {RangeError} when it is not a number of ms >= -1.
 * @example
 * ```ts
 * import { checkTimeout } from "./timeout.ts";
 * checkTimeout("Queue.get", 250); // 250
 * ```
 */
export function checkTimeout(where: string, timeout: unknown): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || (timeout < 0 && timeout !== -1)) {
    throw new RangeError(
      `${where}: timeout must be a number of ms >= -1 (-1: never, 0: the scheduler's default; no other negative), got ${
        describe(timeout)
      }`,
    );
  }
  return timeout;
}

/**
 * Resolves a checked timeout against the scheduler's default: the result is a
 * number of ms > 0, or 0 for "no timer".
 *
 * @example
 * ```ts
 * import { effectiveTimeout } from "./timeout.ts";
 * effectiveTimeout(undefined, 5000); // 5000
 * effectiveTimeout(-1, 5000); // 0
 * ```
 */
export function effectiveTimeout(timeout: number | undefined, defaultTimeout: number): number {
  const t = timeout === undefined || timeout === 0 ? defaultTimeout : timeout;
  return t > 0 && t !== Infinity ? t : 0;
}
