/**
 * `WriteWatch`: one coarse timer for the writes of every connection of a
 * server. A write that moves no bytes for longer than the timeout gets its
 * writer's `writeStalled()` (the connection then closes its socket).
 * A writer shows its progress by changing a number (`writeMark`); the
 * watch looks at it once a period. Starting, progressing and ending a write
 * cost nothing more — no clock read, no timer and no registration per write:
 * waking ten thousand long polls starts ten thousand writes at once, and a
 * keep-alive connection starts one per response.
 *
 * @module
 */
import { Deadline, type Scheduler } from "../core/mod.ts";

/** What a {@linkcode WriteWatch} watches: a connection, say. */
export interface WriteWatcher {
  /**
   * A number that changes whenever a write begins or moves bytes, and is
   * negative while nothing is being written.
   */
  readonly writeMark: number;
  /** Its write moved no bytes for longer than the timeout. */
  writeStalled(): void;
}

/** What the watch last saw of a writer. */
interface Seen {
  mark: number;
  /** Ms (counted in periods) since its mark last changed, while it writes. */
  stalled: number;
}

/**
 * Watches writers: every `period` ms (at most a second, at most a quarter of
 * the timeout) it looks at each one's `writeMark`, and reports a writer
 * whose write has moved nothing for more than `timeout` ms — between
 * `timeout` and `timeout + period` after its last progress — then forgets
 * it. The timer runs only while a writer is watched.
 *
 * @example
 * ```ts
 * import { Scheduler, Sleep } from "@cogen/cogen/core";
 * import { WriteWatch } from "@cogen/cogen/wsgi";
 * const sched = new Scheduler();
 * const watch = new WriteWatch(sched, 40);
 * let stalled = false;
 * watch.add({ writeMark: 1, writeStalled: () => stalled = true }); // a write that never progresses
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
  readonly #writers = new Map<WriteWatcher, Seen>();
  readonly #tick: Deadline;

  /** Watches writers in `sched`'s time, reporting writes stalled for more than `timeout` ms. */
  constructor(sched: Scheduler, timeout: number) {
    if (!(timeout > 0)) throw new RangeError(`WriteWatch: timeout must be > 0 ms, got ${String(timeout)}`);
    this.timeout = timeout;
    this.period = timeout / Math.max(4, Math.ceil(timeout / 1000));
    this.#tick = new Deadline(sched, () => this.#check());
  }

  /** How many writers are watched now. */
  get size(): number {
    return this.#writers.size;
  }

  /** Watches `writer` from now on (once is enough: its writes are seen through its `writeMark`). */
  add(writer: WriteWatcher): void {
    if (this.#writers.has(writer)) return;
    this.#writers.set(writer, { mark: writer.writeMark, stalled: 0 });
    if (!this.#tick.armed) this.#tick.arm(this.period);
  }

  /** Stops watching `writer` (it is closing). */
  remove(writer: WriteWatcher): void {
    this.#writers.delete(writer);
  }

  #check(): void {
    const { period, timeout } = this;
    for (const [writer, seen] of this.#writers) {
      const mark = writer.writeMark;
      if (mark < 0) seen.stalled = 0;
      else if (mark !== seen.mark) {
        // It moved within the last period: counted as a whole one, it is never reported early.
        seen.mark = mark;
        seen.stalled = period;
      } else if ((seen.stalled += period) > timeout) {
        this.#writers.delete(writer);
        writer.writeStalled();
      }
    }
    if (this.#writers.size > 0) this.#tick.arm(period);
  }
}
