/**
 * The scheduler's timers: one binary min-heap of entries ordered by deadline
 * (ties in the order they were added), driven by a single host timer. An
 * entry knows its index in the heap, so removing it is O(log n).
 *
 * @module
 */
/**
 * What the timer heap holds: a waiter's timeout, or a `Deadline`.
 */
export interface TimerEntry {
  /** When it fires, on the scheduler's clock. */
  deadline: number;
  /** Its place in the heap (-1 when not in it). */
  heapIndex: number;
  /** Breaks ties between equal deadlines: first armed, first fired. */
  timerSeq: number;
  /** Ms from arming to firing (kept for restarts). */
  timeout: number;
  /** Called when the time is up (after it left the heap). */
  expire(): void;
}

/**
 * A min-heap of timer entries by `deadline`, then by `timerSeq`.
 *
 * @example
 * ```ts
 * import { TimerHeap } from "./timer_heap.ts";
 * const heap = new TimerHeap();
 * heap.size; // 0
 * ```
 */
export class TimerHeap {
  #items: TimerEntry[] = [];
  #seq = 0;

  /** How many timers are pending. */
  get size(): number {
    return this.#items.length;
  }

  /** The entry with the earliest deadline, or `undefined`. */
  peek(): TimerEntry | undefined {
    return this.#items[0];
  }

  /** Adds an entry whose `deadline` is set. */
  push(entry: TimerEntry): void {
    entry.timerSeq = this.#seq++;
    const i = this.#items.length;
    this.#items.push(entry);
    entry.heapIndex = i;
    this.#up(i);
  }

  /** Removes and returns the earliest entry. */
  pop(): TimerEntry | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    this.#removeAt(0);
    return top;
  }

  /** Removes an entry that is in the heap (nothing happens if it is not). */
  remove(entry: TimerEntry): void {
    const i = entry.heapIndex;
    if (i < 0 || this.#items[i] !== entry) return;
    this.#removeAt(i);
  }

  /** Restores the order after the entry's `deadline` changed. */
  update(entry: TimerEntry): void {
    const i = entry.heapIndex;
    if (i < 0) return;
    entry.timerSeq = this.#seq++;
    this.#down(i);
    this.#up(entry.heapIndex);
  }

  #removeAt(i: number): void {
    const items = this.#items;
    const removed = items[i];
    const last = items.pop()!;
    removed.heapIndex = -1;
    if (last === removed) return;
    items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.timerSeq < b.timerSeq);
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!this.#less(item, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#less(items[child + 1], items[child])) child++;
      const c = items[child];
      if (!this.#less(c, item)) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
