/**
 * Priorities, as in cogen 0.1.9. They order the run queue when an operation
 * completes without waiting and wakes or adds other coroutines.
 *
 * @module
 */

/**
 * The priority flags of an operation.
 *
 * - `LAST` (0): the coroutines it wakes go to the back of the run queue, then
 *   the coroutine that yielded it goes to the back too (the woken run first).
 * - `CORO` (1): the coroutine that yielded it goes to the front.
 * - `OP` (2): the coroutines it wakes go to the front (several in reverse
 *   order, as cogen's `extendleft`).
 * - `FIRST` (3 = `CORO | OP`): both to the front, the yielder ahead of the
 *   woken, so the yielder continues first.
 * - `DEFAULT` (-1): use the scheduler's `defaultPriority`.
 *
 * @example
 * ```ts
 * import { priority, Signal } from "@cogen/cogen/core";
 * const op = new Signal("ready", 1, { priority: priority.FIRST });
 * op.priority; // 3
 * ```
 */
export const priority = {
  LAST: 0,
  CORO: 1,
  OP: 2,
  FIRST: 3,
  DEFAULT: -1,
} as const;

/** One of the values of {@linkcode priority}. */
export type Priority = typeof priority[keyof typeof priority];

/**
 * Where a resumed coroutine goes in the run queue: `BACK` (0) or `FRONT` (1).
 *
 * @example
 * ```ts
 * import { FRONT, placementOfWoken, priority } from "./priority.ts";
 * placementOfWoken(priority.OP) === FRONT; // true
 * ```
 */
export type Placement = 0 | 1;
/** Resume at the back of the run queue. */
export const BACK: Placement = 0;
/** Resume at the front of the run queue (runs next). */
export const FRONT: Placement = 1;

/**
 * Where the coroutines woken or added by an operation of priority `p` go.
 *
 * @example
 * ```ts
 * import { BACK, placementOfWoken, priority } from "./priority.ts";
 * placementOfWoken(priority.LAST) === BACK; // true
 * ```
 */
export function placementOfWoken(p: number): Placement {
  return p & priority.OP ? FRONT : BACK;
}

/**
 * Where the coroutine that yielded an operation of priority `p` goes.
 *
 * @example
 * ```ts
 * import { FRONT, placementOfYielder, priority } from "./priority.ts";
 * placementOfYielder(priority.FIRST) === FRONT; // true
 * ```
 */
export function placementOfYielder(p: number): Placement {
  return p & priority.CORO ? FRONT : BACK;
}

/**
 * Checks a priority option and returns it.
 *
 * @throws {RangeError} when `p` is not one of the {@linkcode priority} values.
 * @example
 * ```ts
 * import { checkPriority } from "./priority.ts";
 * checkPriority("Signal", 3); // 3
 * ```
 */
export function checkPriority(where: string, p: unknown): Priority {
  if (p === -1 || p === 0 || p === 1 || p === 2 || p === 3) return p;
  throw new RangeError(
    `${where}: priority must be one of priority.LAST (0), CORO (1), OP (2), FIRST (3) or DEFAULT (-1), got ${
      String(p)
    }`,
  );
}
