/**
 * The errors the scheduler throws into coroutines.
 *
 * @module
 */
import type { Operation } from "./operation.ts";
import type { Task } from "./task.ts";

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
