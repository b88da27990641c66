/**
 * The contract between an operation and the scheduler.
 *
 * A coroutine yields an {@linkcode Operation}; the scheduler calls its
 * `start(waiter)`. The operation either settles the waiter at once
 * (`waiter.resolve(value)` / `waiter.reject(error)`) or keeps it in a wait
 * list and settles it later. When the wait is abandoned (a timeout, a
 * cancelled task, a lost `Race`), the scheduler calls `withdraw(waiter)` so
 * the operation can forget it. Operations carry their own behaviour; the
 * scheduler stays small (as in cogen).
 *
 * @module
 */
import { OperationTimeout } from "./errors.ts";
import { BACK, checkPriority, type Placement, priority } from "./priority.ts";
import type { Scheduler } from "./scheduler.ts";
import type { Task } from "./task.ts";
import { checkTimeout } from "./timeout.ts";
import type { TimerEntry } from "./timer_heap.ts";
import type { WaitList } from "./wait_list.ts";

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
  readonly sched: Scheduler;
  /** The task on whose behalf this waits. */
  readonly task: Task<unknown>;
  /** The operation being waited on, or `null` when not waiting. */
  op: Operation<T> | null = null;
  /** Increments whenever a wait ends: lets late callbacks notice they are stale. */
  epoch = 0;
  /** @ignore wait-list links, owned by {@linkcode WaitList}. */
  prev: Waiter<unknown> | null = null;
  /** @ignore */
  next: Waiter<unknown> | null = null;
  /** @ignore */
  list: WaitList | null = null;
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
  constructor(sched: Scheduler, task: Task<unknown>) {
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
