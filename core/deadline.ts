/**
 * `Deadline`: a restartable timer in the scheduler's one heap, for code that
 * is not a coroutine waiting on an operation (a connection's idle timeout,
 * say). Arming or restarting it sets no host timer, and touches the heap
 * (O(log n)) only when the time moves earlier.
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
 * import { Scheduler, Sleep } from "@cogen/cogen/core";
 * import { Deadline } from "./deadline.ts";
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
  readonly #onExpire: (() => void) | null;

  /** A deadline of `sched` that calls `onExpire` when it passes. */
  constructor(sched: Scheduler, onExpire?: () => void) {
    this.#sched = sched;
    this.#onExpire = onExpire ?? null;
  }

  /**
   * Called when it passes: calls the constructor's `onExpire`. A subclass may
   * override this instead of passing a function (one closure less per
   * deadline, for owners that hold thousands).
   */
  protected passed(): void {
    this.#onExpire?.();
  }

  // Arming and disarming happen on every request of a connection, so they
  // rarely touch the heap: the heap entry may stay later than `#due` (it is
  // moved when it fires early) or stay after a disarm (it fires and finds
  // nothing to do). Only an earlier time moves it at once.
  /** When it passes (clock ms), or NaN when disarmed. */
  #due = Number.NaN;

  /** Whether it is armed. */
  get armed(): boolean {
    return this.#due === this.#due;
  }

  /** (Re)starts it: it passes `ms` from now. */
  arm(ms: number): void {
    const due = this.#sched.clock.now() + ms;
    this.#due = due;
    this.timeout = ms;
    if (this.heapIndex < 0) this.#sched.setTimer(this, ms);
    else if (due < this.deadline) {
      this.#sched.clearTimer(this);
      this.#sched.setTimer(this, ms);
    }
  }

  /** Restarts it for the same ms as the last `arm` (activity was seen). */
  restart(): void {
    if (this.#due === this.#due) this.arm(this.timeout);
  }

  /** Stops it (its place in the heap is given up lazily; see {@linkcode Deadline.clear}). */
  disarm(): void {
    this.#due = Number.NaN;
  }

  /** Stops it and leaves the heap now: for an owner that is going away. */
  clear(): void {
    this.#due = Number.NaN;
    if (this.heapIndex >= 0) this.#sched.clearTimer(this);
  }

  /** @ignore Called by the scheduler when the heap entry's time has come. */
  expire(): void {
    const due = this.#due;
    if (due !== due) return;
    const left = due - this.#sched.clock.now();
    if (left > 0) {
      const timeout = this.timeout;
      this.#sched.setTimer(this, left);
      this.timeout = timeout;
      return;
    }
    this.#due = Number.NaN;
    this.passed();
  }
}
