/**
 * The contract between an operation and the scheduler.
 *
 * A coroutine yields an {@linkcode Operation}; the scheduler calls its
 * `start(waiter)`. The operation either settles the waiter at once
 * (`waiter.resolve(value)` / `waiter.reject(error)`) or keeps it in a wait
 * list and settles it later. When the wait is abandoned (a timeout, a
 * cancelled task, a lost `Race`), the scheduler calls `withdraw(waiter)` so
 * the operation can forget it. Operations carry their own behaviour; the
 * scheduler stays small (as in cogen). A wait that times out throws
 * {@linkcode OperationTimeout} into the coroutine.
 *
 * A waiter sees its scheduler and its task through two interfaces declared
 * here, {@linkcode OperationScheduler} and {@linkcode OperationTask}, so that
 * this file depends on nothing above it: task.ts, scheduler.ts and every
 * operation build on it, never the other way round.
 *
 * @module
 */
import { BACK, checkPriority, type Placement, priority } from "./priority.ts";
import { checkTimeout } from "./timeout.ts";
import type { TimerEntry } from "./timer_heap.ts";

/**
 * What a waiter and its operation use of the scheduler they run in. The
 * `Scheduler` implements it; it is declared here so that this file, which
 * every operation and the scheduler build on, depends on nothing above it.
 *
 * @example
 * ```ts
 * import { Operation, type OperationScheduler, Scheduler, type Waiter } from "@cogen/cogen/core";
 * const sched: OperationScheduler = new Scheduler();
 * // An operation that completes after `ms`, using only the scheduler's timers.
 * class Pause extends Operation<void> {
 *   constructor(readonly ms: number) {
 *     super();
 *   }
 *   start(waiter: Waiter<void>): void {
 *     waiter.sched.setTimer(waiter, this.ms);
 *   }
 *   override expire(waiter: Waiter<void>): void {
 *     waiter.resolve(undefined);
 *   }
 * }
 * ```
 */
export interface OperationScheduler {
  /** Ms an operation waits at most when it sets no timeout (0: never). */
  readonly defaultTimeout: number;
  /** The clock's current time in ms. */
  now(): number;
  /** The priority an operation runs with (its own, or the default). */
  priorityOf(op: Operation<unknown>): number;
  /** Starts `op` for `waiter` (a branch of a combinator, say), then arms its timeout if it still waits. */
  begin(waiter: Waiter<unknown>, op: Operation<unknown>): void;
  /** Arms a timer: `entry.expire()` is called after `ms`. The entry must not be armed. */
  setTimer(entry: TimerEntry, ms: number): void;
  /** Disarms a timer (nothing happens if it is not armed). */
  clearTimer(entry: TimerEntry): void;
  /** Restarts an armed timer from now, for its `timeout` (a weak timeout saw activity). */
  restartTimer(entry: TimerEntry): void;
}

/**
 * What a waiter and its operation see of the task they wait for. The `Task`
 * implements it; it is declared here for the same reason as
 * {@linkcode OperationScheduler}.
 *
 * @example
 * ```ts
 * import { Operation, type Waiter } from "@cogen/cogen/core";
 * // An operation that completes at once with the name of the task that yielded it.
 * class TaskName extends Operation<string> {
 *   start(waiter: Waiter<string>): void {
 *     waiter.resolve(waiter.task.name);
 *   }
 * }
 * ```
 */
export interface OperationTask {
  /** A number unique within the scheduler, in the order tasks were added. */
  readonly id: number;
  /** The coroutine function's name (for messages). */
  readonly name: string;
  /** Aborted when the task is cancelled: pass it to `fetch` and the like. */
  readonly signal: AbortSignal;
}

/** Options shared by operations that can wait. */
export interface OperationOptions {
  /** Ms to wait at most; `-1` never, `0`/absent the scheduler's `defaultTimeout`. */
  timeout?: number;
  /** A {@linkcode priority} value; `priority.DEFAULT` (absent) uses the scheduler's. */
  priority?: number;
}

/**
 * The base class of every operation. Subclass it to write your own: implement
 * `start`, and `withdraw` if the operation keeps waiters anywhere.
 *
 * Every operation is also iterable once, so `yield*` gives a typed result:
 * `const v = yield* new WaitForSignal<string>("abc")`.
 *
 * @example
 * ```ts
 * import { Operation, Scheduler, type Waiter } from "@cogen/cogen/core";
 *
 * // An operation that completes at once with the current time.
 * class Now extends Operation<number> {
 *   start(waiter: Waiter<number>): void {
 *     waiter.resolve(waiter.sched.now());
 *   }
 * }
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   return yield* new Now();
 * });
 * await sched.run();
 * typeof task.result; // "number"
 * ```
 */
export abstract class Operation<T = unknown> {
  /** The priority; `priority.DEFAULT` uses the scheduler's `defaultPriority`. */
  priority: number = priority.DEFAULT;
  /** Ms to wait at most; `-1` never, `0`/`undefined` the scheduler's default. */
  timeout: number | undefined = undefined;

  /** Starts the operation for `waiter`: settle it now or keep it to settle later. */
  abstract start(waiter: Waiter<T>): void;

  /** Forgets a waiter that no longer waits (timeout, cancel, lost race). */
  withdraw(_waiter: Waiter<T>): void {}

  /**
   * Called when the waiter's timer fires: by default withdraws it and throws
   * an {@linkcode OperationTimeout} into its coroutine.
   */
  expire(waiter: Waiter<T>): void {
    this.withdraw(waiter);
    waiter.reject(new OperationTimeout(this as Operation<unknown>, waiter.timeout));
  }

  /** Sets the priority and returns the operation, for chaining. */
  withPriority(p: number): this {
    this.priority = checkPriority(this.constructor.name, p);
    return this;
  }

  /** Yields the operation once and returns its typed result (`yield*`). */
  *[Symbol.iterator](): Generator<Operation<T>, T, unknown> {
    return (yield this) as T;
  }

  /** A short description for error messages. */
  toString(): string {
    return this.constructor.name;
  }

  /** Applies the common options (checked). */
  protected applyOptions(where: string, options: OperationOptions | undefined): void {
    if (options === undefined) return;
    if (options.timeout !== undefined) this.timeout = checkTimeout(where, options.timeout);
    if (options.priority !== undefined) this.priority = checkPriority(where, options.priority);
  }
}

/**
 * Thrown into a coroutine when the operation it waits on times out. The
 * waiter has already been removed from the operation's wait list.
 *
 * @example
 * ```ts
 * import { OperationTimeout, Scheduler, WaitForSignal } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * sched.add(function* () {
 *   try {
 *     yield new WaitForSignal("never", { timeout: 10 });
 *   } catch (err) {
 *     if (err instanceof OperationTimeout) return "timed out";
 *     throw err;
 *   }
 * });
 * await sched.run();
 * ```
 */
export class OperationTimeout extends Error {
  /** The operation that timed out. */
  readonly operation: Operation<unknown>;
  /** The timeout, in ms. */
  readonly timeout: number;

  /** Creates the error for `operation` after `timeout` ms. */
  constructor(operation: Operation<unknown>, timeout: number) {
    super(`${operation} timed out after ${timeout} ms`);
    this.name = "OperationTimeout";
    this.operation = operation;
    this.timeout = timeout;
  }
}

/**
 * What an operation settles: the pending wait of one task (or of one branch of
 * a `Race`/`All`). It carries the links an operation needs to keep it in a
 * {@linkcode WaitList} and in the scheduler's timer heap, so waiting costs no
 * allocation beyond the operation itself.
 *
 * @example
 * ```ts
 * import { Operation, type Waiter } from "@cogen/cogen/core";
 * class Forever extends Operation<never> {
 *   start(_waiter: Waiter<never>): void {} // never settles; withdrawn on cancel
 * }
 * ```
 */
export abstract class Waiter<T = unknown> implements TimerEntry {
  /** The scheduler. */
  readonly sched: OperationScheduler;
  /** The task on whose behalf this waits. */
  readonly task: OperationTask;
  /** The operation being waited on, or `null` when not waiting. */
  op: Operation<T> | null = null;
  /** Increments whenever a wait ends: lets late callbacks notice they are stale. */
  epoch = 0;
  /** @ignore wait-list links, owned by {@linkcode WaitList}. */
  prev: Waiter<unknown> | null = null;
  /** @ignore */
  next: Waiter<unknown> | null = null;
  /** @ignore The `WaitList` it is in. */
  list: { remove(waiter: Waiter<unknown>): void } | null = null;
  /** @ignore timer fields, owned by the scheduler's timer heap. */
  deadline = Number.NaN; // a double from the start: V8 keeps one field representation
  /** @ignore */
  heapIndex = -1;
  /** @ignore */
  timerSeq = 0;
  /** The timeout in ms of the current timer (for messages and weak timeouts). */
  timeout = 0;
  /** Scratch space for the operation (the item of a parked put, for instance). */
  item: unknown = undefined;

  /** Creates a waiter of `task` in `sched`. */
  constructor(sched: OperationScheduler, task: OperationTask) {
    this.sched = sched;
    this.task = task;
  }

  /** Whether an operation is pending on this waiter. */
  get waiting(): boolean {
    return this.op !== null;
  }

  /**
   * Completes the wait with `value`; `placement` says where the coroutine
   * goes in the run queue. Ignored when not waiting.
   */
  resolve(value: T, placement: Placement = BACK): void {
    if (this.op === null) return;
    this.#end();
    this.deliver(true, value, placement);
  }

  /** Completes the wait by throwing `error` into the coroutine. */
  reject(error: unknown, placement: Placement = BACK): void {
    if (this.op === null) return;
    this.#end();
    this.deliver(false, error, placement);
  }

  /** Abandons the wait: the operation forgets the waiter; nothing is delivered. */
  withdraw(): void {
    const op = this.op;
    if (op === null) return;
    op.withdraw(this);
    this.#end();
  }

  /** @ignore The timer fired: the operation decides (see `Operation.expire`). */
  expire(): void {
    this.op?.expire(this);
  }

  /** Restarts the timer of a weak timeout: activity was seen. */
  touch(): void {
    if (this.heapIndex >= 0) this.sched.restartTimer(this);
  }

  /** Hands the outcome to the task (or to the combinator). */
  protected abstract deliver(ok: boolean, value: unknown, placement: Placement): void;

  #end(): void {
    if (this.list !== null) this.list.remove(this);
    if (this.heapIndex >= 0) this.sched.clearTimer(this);
    this.op = null;
    this.item = undefined;
    this.epoch++;
  }
}
