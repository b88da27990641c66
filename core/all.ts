/**
 * `All`: every one of several operations, at once.
 *
 * @module
 */
import { type BranchParent, BranchWaiter, toOperations, withdrawAll } from "./branch.ts";
import { Operation, type Waiter } from "./operation.ts";
import { FRONT, type Placement } from "./priority.ts";
import type { ResultOf } from "./race.ts";
import type { Yieldable } from "./task.ts";

/** The results of a list of operations, position by position. */
export type ResultsOf<Ops extends readonly unknown[]> = { -readonly [K in keyof Ops]: ResultOf<Ops[K]> };

/**
 * Starts every operation (promises are awaited) and completes with all their
 * results, in order. On the first error the others are withdrawn and the error
 * is thrown in.
 *
 * @example
 * ```ts
 * import { All, Scheduler, Sleep } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   const [a, b] = yield* new All([Promise.resolve(1), new Sleep(5)]);
 *   return [a, b];
 * });
 * await sched.run();
 * task.result; // [1, undefined]
 * ```
 */
export class All<const Ops extends readonly Yieldable[]> extends Operation<ResultsOf<Ops>> {
  /** The operations. */
  readonly operations: Operation<unknown>[];

  /**
   * Creates the operation.
   *
   * @throws {TypeError} when `ops` holds something that is not an operation or a promise. */
  constructor(ops: Ops) {
    super();
    this.operations = toOperations("All", ops);
    this.timeout = -1;
  }

  /** Starts every branch (stops early on an error). */
  start(waiter: Waiter<ResultsOf<Ops>>): void {
    const ops = this.operations;
    const state = new AllState(waiter as Waiter<unknown>, ops.length);
    waiter.item = state;
    for (let i = 0; i < ops.length && waiter.op === this; i++) {
      const branch = new BranchWaiter(waiter as Waiter<unknown>, state, i);
      state.branches.push(branch);
      waiter.sched.begin(branch, ops[i]);
    }
    state.started = true;
    if (waiter.op === this && state.remaining === 0) waiter.resolve(state.results as ResultsOf<Ops>, FRONT);
  }

  /** Withdraws every branch. */
  override withdraw(waiter: Waiter<ResultsOf<Ops>>): void {
    withdrawAll((waiter.item as AllState).branches);
  }

  /** A short description for messages. */
  override toString(): string {
    return `All(${this.operations.join(", ")})`;
  }
}

class AllState implements BranchParent {
  readonly branches: BranchWaiter[] = [];
  readonly results: unknown[];
  remaining: number;
  started = false;

  constructor(readonly outer: Waiter<unknown>, count: number) {
    this.results = new Array(count);
    this.remaining = count;
  }

  settled(branch: BranchWaiter, ok: boolean, value: unknown, placement: Placement): void {
    if (!ok) {
      withdrawAll(this.branches);
      this.outer.reject(value, placement);
      return;
    }
    this.results[branch.index] = value;
    if (--this.remaining === 0 && this.started) this.outer.resolve(this.results, placement);
  }
}
