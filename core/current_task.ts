/**
 * `CurrentTask`: the task running the coroutine.
 *
 * @module
 */
import { Operation, type Waiter } from "./operation.ts";
import { FRONT } from "./priority.ts";
import type { Task } from "./task.ts";

/**
 * Returns the task running the coroutine, at once: for its `signal` (abort a
 * `fetch` when the task is cancelled) or its `id`.
 *
 * @example
 * ```ts
 * import { CurrentTask, Scheduler } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * sched.add(async function* () {
 *   const task = yield* new CurrentTask();
 *   task.signal.aborted; // false: aborted only when the task is cancelled
 * });
 * await sched.run();
 * ```
 */
export class CurrentTask extends Operation<Task<unknown>> {
  /** Resolves with the waiter's task. */
  start(waiter: Waiter<Task<unknown>>): void {
    // A waiter's task is a Task: operation.ts only names what every operation needs of it.
    waiter.resolve(waiter.task as Task<unknown>, FRONT);
  }
}
