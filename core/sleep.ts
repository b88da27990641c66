/**
 * `Sleep`: pause for a number of ms.
 *
 * @module
 */
import { Operation, type Waiter } from "./operation.ts";

/**
 * Pauses the coroutine for `ms` milliseconds (its timer lives in the
 * scheduler's one heap: 100 000 sleepers cost no more than their entries).
 * `Sleep(0)` lets the event loop (I/O, timers) run before resuming.
 *
 * @example
 * ```ts
 * import { Scheduler, Sleep } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * sched.add(function* () {
 *   yield new Sleep(10);
 * });
 * await sched.run();
 * ```
 */
export class Sleep extends Operation<void> {
  /** How long to sleep, in ms. */
  readonly ms: number;

  /**
   * Creates the operation.
   *
   * @throws {RangeError} when `ms` is not a number >= 0.
   */
  constructor(ms: number) {
    super();
    if (typeof ms !== "number" || !(ms >= 0)) {
      throw new RangeError(`Sleep: ms must be a number >= 0, got ${String(ms)}`);
    }
    this.ms = ms;
    this.timeout = -1;
  }

  /** Arms the timer. */
  start(waiter: Waiter<void>): void {
    waiter.sched.setTimer(waiter, this.ms);
  }

  /** The time is up: resume normally. */
  override expire(waiter: Waiter<void>): void {
    waiter.resolve(undefined);
  }

  /** A short description for messages. */
  override toString(): string {
    return `Sleep(${this.ms})`;
  }
}
