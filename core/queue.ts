/**
 * `Queue`: a FIFO queue between coroutines, as Python's `queue.Queue` with
 * operations instead of blocking calls (cogen's `cogen.core.queue`).
 *
 * @module
 */
import { Deque } from "./deque.ts";
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { FRONT, placementOfWoken, placementOfYielder } from "./priority.ts";
import { WaitList } from "./wait_list.ts";

/**
 * Thrown by `Queue.getNowait()` when the queue is empty.
 *
 * @example
 * ```ts
 * import { Queue, QueueEmpty } from "@cogen/cogen/core";
 * try {
 *   new Queue().getNowait();
 * } catch (err) {
 *   err instanceof QueueEmpty; // true
 * }
 * ```
 */
export class QueueEmpty extends Error {
  /** Creates the error. */
  constructor(message = "Queue.getNowait: the queue is empty; yield q.get() to wait for an item") {
    super(message);
    this.name = "QueueEmpty";
  }
}

/**
 * Thrown by `Queue.putNowait()` when the queue is full.
 *
 * @example
 * ```ts
 * import { Queue, QueueFull } from "@cogen/cogen/core";
 * const q = new Queue<number>(1);
 * q.putNowait(1);
 * try {
 *   q.putNowait(2);
 * } catch (err) {
 *   err instanceof QueueFull; // true
 * }
 * ```
 */
export class QueueFull extends Error {
  /** Creates the error. */
  constructor(message = "Queue.putNowait: the queue is full; yield q.put(item) to wait for room") {
    super(message);
    this.name = "QueueFull";
  }
}

/**
 * A FIFO queue of at most `maxsize` items (0: unbounded). `get` and `put` are
 * operations that wait (with optional timeouts); `getNowait` and `putNowait`
 * never wait and throw `QueueEmpty` / `QueueFull` instead. `join` waits until
 * every item put has had its `taskDone()`.
 *
 * A hand-off to a parked getter or putter completes that parked operation, so
 * its priority orders the two coroutines: the one that made the hand-off is
 * placed as "woken", the parked one as "the yielder" (see `priority`). With
 * `LAST`, the coroutine that made the hand-off goes on first; with `FIRST`,
 * the parked one does. (This is how cogen's own tests order them.)
 *
 * @example
 * ```ts
 * import { Queue, Scheduler } from "@cogen/cogen/core";
 * const q = new Queue<number>(10);
 * const sched = new Scheduler();
 * sched.add(function* () {
 *   for (let i = 0; i < 3; i++) yield q.put(i);
 * });
 * const consumer = sched.add(function* () {
 *   let sum = 0;
 *   for (let i = 0; i < 3; i++) sum += yield* q.get({ timeout: 1000 });
 *   return sum;
 * });
 * await sched.run();
 * consumer.result; // 3
 * ```
 */
export class Queue<T> {
  /** The most items the queue holds (0: unbounded). */
  readonly maxsize: number;
  #items = new Deque<T>();
  #getters = new WaitList();
  #putters = new WaitList();
  #joiners = new WaitList();
  #unfinished = 0;

  /**
   * Creates an empty queue.
   *
   * @throws {RangeError} when `maxsize` is not an integer >= 0. */
  constructor(maxsize = 0) {
    if (!Number.isInteger(maxsize) || maxsize < 0) {
      throw new RangeError(`Queue: maxsize must be an integer >= 0 (0: unbounded), got ${String(maxsize)}`);
    }
    this.maxsize = maxsize;
  }

  /** How many items are in the queue. */
  qsize(): number {
    return this.#items.length;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this.#items.length === 0;
  }

  /** Whether the queue holds `maxsize` items. */
  full(): boolean {
    return this.maxsize > 0 && this.#items.length >= this.maxsize;
  }

  /** How many items were put and not yet marked done with `taskDone()`. */
  get unfinishedTasks(): number {
    return this.#unfinished;
  }

  /** An operation that takes the oldest item, waiting while the queue is empty. */
  get(options?: OperationOptions): Operation<T> {
    return new QueueGet(this, options);
  }

  /** An operation that adds `item`, waiting while the queue is full. */
  put(item: T, options?: OperationOptions): Operation<void> {
    return new QueuePut(this, item, options);
  }

  /** An operation that waits until every item put has had its `taskDone()`. */
  join(options?: OperationOptions): Operation<void> {
    return new QueueJoin(this, options);
  }

  /**
   * Takes the oldest item now.
   *
   * @throws {QueueEmpty} when there is none.
   */
  getNowait(): T {
    if (this.#items.length === 0) throw new QueueEmpty();
    const item = this.#items.shift()!;
    this.#admitPutter(null, item);
    return item;
  }

  /**
   * Adds `item` now (handing it to a waiting getter if there is one).
   *
   * @throws {QueueFull} when the queue is full.
   */
  putNowait(item: T): void {
    const getter = this.#getters.first;
    if (getter !== null) {
      this.#unfinished++;
      getter.resolve(item);
      return;
    }
    if (this.full()) throw new QueueFull();
    this.#unfinished++;
    this.#items.pushBack(item);
  }

  /**
   * Marks one item taken with `get` as processed; when every item is, the
   * coroutines waiting in `join` resume. Call it directly (no need to yield).
   *
   * @throws {Error} when called more times than items were put.
   */
  taskDone(): void {
    if (this.#unfinished === 0) {
      throw new Error("Queue.taskDone: called more times than items were put; call it once per item taken");
    }
    if (--this.#unfinished > 0) return;
    for (let w = this.#joiners.first; w !== null; w = this.#joiners.first) w.resolve(undefined);
  }

  /** @ignore QueueGet.start */
  startGet(waiter: Waiter<T>): void {
    if (this.#items.length === 0) {
      this.#getters.push(waiter);
      return;
    }
    const item = this.#items.shift()!;
    // A slot opened: admit the oldest parked putter (a hand-off to it).
    if (!this.#admitPutter(waiter, item)) waiter.resolve(item, FRONT);
  }

  /** @ignore QueuePut.start */
  startPut(waiter: Waiter<void>, item: T): void {
    const getter = this.#getters.first;
    if (getter !== null) {
      // Hand-off: the parked get completes; its priority orders the two.
      this.#unfinished++;
      const p = waiter.sched.priorityOf(getter.op!);
      waiter.resolve(undefined, placementOfWoken(p));
      getter.resolve(item, placementOfYielder(p));
      return;
    }
    if (this.full()) {
      waiter.item = item;
      this.#putters.push(waiter);
      return;
    }
    this.#unfinished++;
    this.#items.pushBack(item);
    waiter.resolve(undefined, FRONT);
  }

  /** @ignore QueueJoin.start */
  startJoin(waiter: Waiter<void>): void {
    if (this.#unfinished === 0) waiter.resolve(undefined, FRONT);
    else this.#joiners.push(waiter);
  }

  /**
   * Moves the oldest parked putter's item into the queue and resumes it.
   * `actor` is the getter that opened the slot by taking `taken` (null: a
   * `getNowait`); it is resumed too, in the order the parked put's priority
   * says.
   */
  #admitPutter(actor: Waiter<T> | null, taken: T): boolean {
    const putter = this.#putters.first;
    if (putter === null || this.full()) return false;
    this.#items.pushBack(putter.item as T);
    this.#unfinished++;
    if (actor === null) {
      putter.resolve(undefined);
      return true;
    }
    const p = actor.sched.priorityOf(putter.op!);
    actor.resolve(taken, placementOfWoken(p));
    putter.resolve(undefined, placementOfYielder(p));
    return true;
  }
}

class QueueGet<T> extends Operation<T> {
  constructor(readonly queue: Queue<T>, options: OperationOptions | undefined) {
    super();
    this.applyOptions("Queue.get", options);
  }
  start(waiter: Waiter<T>): void {
    this.queue.startGet(waiter);
  }
  /** A short description for messages. */
  override toString(): string {
    return "Queue.get";
  }
}

class QueuePut<T> extends Operation<void> {
  constructor(readonly queue: Queue<T>, readonly item: T, options: OperationOptions | undefined) {
    super();
    this.applyOptions("Queue.put", options);
  }
  start(waiter: Waiter<void>): void {
    this.queue.startPut(waiter, this.item);
  }
  /** A short description for messages. */
  override toString(): string {
    return "Queue.put";
  }
}

class QueueJoin<T> extends Operation<void> {
  constructor(readonly queue: Queue<T>, options: OperationOptions | undefined) {
    super();
    this.applyOptions("Queue.join", options);
  }
  start(waiter: Waiter<void>): void {
    this.queue.startJoin(waiter);
  }
  /** A short description for messages. */
  override toString(): string {
    return "Queue.join";
  }
}
