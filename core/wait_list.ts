/**
 * An intrusive doubly linked list of waiters: FIFO order, O(1) append and
 * O(1) removal of any waiter (a timeout or a cancel removes it at once, so
 * no tombstones pile up).
 *
 * @module
 */
import type { Waiter } from "./operation.ts";

/**
 * A FIFO list of waiters, linked through the waiters' own fields. A waiter is
 * in at most one list at a time; settling a waiter unlinks it.
 *
 * @example
 * ```ts
 * import { Operation, WaitList, type Waiter } from "@cogen/cogen/core";
 * // A gate: every waiter waits until open() is called.
 * class Gate {
 *   readonly waiters = new WaitList();
 *   wait(): Operation<void> {
 *     const waiters = this.waiters;
 *     return new class extends Operation<void> {
 *       start(w: Waiter<void>) {
 *         waiters.push(w);
 *       }
 *     }();
 *   }
 *   open(): void {
 *     for (let w = this.waiters.first; w !== null; w = this.waiters.first) w.resolve(undefined);
 *   }
 * }
 * ```
 */
export class WaitList {
  /** The oldest waiter, or `null`. */
  first: Waiter<unknown> | null = null;
  /** The newest waiter, or `null`. */
  last: Waiter<unknown> | null = null;
  /** How many waiters are linked. */
  length = 0;

  /** Appends a waiter (it must not be in a list). */
  push(waiter: Waiter<unknown>): void {
    waiter.list = this;
    waiter.prev = this.last;
    waiter.next = null;
    if (this.last === null) this.first = waiter;
    else this.last.next = waiter;
    this.last = waiter;
    this.length++;
  }

  /** Unlinks a waiter of this list. */
  remove(waiter: Waiter<unknown>): void {
    if (waiter.list !== this) return;
    const { prev, next } = waiter;
    if (prev === null) this.first = next;
    else prev.next = next;
    if (next === null) this.last = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    waiter.list = null;
    this.length--;
  }

  /** Unlinks and returns the oldest waiter, or `null`. */
  shift(): Waiter<unknown> | null {
    const waiter = this.first;
    if (waiter !== null) this.remove(waiter);
    return waiter;
  }
}
