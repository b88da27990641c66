/**
 * `WriteWatch`: one coarse timer for the writes of every connection of a
 * server. A write that moves no bytes for longer than the timeout gets its
 * writer's `writeStalled()` (the connection then closes its socket).
 * Starting, progressing and ending a write each cost one Map update — no
 * clock read and no timer per connection: waking ten thousand long polls
 * starts ten thousand writes at once, and a keep-alive connection starts one
 * per response.
 *
 * @module
 */
import { Deadline, type Scheduler } from "../core/mod.ts";

/** What a {@linkcode WriteWatch} watches: told when its write stalled too long. */
export interface WriteWatcher {
  /** Its write moved no bytes for longer than the timeout. */
  writeStalled(): void;
}

/**
 * Watches writes in progress: each is checked every `period` ms (at most a
 * second, at most a quarter of the timeout) and reported once it has moved
 * nothing for more than `timeout` ms — between `timeout` and
 * `timeout + period` after its last progress. The timer runs only while a
 * write is watched.
 *
 * @example
 * ```ts
 * import { Scheduler, Sleep } from "@cogen/cogen/core";
 * import { WriteWatch } from "@cogen/cogen/wsgi";
 * const sched = new Scheduler();
 * const watch = new WriteWatch(sched, 40);
 * let stalled = false;
 * watch.started({ writeStalled: () => stalled = true }); // and never progresses
 * sched.add(function* () {
 *   yield new Sleep(100);
 * });
 * await sched.run();
 * stalled; // true
 * ```
 */
export class WriteWatch {
  /** Ms a write may move nothing. */
  readonly timeout: number;
  /** Ms between two checks. */
  readonly period: number;
  /** The writes in progress, and for how long (ms, counted in periods) each has moved nothing. */
  readonly #writers = new Map<WriteWatcher, number>();
  readonly #tick: Deadline;

  /** Watches writes in `sched`'s time, reporting those stalled for more than `timeout` ms. */
  constructor(sched: Scheduler, timeout: number) {
    if (!(timeout > 0)) throw new RangeError(`WriteWatch: timeout must be > 0 ms, got ${String(timeout)}`);
    this.timeout = timeout;
    this.period = timeout / Math.max(4, Math.ceil(timeout / 1000));
    this.#tick = new Deadline(sched, () => this.#check());
  }

  /** How many writes are watched now. */
  get size(): number {
    return this.#writers.size;
  }

  /** `writer` began writing, or its write moved bytes: its stall time starts over. */
  started(writer: WriteWatcher): void {
    this.#writers.set(writer, 0);
    if (!this.#tick.armed) this.#tick.arm(this.period);
  }

  /** `writer` has written everything (or its write failed): no longer watched. */
  ended(writer: WriteWatcher): void {
    this.#writers.delete(writer);
  }

  #check(): void {
    const { period, timeout } = this;
    for (const [writer, stalled] of this.#writers) {
      // Counted from the first check after the last progress: more than `timeout` ms have passed
      // by the time this exceeds it.
      const now = stalled + period;
      if (now <= timeout) this.#writers.set(writer, now);
      else {
        this.#writers.delete(writer);
        writer.writeStalled();
      }
    }
    if (this.#writers.size > 0) this.#tick.arm(period);
  }
}
