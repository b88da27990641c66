/**
 * `Await`: wait for a promise. Yielding a bare promise (or any thenable) from
 * a sync generator does the same.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";

/**
 * Whether `value` is a promise or any thenable (an object or function with a
 * `then` method): what the scheduler, `Race`/`All` and the server await.
 *
 * @example
 * ```ts
 * import { isPromiseLike } from "./await.ts";
 * isPromiseLike(Promise.resolve(1)); // true
 * isPromiseLike({ then: 1 }); // false
 * ```
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/**
 * Waits for `promise`: its value is sent back into the coroutine, its
 * rejection thrown in. With a `timeout`, an `OperationTimeout` is thrown in
 * instead when it takes too long (the promise itself goes on; its late outcome
 * is ignored).
 *
 * @example
 * ```ts
 * import { Await, Scheduler } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   const n: number = yield* new Await(Promise.resolve(7));
 *   const m: number = yield Promise.resolve(8); // a bare promise works too
 *   return n + m;
 * });
 * await sched.run();
 * task.result; // 15
 * ```
 */
export class Await<T> extends Operation<T> {
  /** The promise waited for. */
  readonly promise: PromiseLike<T>;

  /** Waits for `promise`; `options.timeout` in ms. */
  constructor(promise: PromiseLike<T>, options?: OperationOptions) {
    super();
    if (!isPromiseLike(promise)) {
      throw new TypeError(`Await: expected a promise (an object with a then method), got ${String(promise)}`);
    }
    this.promise = promise;
    this.applyOptions("Await", options);
  }

  /** Subscribes to the promise; a stale outcome (after a timeout or cancel) is ignored. */
  start(waiter: Waiter<T>): void {
    const epoch = waiter.epoch;
    this.promise.then(
      (value) => {
        if (waiter.epoch === epoch) waiter.resolve(value);
      },
      (error) => {
        if (waiter.epoch === epoch) waiter.reject(error);
      },
    );
  }
}
