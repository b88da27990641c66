/**
 * A task: one coroutine (with the stack of coroutines it `Call`ed) running in
 * a scheduler, and the handle to watch or cancel it.
 *
 * @module
 */
import { type Operation, type OperationTask, Waiter } from "./operation.ts";
import { BACK, type Placement } from "./priority.ts";
import type { Resume } from "./resume.ts";
import type { Scheduler } from "./scheduler.ts";
import type { WaitList } from "./wait_list.ts";

/** What a coroutine may yield: an operation, a promise, or nothing (give up control). */
export type Yieldable = Operation<unknown> | PromiseLike<unknown> | undefined;

/**
 * A coroutine: a sync or async generator that yields {@linkcode Yieldable}s and
 * is resumed with their results.
 */
export type Coroutine<R = unknown> =
  // deno-lint-ignore no-explicit-any -- the value sent back by `yield op` depends on the op
  | Generator<Yieldable, R, any>
  // deno-lint-ignore no-explicit-any -- as above
  | AsyncGenerator<Yieldable, R, any>;

/** A function that makes a coroutine, such as `function* () {}`. */
// deno-lint-ignore no-explicit-any -- arguments are checked where the function is passed
export type CoroutineFunction<A extends any[] = any[], R = unknown> = (...args: A) => Coroutine<R>;

/** The life of a task: `"running"` until it ends in one of the other three states. */
export type TaskState = "running" | "finished" | "failed" | "cancelled";

/**
 * A coroutine running in a {@linkcode Scheduler}, returned by
 * `Scheduler.add` and by the `AddCoro` operation.
 *
 * @example
 * ```ts
 * import { Scheduler, Sleep } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   yield new Sleep(10);
 *   return 42;
 * });
 * await sched.run();
 * task.state; // "finished"
 * task.result; // 42
 * ```
 */
export class Task<R = unknown> implements OperationTask {
  /** A number unique within the scheduler, in the order tasks were added. */
  readonly id: number;
  /** The coroutine function's name (for messages). */
  readonly name: string;
  /** The scheduler the task runs in. */
  readonly sched: Scheduler;
  /** `"running"` until the task ends. */
  state: TaskState = "running";
  /** What the coroutine returned (once `"finished"`). */
  result: R | undefined = undefined;
  /** What escaped the coroutine (once `"failed"`). */
  error: unknown = undefined;

  /** @ignore The running coroutine (the innermost `Call`). */
  gen: Coroutine<unknown> | null;
  /** @ignore The coroutines that `Call`ed it, outermost first. */
  callers: Coroutine<unknown>[] | null = null;
  /** @ignore Whether `gen` is an async generator. */
  isAsync: boolean;
  /** @ignore How the coroutine is resumed next. */
  resume: Resume = "next";
  /** @ignore The value sent, thrown or returned into it. */
  value: unknown = undefined;
  /** @ignore Whether it is in the run queue. */
  queued = false;
  /** @ignore Whether an async generator step is under way. */
  inFlight = false;
  /** @ignore Cancel asked while the coroutine was running: delivered at its next yield. */
  cancelRequested = false;
  /** @ignore `return()` has been delivered; its `finally` blocks are running. */
  cancelling = false;
  /** @ignore The task's own pending wait. */
  readonly waiter: TaskWaiter;
  /**
   * What the task serves, for the code that added it (a server sets the
   * connection): one field instead of a closure per task to find its state.
   */
  owner: unknown = null;
  /** @ignore Coroutine-local values (see `Local`). */
  locals: Map<object, unknown> | null = null;
  /** @ignore Waiters of `Join`. */
  joiners: WaitList | null = null;

  #done: PromiseWithResolvers<void> | null = null;
  #abort: AbortController | null = null;
  /** Set by `cancel()`: the reason `signal` aborts with. */
  #abortReason: DOMException | null = null;

  /** @ignore Use `Scheduler.add` or `AddCoro` to make tasks. */
  constructor(sched: Scheduler, id: number, gen: Coroutine<unknown>, name: string) {
    this.sched = sched;
    this.id = id;
    this.name = name;
    this.gen = gen;
    this.isAsync = isAsyncGenerator(gen);
    this.waiter = new TaskWaiter(sched, this);
  }

  /**
   * Resolves (never rejects) once the task has ended, in any state; read
   * `state`, `result` and `error` then.
   */
  get done(): Promise<void> {
    if (this.#done === null) {
      this.#done = Promise.withResolvers<void>();
      if (this.state !== "running") this.#done.resolve();
    }
    return this.#done.promise;
  }

  /** Aborted when the task is cancelled: pass it to `fetch` and the like. */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#abortReason !== null) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  /**
   * Cancels the task: its generator is `return()`ed (so its `finally` blocks
   * run, and may still yield operations), its pending operation is withdrawn
   * from any wait list, and `signal` aborts. Resolves once every `finally`
   * has finished. Cancelling an ended task does nothing.
   */
  cancel(): Promise<void> {
    return this.sched.cancel(this);
  }

  /** `Task#3(worker)`. */
  toString(): string {
    return `Task#${this.id}(${this.name})`;
  }

  /** @ignore Aborts `signal` (called by the scheduler on cancel). */
  abort(): void {
    if (this.#abortReason !== null) return;
    this.#abortReason = new DOMException(`${this} was cancelled`, "AbortError");
    this.#abort?.abort(this.#abortReason);
  }

  /** @ignore Whether `error` is the reason `signal` aborted with (a cancel, not a failure). */
  isAbortReason(error: unknown): boolean {
    return error !== null && error === this.#abortReason;
  }

  /** @ignore Marks the end: resolves `done`, settles the joiners (by the scheduler). */
  end(): void {
    this.gen = null;
    this.callers = null;
    this.locals = null;
    this.#done?.resolve();
    const joiners = this.joiners;
    if (joiners === null) return;
    this.joiners = null;
    for (let w = joiners.first; w !== null; w = joiners.first) this.settleJoiner(w, BACK);
  }

  /**
   * @ignore Settles a waiter of `Join` on this ended task: its result, or a
   * {@linkcode CoroutineError} when it failed or was cancelled.
   */
  settleJoiner(w: Waiter<unknown>, placement: Placement): void {
    if (this.state === "finished") w.resolve(this.result, placement);
    else if (this.state === "failed") {
      w.reject(
        new CoroutineError(this, `${this} failed: ${errorMessage(this.error)}`, this.error),
        placement,
      );
    } else w.reject(new CoroutineError(this, `${this} was cancelled`), placement);
  }
}

/**
 * Thrown by `Join` when the joined task failed or was cancelled; `cause` is the
 * task's error (`undefined` when it was cancelled).
 *
 * @example
 * ```ts
 * import { CoroutineError, Join, Scheduler } from "@cogen/cogen/core";
 * const sched = new Scheduler({ onError: () => {} });
 * const failing = sched.add(function* () {
 *   throw new Error("boom");
 * });
 * sched.add(function* () {
 *   try {
 *     yield new Join(failing);
 *   } catch (err) {
 *     if (err instanceof CoroutineError) return (err.cause as Error).message; // "boom"
 *   }
 * });
 * await sched.run();
 * ```
 */
export class CoroutineError extends Error {
  /** The task that failed or was cancelled. */
  readonly task: Task<unknown>;

  /** Creates the error for `task`; `cause` is what escaped it. */
  constructor(task: Task<unknown>, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "CoroutineError";
    this.task = task;
  }
}

/** @ignore A task's own waiter: settling it resumes the task. */
export class TaskWaiter extends Waiter<unknown> {
  /** The scheduler of the task. */
  declare readonly sched: Scheduler;
  /** The task this is the waiter of. */
  declare readonly task: Task<unknown>;

  protected deliver(ok: boolean, value: unknown, placement: Placement): void {
    this.sched.resume(this.task, ok ? "next" : "throw", value, placement);
  }
}

/** @ignore Whether a coroutine is an async generator. */
export function isAsyncGenerator(gen: Coroutine<unknown>): boolean {
  return typeof (gen as AsyncGenerator<unknown>)[Symbol.asyncIterator] === "function";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
