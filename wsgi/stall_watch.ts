/**
 * `StallWatch`: one coarse timer for every wait of a server's connections
 * that must not stall — a head that must arrive, a keep-alive connection's
 * idle time, a body read, a response write. A wait shows it began or made
 * progress by changing a number (`stallMark`); the watch looks at each wait
 * once a period and reports the ones that made no progress for longer than
 * their timeout. Arming, restarting and ending a wait then cost a field
 * store — no clock read and no timer per connection, where a keep-alive
 * connection waits twice per request and waking ten thousand long polls
 * starts ten thousand writes at once.
 *
 * @module
 */
import type { Scheduler } from "../core/mod.ts";
import { Deadline } from "../core/deadline.ts";

/**
 * A wait that may stall, as a {@linkcode StallWatch} sees it: a connection's
 * reads, say. The last three fields are the watch's own bookkeeping, kept on
 * the wait so that watching ten thousand connections costs no object each
 * (start them at -1, 0, 0).
 */
export interface Stallable {
  /** Ms the wait under way may make no progress; 0 (or less) while nothing is waited for. */
  readonly stallTimeout: number;
  /** A number that changes whenever a wait begins or makes progress. */
  readonly stallMark: number;
  /** The wait made no progress for longer than its timeout (told once per wait). */
  stalled(): void;
  /** Where the wait is in the watch's list (-1: not watched). */
  watchSlot: number;
  /** The mark the watch saw last. */
  seenMark: number;
  /** Checks since the mark last changed; -1 once the wait was reported. */
  seenChecks: number;
}

/**
 * Watches waits: every `period` ms (a quarter of the shortest timeout, at
 * most a second) it looks at each one, and reports a wait that has made no
 * progress for its `stallTimeout` — never before, and at most two periods
 * after (one when the timeout is a whole number of periods, as the defaults
 * are). The timer runs only while something is watched.
 *
 * @example
 * ```ts
 * import { Scheduler, Sleep } from "@cogen/cogen/core";
 * import { StallWatch } from "./stall_watch.ts";
 * const sched = new Scheduler();
 * const watch = new StallWatch(sched, 40);
 * let stalled = false;
 * // A wait of 40 ms that never makes progress.
 * watch.add({ stallTimeout: 40, stallMark: 1, stalled: () => stalled = true, watchSlot: -1, seenMark: 0, seenChecks: 0 });
 * sched.add(function* () {
 *   yield new Sleep(100);
 * });
 * await sched.run();
 * stalled; // true
 * ```
 */
export class StallWatch {
  /** Ms between two checks. */
  readonly period: number;
  /** The waits watched, in no order (a removed one's place goes to the last). */
  readonly #waits: Stallable[] = [];
  readonly #tick: Deadline;

  /** Watches waits in `sched`'s time; `shortestTimeout` (ms) sets how often it looks. */
  constructor(sched: Scheduler, shortestTimeout: number) {
    if (!(shortestTimeout > 0)) {
      throw new RangeError(`StallWatch: shortestTimeout must be > 0 ms, got ${String(shortestTimeout)}`);
    }
    this.period = shortestTimeout / Math.max(4, Math.ceil(shortestTimeout / 1000));
    this.#tick = new Deadline(sched, () => this.#check());
  }

  /** How many waits are watched now. */
  get size(): number {
    return this.#waits.length;
  }

  /** Watches `wait` from now on (once is enough: it shows its progress in `stallMark`). */
  add(wait: Stallable): void {
    if (wait.watchSlot >= 0) return;
    wait.watchSlot = this.#waits.length;
    wait.seenMark = wait.stallMark;
    wait.seenChecks = 0;
    this.#waits.push(wait);
    if (!this.#tick.armed) this.#tick.arm(this.period);
  }

  /** Stops watching `wait` (its owner is closing). */
  remove(wait: Stallable): void {
    const slot = wait.watchSlot;
    if (slot < 0) return;
    const waits = this.#waits;
    const last = waits.pop()!;
    if (last !== wait) {
      waits[slot] = last;
      last.watchSlot = slot;
    }
    wait.watchSlot = -1;
  }

  #check(): void {
    const period = this.period;
    const waits = this.#waits;
    for (let i = 0; i < waits.length;) {
      const wait = waits[i];
      const timeout = wait.stallTimeout;
      const mark = wait.stallMark;
      if (timeout <= 0 || mark !== wait.seenMark) {
        // Nothing waited for; or a wait began or moved since the last check: counted from this one, so that
        // at least `seenChecks` whole periods have passed since, and none is reported early.
        wait.seenMark = mark;
        wait.seenChecks = 0;
      } else if (wait.seenChecks >= 0 && ++wait.seenChecks * period >= timeout - 1e-6) {
        wait.seenChecks = -1; // told once; a new wait (a new mark) starts counting again
        wait.stalled();
      }
      // A wait that left the list (its owner closed, told of the stall) has the last one in its place: look at it.
      if (waits[i] === wait) i++;
    }
    if (waits.length > 0) this.#tick.arm(period);
  }
}
