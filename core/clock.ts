/**
 * Where the scheduler reads the time and sets its one host timer. The default
 * is the system clock; a {@linkcode ManualClock} lets tests run long timeouts
 * instantly.
 *
 * @module
 */

/**
 * A time source with a timer, in ms.
 *
 * @example
 * ```ts
 * import { type Clock, Scheduler } from "@cogen/cogen/core";
 * const clock: Clock = {
 *   now: () => performance.now(),
 *   setTimer: (callback, delay) => setTimeout(callback, delay),
 *   clearTimer: (id) => clearTimeout(id as number),
 * };
 * const sched = new Scheduler({ clock });
 * ```
 */
export interface Clock {
  /** The current time in ms (any origin, never going backwards). */
  now(): number;
  /** Calls `callback` once after `delay` ms; returns an id for `clearTimer`. */
  setTimer(callback: () => void, delay: number): unknown;
  /** Cancels a timer set by `setTimer`. */
  clearTimer(id: unknown): void;
}

/**
 * The longest delay `setTimeout` honours, 2^31 - 1 ms (about 24.8 days):
 * longer waits are made in steps.
 *
 * @example
 * ```ts
 * import { MAX_DELAY } from "./clock.ts";
 * MAX_DELAY; // 2147483647
 * ```
 */
export const MAX_DELAY = 2 ** 31 - 1;

/**
 * The system clock: `performance.now()` and `setTimeout` (delays beyond
 * 2^31-1 ms are honoured, `Infinity` never fires).
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * systemClock.now() >= 0; // true
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(callback, delay) {
    const timer: { id?: ReturnType<typeof setTimeout> } = {};
    const due = performance.now() + delay;
    // setTimeout clamps delays above 2^31-1 ms to 1 ms: wait in steps instead. Infinity never fires.
    const wait = () => {
      const left = due - performance.now();
      if (left === Infinity) return;
      timer.id = left > MAX_DELAY ? setTimeout(wait, MAX_DELAY) : setTimeout(callback, Math.max(0, left));
    };
    wait();
    return timer;
  },
  clearTimer: (timer) => clearTimeout((timer as { id?: number }).id),
};

/**
 * A clock that only moves when told to: `advance(ms)` fires the timers that
 * fall due, in order, synchronously.
 *
 * @example
 * ```ts
 * import { ManualClock, Scheduler, Sleep } from "@cogen/cogen/core";
 * const clock = new ManualClock();
 * const sched = new Scheduler({ clock });
 * sched.add(function* () {
 *   yield new Sleep(60_000);
 * });
 * const done = sched.run();
 * await Promise.resolve(); // let run() start
 * clock.advance(60_000); // an hour of sleeps takes no time
 * await done;
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #timers = new Map<number, { due: number; callback: () => void }>();
  #nextId = 1;

  /** Starts at `start` ms. */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current time. */
  now(): number {
    return this.#now;
  }

  /** Registers a timer due at `now() + delay`. */
  setTimer(callback: () => void, delay: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + Math.max(0, delay), callback });
    return id;
  }

  /** Cancels a timer. */
  clearTimer(id: unknown): void {
    this.#timers.delete(id as number);
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves the time forward by `ms`, firing each timer that falls due at its
   * own due time, in order (timers set while firing are included).
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    const end = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let next: { due: number; callback: () => void } | undefined;
      for (const [id, timer] of this.#timers) {
        if (timer.due <= end && (next === undefined || timer.due < next.due)) {
          nextId = id;
          next = timer;
        }
      }
      if (next === undefined) break;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, next.due);
      next.callback();
    }
    this.#now = end;
  }
}
