/**
 * `Join`: wait for another task to end.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { FRONT } from "./priority.ts";
import type { Task } from "./task.ts";
import { WaitList } from "./wait_list.ts";

/**
 * Waits until `task` ends and returns its return value; if it failed or was
 * cancelled, a `CoroutineError` is thrown in (its `cause` is the task's
 * error).
 *
 * @example
 * ```ts
 * import { AddCoro, Join, Scheduler, Sleep } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const main = sched.add(function* () {
 *   const worker = yield* new AddCoro(function* () {
 *     yield new Sleep(5);
 *     return "done";
 *   });
 *   return yield* new Join(worker, { timeout: 1000 });
 * });
 * await sched.run();
 * main.result; // "done"
 * ```
 */
export class Join<R = unknown> extends Operation<R> {
  /** The task waited for. */
  readonly task: Task<R>;

  /** Waits for `task`; `options.timeout` in ms. */
  constructor(task: Task<R>, options?: OperationOptions) {
    super();
    this.task = task;
    this.applyOptions("Join", options);
  }

  /**
   * Completes at once when the task has ended, else waits.
   *
   * @throws {Error} when the task belongs to another scheduler, or is the caller itself.
   */
  start(waiter: Waiter<R>): void {
    const task = this.task as Task<unknown>;
    if (task.sched !== waiter.sched) {
      throw new Error(`Join: ${task} belongs to another scheduler; join tasks of the scheduler you run in`);
    }
    if (task === waiter.task) throw new Error(`Join: ${task} cannot join itself (it would wait forever)`);
    if (task.state !== "running") task.settleJoiner(waiter as Waiter<unknown>, FRONT);
    else (task.joiners ??= new WaitList()).push(waiter);
  }

  /** A short description for messages. */
  override toString(): string {
    return `Join(${this.task})`;
  }
}
