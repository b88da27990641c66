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
import { Deadline, type Scheduler } from "../core/mod.ts";

/** A wait that may stall, as a {@linkcode StallWatch} sees it: a connection's reads, say. */
export interface Stallable {
  /** Ms the wait under way may make no progress; 0 (or less) while nothing is waited for. */
  readonly stallTimeout: number;
  /** A number that changes whenever a wait begins or makes progress. */
  readonly stallMark: number;
  /** The wait made no progress for longer than its timeout (told once per wait). */
  stalled(): void;
}

/** What the watch last saw of a wait. */
interface Seen {
  mark: number;
  /** Checks since its mark last changed (the wait began or moved); -1 once it was reported. */
  checks: number;
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
 * import { StallWatch } from "@cogen/cogen/wsgi";
 * const sched = new Scheduler();
 * const watch = new StallWatch(sched, 40);
 * let stalled = false;
 * // A wait of 40 ms that never makes progress.
 * watch.add({ stallTimeout: 40, stallMark: 1, stalled: () => stalled = true });
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
  readonly #waits = new Map<Stallable, Seen>();
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
    return this.#waits.size;
  }

  /** Watches `wait` from now on (once is enough: it shows its progress in `stallMark`). */
  add(wait: Stallable): void {
    if (this.#waits.has(wait)) return;
    this.#waits.set(wait, { mark: wait.stallMark, checks: 0 });
    if (!this.#tick.armed) this.#tick.arm(this.period);
  }

  /** Stops watching `wait` (its owner is closing). */
  remove(wait: Stallable): void {
    this.#waits.delete(wait);
  }

  #check(): void {
    const period = this.period;
    for (const [wait, seen] of this.#waits) {
      const timeout = wait.stallTimeout;
      const mark = wait.stallMark;
      if (timeout <= 0 || mark !== seen.mark) {
        // Nothing waited for; or a wait began or moved since the last check: counted from this one, so that
        // at least `checks` whole periods have passed since, and none is reported early.
        seen.mark = mark;
        seen.checks = 0;
      } else if (seen.checks >= 0 && ++seen.checks * period >= timeout - 1e-6) {
        seen.checks = -1; // told once; a new wait (a new mark) starts counting again
        wait.stalled();
      }
    }
    if (this.#waits.size > 0) this.#tick.arm(period);
  }
}
