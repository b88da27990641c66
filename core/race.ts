/**
 * `Race`: the first of several operations to finish wins.
 *
 * @module
 */
import { type BranchParent, BranchWaiter, toOperations, withdrawAll } from "./branch.ts";
import { Operation, type Waiter } from "./operation.ts";
import type { Placement } from "./priority.ts";
import type { Yieldable } from "./task.ts";

/** The union of the results of a list of operations. */
export type ResultOf<T> = T extends Operation<infer R> ? R : T extends PromiseLike<infer P> ? P : never;

/**
 * Starts every operation (promises are awaited) and completes with the
 * outcome of the first to finish: its value, or its error thrown in. The
 * others are withdrawn from their wait lists at once.
 *
 * @example
 * ```ts
 * import { Race, Scheduler, Sleep, WaitForSignal } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   // Wait for "ready", or give up after 50 ms.
 *   const value = yield* new Race([new WaitForSignal<string>("ready"), new Sleep(50)]);
 *   return value ?? "gave up";
 * });
 * await sched.run();
 * task.result; // "gave up"
 * ```
 */
export class Race<const Ops extends readonly Yieldable[]> extends Operation<ResultOf<Ops[number]>> {
  /** The operations raced. */
  readonly operations: Operation<unknown>[];

  /**
   * Creates the operation.
   *
   * @throws {TypeError} when `ops` is empty or holds something that is not an
   * operation or a promise.
   */
  constructor(ops: Ops) {
    super();
    this.operations = toOperations("Race", ops);
    if (this.operations.length === 0) {
      throw new TypeError("Race: needs at least one operation (a race of none would never finish)");
    }
    this.timeout = -1;
  }

  /** Starts the branches until one settles. */
  start(waiter: Waiter<ResultOf<Ops[number]>>): void {
    const state = new RaceState(waiter as Waiter<unknown>);
    waiter.item = state;
    const ops = this.operations;
    for (let i = 0; i < ops.length && waiter.op === this; i++) {
      const branch = new BranchWaiter(waiter as Waiter<unknown>, state, i);
      state.branches.push(branch);
      waiter.sched.begin(branch, ops[i]);
    }
  }

  /** Withdraws every branch. */
  override withdraw(waiter: Waiter<ResultOf<Ops[number]>>): void {
    withdrawAll((waiter.item as RaceState).branches);
  }

  /** A short description for messages. */
  override toString(): string {
    return `Race(${this.operations.join(", ")})`;
  }
}

class RaceState implements BranchParent {
  readonly branches: BranchWaiter[] = [];
  constructor(readonly outer: Waiter<unknown>) {}

  settled(_branch: BranchWaiter, ok: boolean, value: unknown, placement: Placement): void {
    withdrawAll(this.branches);
    if (ok) this.outer.resolve(value, placement);
    else this.outer.reject(value, placement);
  }
}
