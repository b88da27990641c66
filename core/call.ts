/**
 * `Call`: run a sub-coroutine to completion in the same task.
 *
 * @module
 */
import { CoroutineOperation } from "./coroutine_operation.ts";
import type { Waiter } from "./operation.ts";
import { FRONT } from "./priority.ts";
import { type Coroutine, type CoroutineFunction, isAsyncGenerator, TaskWaiter } from "./task.ts";
import { describe } from "./describe.ts";

/**
 * Runs `coro(...args)` to completion first, in the same task, and returns its
 * return value (its error is thrown into the caller). Nesting is a loop in the
 * scheduler, not recursion: 10 000 nested calls do not overflow the stack.
 * The callee shares the task: its `Local`s and its cancellation.
 *
 * @example
 * ```ts
 * import { Call, Scheduler, Sleep } from "@cogen/cogen/core";
 * function* add(a: number, b: number) {
 *   yield new Sleep(1);
 *   return a + b;
 * }
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   return yield* new Call(add, 1, 2);
 * });
 * await sched.run();
 * task.result; // 3
 * ```
 */
// deno-lint-ignore no-explicit-any -- any argument list, checked by the function's own type
export class Call<R = unknown, A extends any[] = any[]> extends CoroutineOperation<R, R, A> {
  /** Calls `coro(...args)`. */
  constructor(coro: CoroutineFunction<A, R> | Coroutine<R>, ...args: A) {
    super(coro, args);
  }

  /**
   * Pushes the callee on the task's stack; it starts at once.
   *
   * @throws {TypeError} inside `Race`/`All` (a call needs the whole task; use
   * `AddCoro` and `Join`), or when `coro` is not a coroutine.
   */
  start(waiter: Waiter<R>): void {
    if (!(waiter instanceof TaskWaiter)) {
      throw new TypeError(
        "Call cannot be a branch of Race or All: use new Join(yield* new AddCoro(...)) there",
      );
    }
    const gen = typeof this.coro === "function" ? this.coro(...this.args) : this.coro;
    if (typeof gen !== "object" || gen === null || typeof (gen as Generator).next !== "function") {
      throw new TypeError(`Call: expected a generator function or a generator, got ${describe(gen)}`);
    }
    const task = waiter.task;
    (task.callers ??= []).push(task.gen!);
    task.gen = gen as Coroutine<unknown>;
    task.isAsync = isAsyncGenerator(gen as Coroutine<unknown>);
    // The callee's first next() ignores the value sent in.
    waiter.resolve(undefined as R, FRONT);
  }
}
