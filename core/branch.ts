/**
 * Branches: the waiters `Race` and `All` start their operations with. A branch
 * belongs to the same task; when it settles it tells its combinator.
 *
 * @module
 */
import { Await, isPromiseLike } from "./await.ts";
import { Operation, Waiter } from "./operation.ts";
import type { Placement } from "./priority.ts";
import type { Yieldable } from "./task.ts";
import { describe } from "./describe.ts";

/** @ignore What a combinator does when one of its branches settles. */
export interface BranchParent {
  settled(branch: BranchWaiter, ok: boolean, value: unknown, placement: Placement): void;
}

/** @ignore The waiter of one branch of a `Race` or `All`. */
export class BranchWaiter extends Waiter<unknown> {
  /** The combinator. */
  readonly parent: BranchParent;
  /** The branch's position in the list of operations. */
  readonly index: number;

  constructor(outer: Waiter<unknown>, parent: BranchParent, index: number) {
    super(outer.sched, outer.task);
    this.parent = parent;
    this.index = index;
  }

  protected deliver(ok: boolean, value: unknown, placement: Placement): void {
    this.parent.settled(this, ok, value, placement);
  }
}

/**
 * @ignore Turns what `Race`/`All` were given into operations (promises become
 * `Await`s).
 */
export function toOperations(where: string, items: Iterable<Yieldable>): Operation<unknown>[] {
  if (items === null || typeof (items as Iterable<Yieldable>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(`${where}: expected an array of operations or promises, got ${describe(items)}`);
  }
  const ops: Operation<unknown>[] = [];
  let i = 0;
  for (const item of items) {
    if (item instanceof Operation) ops.push(item);
    else if (isPromiseLike(item)) {
      ops.push(new Await(item));
    } else {
      throw new TypeError(`${where}: item ${i} is ${describe(item)}; expected an Operation or a promise`);
    }
    i++;
  }
  return ops;
}

/** @ignore Withdraws every branch still waiting. */
export function withdrawAll(branches: BranchWaiter[]): void {
  for (const branch of branches) branch.withdraw();
}
