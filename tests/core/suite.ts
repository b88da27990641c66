/**
 * Shared helpers of the core test suite: a manual clock that knows its next
 * due time, a driver that runs a scheduler to the end on that clock, and a
 * scheduler factory that collects what escapes tasks.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import { ManualClock, Scheduler, type SchedulerOptions, type Task } from "../../core/mod.ts";

/**
 * Lets every pending microtask (and async generator step) settle: resolves on
 * the next macrotask turn. Uses `setImmediate` (no 4 ms clamp, unlike a
 * nested `setTimeout(0)`).
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `settle()` `n` times. */
export async function settleN(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await settle();
}

/**
 * A {@linkcode ManualClock} that also knows when its next timer is due, counts
 * `setTimer` calls and remembers the most timers ever pending at once.
 */
export class TestClock extends ManualClock {
  #due = new Map<unknown, number>();
  /** How many times `setTimer` was called. */
  setTimerCalls = 0;
  /** The most timers pending at once. */
  maxPending = 0;

  override setTimer(callback: () => void, delay: number): number {
    this.setTimerCalls++;
    const id: number = super.setTimer(() => {
      this.#due.delete(id);
      callback();
    }, delay);
    this.#due.set(id, this.now() + Math.max(0, delay));
    this.maxPending = Math.max(this.maxPending, this.pending);
    return id;
  }

  override clearTimer(id: unknown): void {
    this.#due.delete(id);
    super.clearTimer(id);
  }

  /** The time the earliest pending timer is due, or `undefined`. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const due of this.#due.values()) if (min === undefined || due < min) min = due;
    return min;
  }

  /** Advances to the next due timer (if any); true when one was due. */
  advanceToNext(): boolean {
    const due = this.nextDue();
    if (due === undefined) return false;
    this.advance(Math.max(0, due - this.now()));
    return true;
  }
}

/** A scheduler on a {@linkcode TestClock} whose escaped errors are collected. */
export interface Harness {
  sched: Scheduler;
  clock: TestClock;
  /** Every `onError(error, task)` call, in order. */
  errors: [unknown, Task<unknown>][];
}

/** Makes a scheduler on a fresh {@linkcode TestClock}; `onError` collects into `errors`. */
export function harness(options: Omit<SchedulerOptions, "clock"> = {}): Harness {
  const clock = new TestClock();
  const errors: [unknown, Task<unknown>][] = [];
  const sched = new Scheduler({
    onError: (error, task) => errors.push([error, task]),
    ...options,
    clock,
  });
  return { sched, clock, errors };
}

/**
 * Runs `sched` until `run()` resolves, jumping the manual clock from one due
 * timer to the next whenever every task is waiting. Fails (after stopping the
 * scheduler) when tasks are left but nothing can ever wake them.
 */
export function drive(sched: Scheduler, clock: TestClock, maxRounds = 100_000): Promise<void> {
  return finish(sched, clock, sched.run(), maxRounds);
}

/**
 * Like {@linkcode drive} for a `run()` already started: `done` is its promise.
 */
export async function finish(
  sched: Scheduler,
  clock: TestClock,
  done: Promise<void>,
  maxRounds = 100_000,
): Promise<void> {
  let finished = false;
  done.then(() => finished = true);
  let idle = 0;
  for (let round = 0; round < maxRounds; round++) {
    await settle();
    if (finished) return;
    // A second turn: a time-sliced drain (setImmediate) queued during the
    // first one runs before the clock moves, so timers never overtake work
    // that is ready.
    await settle();
    if (finished) return;
    if (clock.advanceToNext()) idle = 0;
    else if (++idle > 20) {
      sched.stop();
      await done;
      throw new Error(`drive: deadlock: ${sched.taskCount} task(s) wait and no timer is due`);
    }
  }
  sched.stop();
  await done;
  throw new Error(`drive: still running after ${maxRounds} rounds`);
}

/** Runs a scheduler on the manual clock to the end, then checks that no host timer is left. */
export async function driveClean(h: Harness, maxRounds?: number): Promise<void> {
  await drive(h.sched, h.clock, maxRounds);
  assert.equal(h.clock.pending, 0, "no host timer may be left once run() resolved");
}

/** Finishes a started `run()` (see {@linkcode finish}), then checks that no host timer is left. */
export async function finishClean(h: Harness, done: Promise<void>, maxRounds?: number): Promise<void> {
  await finish(h.sched, h.clock, done, maxRounds);
  assert.equal(h.clock.pending, 0, "no host timer may be left once run() resolved");
}

/**
 * Starts `run()` and lets the first drain happen. Returns the run promise
 * wrapped in an object (an async function cannot return a bare promise
 * without awaiting it).
 */
export async function start(sched: Scheduler): Promise<{ done: Promise<void> }> {
  const done = sched.run();
  await settle();
  return { done };
}

/** The scheduler's two default priorities cogen tests under: FIRST (3) and LAST (0). */
export const PRIORITIES = [["FIRST", 3], ["LAST", 0]] as const;

/** Asserts that a task was cancelled: state, aborted signal with an AbortError. */
export function assertCancelled(task: Task<unknown>): void {
  assert.equal(task.state, "cancelled");
  assert.equal(task.signal.aborted, true);
  assert.ok(task.signal.reason instanceof DOMException);
  assert.equal((task.signal.reason as DOMException).name, "AbortError");
}
