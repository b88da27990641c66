/**
 * `AddCoro`: start another coroutine without pausing.
 *
 * @module
 */
import { CoroutineOperation } from "./coroutine_operation.ts";
import type { Waiter } from "./operation.ts";
import { placementOfWoken, placementOfYielder } from "./priority.ts";
import type { Scheduler } from "./scheduler.ts";
import type { Coroutine, CoroutineFunction, Task } from "./task.ts";

/**
 * Adds a coroutine to the scheduler (called with `args`) and returns its
 * `Task` without waiting for it. The priority orders the new task and the
 * caller (see `priority`): with `LAST` the new one runs first.
 *
 * @example
 * ```ts
 * import { AddCoro, Join, Scheduler } from "@cogen/cogen/core";
 * function* double(n: number) {
 *   return n * 2;
 * }
 * const sched = new Scheduler();
 * const main = sched.add(function* () {
 *   const child = yield* new AddCoro(double, 21);
 *   return yield* new Join(child);
 * });
 * await sched.run();
 * main.result; // 42
 * ```
 */
// deno-lint-ignore no-explicit-any -- any argument list, checked by the function's own type
export class AddCoro<R = unknown, A extends any[] = any[]> extends CoroutineOperation<Task<R>, R, A> {
  /** Adds `coro(...args)`. */
  constructor(coro: CoroutineFunction<A, R> | Coroutine<R>, ...args: A) {
    super(coro, args);
  }

  /** Spawns the task; never waits. */
  start(waiter: Waiter<Task<R>>): void {
    const p = waiter.sched.priorityOf(this);
    // A waiter's scheduler is a Scheduler: operation.ts only names what every operation needs of it.
    const task = (waiter.sched as Scheduler).spawn(this.coro, this.args, placementOfWoken(p), "AddCoro");
    waiter.resolve(task, placementOfYielder(p));
  }
}
