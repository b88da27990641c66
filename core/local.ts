/**
 * `Local`: coroutine-local storage, one value per task (cogen's
 * `coroutines.local`).
 *
 * @module
 */
import { followTasksAcrossAwaits, runningTask } from "./scheduler.ts";
import type { Task } from "./task.ts";

/**
 * A slot holding one value per task. `get`/`set` act on the task whose
 * coroutine is executing — in an async generator, across the `await`s of its
 * steps too. Outside any coroutine they throw rather than guess. Coroutines
 * started with `Call` share their caller's task, so its locals; tasks added
 * with `AddCoro` start empty.
 *
 * @example
 * ```ts
 * import { Local, Scheduler, Sleep } from "@cogen/cogen/core";
 * const requestId = new Local<number>();
 * const sched = new Scheduler();
 * const seen: (number | undefined)[] = [];
 * for (const id of [1, 2]) {
 *   sched.add(function* () {
 *     requestId.set(id);
 *     yield new Sleep(1); // the other task runs meanwhile
 *     seen.push(requestId.get());
 *   });
 * }
 * await sched.run();
 * seen; // [1, 2]
 * ```
 */
export class Local<T> {
  /** A coroutine-local: from now on the scheduler keeps track of the task across an async step's awaits. */
  constructor() {
    followTasksAcrossAwaits();
  }

  /** The value for the running task (`undefined` when unset). */
  get(): T | undefined {
    return current("get").locals?.get(this) as T | undefined;
  }

  /** Sets the value for the running task. */
  set(value: T): void {
    (current("set").locals ??= new Map()).set(this, value);
  }

  /** Whether the running task has a value. */
  has(): boolean {
    return current("has").locals?.has(this) ?? false;
  }

  /** Removes the running task's value; returns whether there was one. */
  delete(): boolean {
    return current("delete").locals?.delete(this) ?? false;
  }
}

function current(method: string): Task<unknown> {
  const task = runningTask();
  if (task === null) {
    throw new Error(
      `Local.${method}: no coroutine is executing here; call it from a coroutine's body (or code it calls)`,
    );
  }
  return task;
}
