/**
 * What the operations that start a coroutine (`AddCoro`, `Call`) share: the
 * coroutine function (or generator) and its arguments.
 *
 * @module
 */
import { Operation } from "./operation.ts";
import type { Coroutine, CoroutineFunction } from "./task.ts";

/**
 * @internal The base of `AddCoro` and `Call`: holds `coro` and `args`,
 * never times out, and names the coroutine in messages.
 */
// deno-lint-ignore no-explicit-any -- any argument list, checked by the function's own type
export abstract class CoroutineOperation<T, R, A extends any[]> extends Operation<T> {
  /** The coroutine function (or generator) to start. */
  readonly coro: CoroutineFunction<A, R> | Coroutine<R>;
  /** Its arguments. */
  readonly args: A;

  /** An operation that starts `coro(...args)`. */
  constructor(coro: CoroutineFunction<A, R> | Coroutine<R>, args: A) {
    super();
    this.coro = coro;
    this.args = args;
    this.timeout = -1;
  }

  /** `AddCoro(name)`, `Call(name)`: the operation and the coroutine function's name. */
  override toString(): string {
    const name = typeof this.coro === "function" ? this.coro.name || "anonymous" : "generator";
    return `${this.constructor.name}(${name})`;
  }
}
