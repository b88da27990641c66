/**
 * `Deadline`: a restartable timer in the scheduler's one heap, for code that
 * is not a coroutine waiting on an operation (a connection's idle timeout,
 * say). Arming or restarting it costs O(log n), no host timer.
 *
 * @module
 */
import type { Scheduler } from "./scheduler.ts";
import type { TimerEntry } from "./timer_heap.ts";

/**
 * Calls `onExpire` once the time set with `arm(ms)` has passed, unless it was
 * disarmed or re-armed before. It fires only while the scheduler runs.
 *
 * @example
 * ```ts
 * import { Deadline, Scheduler, Sleep } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * let fired = false;
 * const deadline = new Deadline(sched, () => fired = true);
 * deadline.arm(5);
 * sched.add(function* () {
 *   yield new Sleep(20);
 * });
 * await sched.run();
 * fired; // true
 * ```
 */
export class Deadline implements TimerEntry {
  /** @ignore */
  deadline = Number.NaN; // a double from the start: V8 keeps one field representation
  /** @ignore */
  heapIndex = -1;
  /** @ignore */
  timerSeq = 0;
  /** The ms of the last `arm`. */
  timeout = 0;
  readonly #sched: Scheduler;
  readonly #onExpire: () => void;

  /** A deadline of `sched` that calls `onExpire` when it passes. */
  constructor(sched: Scheduler, onExpire: () => void) {
    this.#sched = sched;
    this.#onExpire = onExpire;
  }

  /** Whether it is armed. */
  get armed(): boolean {
    return this.heapIndex >= 0;
  }

  /** (Re)starts it: it passes `ms` from now. */
  arm(ms: number): void {
    if (this.heapIndex >= 0) {
      this.timeout = ms;
      this.#sched.restartTimer(this);
    } else this.#sched.setTimer(this, ms);
  }

  /** Restarts it for the same ms as the last `arm` (activity was seen). */
  restart(): void {
    if (this.heapIndex >= 0) this.#sched.restartTimer(this);
  }

  /** Stops it. */
  disarm(): void {
    if (this.heapIndex >= 0) this.#sched.clearTimer(this);
  }

  /** @ignore Called by the scheduler. */
  expire(): void {
    this.#onExpire();
  }
}
