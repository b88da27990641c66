/**
 * A double-ended queue on a growable ring buffer: the scheduler's run queue
 * and the queues' item store. Both ends are O(1) and nothing is copied on a
 * shift, unlike `Array.prototype.shift`.
 *
 * @example
 * ```ts
 * import { Deque } from "./deque.ts";
 * const d = new Deque<number>();
 * d.pushBack(2);
 * d.pushFront(1);
 * d.shift(); // 1
 * ```
 * @module
 */

/**
 * A ring-buffer deque.
 *
 * @example
 * ```ts
 * import { Deque } from "./deque.ts";
 * const d = new Deque<string>();
 * d.pushBack("a");
 * d.length; // 1
 * ```
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #mask: number;

  /** Creates an empty deque; `capacity` is rounded up to a power of two. */
  constructor(capacity = 16) {
    let size = 4;
    while (size < capacity) size *= 2;
    this.#items = new Array(size);
    this.#mask = size - 1;
  }

  /** How many items are in the deque. */
  get length(): number {
    return this.#length;
  }

  /** Appends an item at the back. */
  pushBack(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Prepends an item at the front. */
  pushFront(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item (`undefined` when empty). */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Returns the item at `index` from the front without removing it. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & this.#mask];
  }

  /** Removes every item. */
  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }

  /** Iterates from front to back. */
  *[Symbol.iterator](): Generator<T> {
    for (let i = 0; i < this.#length; i++) {
      yield this.#items[(this.#head + i) & this.#mask] as T;
    }
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length * 2;
    const items = new Array<T | undefined>(size);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = size - 1;
  }
}
