/**
 * `PublishSubscribeQueue`: every subscriber fetches every message published
 * since its last fetch (cogen's `cogen.core.pubsub`).
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { FRONT, placementOfWoken, placementOfYielder } from "./priority.ts";
import type { Bus, QueueRead } from "./bus.ts";
import type { BusLink } from "./bus_link.ts";
import { describe } from "./describe.ts";
import type { Scheduler } from "./scheduler.ts";

/** Options of `PublishSubscribeQueue.fetch`. */
export interface FetchOptions extends OperationOptions {
  /** Who fetches; default the calling task. A client id lets one subscriber span many tasks. */
  key?: unknown;
}

/**
 * A message log with subscribers. A subscriber is identified by a key (the
 * calling task unless a `key` is given: a client id, say, for long polls that
 * each run in a new task). `fetch` returns every message published since that
 * subscriber's last fetch, and waits while there are none; a new subscriber's
 * first fetch returns all the messages kept so far. `compact()` drops what
 * every subscriber has fetched.
 *
 * `subscribe`, `unsubscribe`, `publish` and `fetch` are operations to yield.
 *
 * @example
 * ```ts
 * import { PublishSubscribeQueue, Scheduler } from "@cogen/cogen/core";
 * const news = new PublishSubscribeQueue<string>();
 * const sched = new Scheduler();
 * const reader = sched.add(function* () {
 *   yield news.subscribe();
 *   const first = yield* news.fetch({ timeout: 1000 }); // waits for a message
 *   yield news.unsubscribe();
 *   return first;
 * });
 * sched.add(function* () {
 *   yield news.publish("hello");
 * });
 * await sched.run();
 * reader.result; // ["hello"]
 * ```
 */
export class PublishSubscribeQueue<T> {
  /** The queue's name on the bus, or `null` for a queue of its own. */
  readonly name: string | null;
  /** Messages a named queue keeps. */
  readonly maxLength: number;
  #messages: T[] = [];
  /** The absolute position of `#messages[0]` (messages dropped by `compact` before it). */
  #base = 0;
  /** Each subscriber's absolute position of the next message it has not fetched. */
  #levels = new Map<unknown, number>();
  /** The fetches waiting, by key. */
  #fetching = new Map<unknown, Waiter<T[]>>();

  /**
   * A queue: its own (no `name`), or, with `options.name`, one queue across
   * every process on the scheduler's bus (see `read`); a named queue keeps
   * about its last `options.maxLength` messages (default 10 000; the bus may
   * keep a few more).
   *
   * @throws {TypeError} when `name` is not a non-empty string.
   * @throws {RangeError} when `maxLength` is not an integer >= 1.
   */
  constructor(options: { name?: string; maxLength?: number } = {}) {
    const { name, maxLength = 10_000 } = options;
    if (name !== undefined && (typeof name !== "string" || name === "")) {
      throw new TypeError(`PublishSubscribeQueue: name must be a non-empty string, got ${describe(name)}`);
    }
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new RangeError(
        `PublishSubscribeQueue: maxLength must be an integer >= 1, got ${String(maxLength)}`,
      );
    }
    this.name = name ?? null;
    this.maxLength = maxLength;
  }

  /**
   * How many messages are kept by this process, for `fetch`. A named queue
   * keeps them only while it has subscribers here, at most its `maxLength`
   * (its history is on the bus, for `read`).
   */
  get size(): number {
    return this.#messages.length;
  }

  /** How many subscribers there are. */
  get subscribers(): number {
    return this.#levels.size;
  }

  /**
   * Subscribes `key` (default: the calling task). Its first fetch returns
   * every message kept so far. Subscribing again changes nothing.
   */
  subscribe(key?: unknown): Operation<void> {
    return new PubSubOp("PublishSubscribeQueue.subscribe", (waiter) => {
      const k = key ?? waiter.task;
      if (!this.#levels.has(k)) this.#levels.set(k, this.#base);
      waiter.resolve(undefined, FRONT);
    });
  }

  /**
   * Unsubscribes `key` (default: the calling task); a fetch of it still
   * waiting gets an error. Its result: whether the key was subscribed.
   */
  unsubscribe(key?: unknown): Operation<boolean> {
    return new PubSubOp("PublishSubscribeQueue.unsubscribe", (waiter) => {
      const k = key ?? waiter.task;
      const pending = this.#fetching.get(k);
      if (pending !== undefined) {
        this.#fetching.delete(k);
        pending.reject(
          new Error(`PublishSubscribeQueue.fetch: ${describe(k)} was unsubscribed while fetching`),
        );
      }
      const was = this.#levels.delete(k);
      if (this.name !== null && this.#levels.size === 0) this.#dropAll();
      waiter.resolve(was, FRONT);
    });
  }

  /**
   * Appends `message` and wakes every waiting fetch with it. Its result: how
   * many fetches were woken. The priority orders them and the publisher. A
   * named queue also appends it on the bus, for `read` in every process: the
   * operation ends once the bus has stored it (or fails, saying why).
   */
  publish(message: T, options?: Pick<OperationOptions, "priority">): Operation<number> {
    const op = new PubSubOp<number>("PublishSubscribeQueue.publish", (waiter) => {
      // A named queue's history lives on the bus (for `read`): this process keeps a message only for the
      // subscribers that will `fetch` it, and at most `maxLength`, so a queue only read never grows here.
      if (this.name === null) this.#messages.push(message);
      else if (this.#levels.size > 0) {
        this.#messages.push(message);
        if (this.#messages.length > this.maxLength) this.#dropOldest(this.#messages.length - this.maxLength);
      }
      const end = this.#base + this.#messages.length;
      const p = waiter.sched.priorityOf(op);
      const woken = this.#fetching.size;
      const fetching = [...this.#fetching];
      this.#fetching.clear();
      for (const [key, fetcher] of fetching) {
        fetcher.resolve(this.#take(key, end), placementOfWoken(p));
      }
      if (this.name === null) {
        waiter.resolve(woken, placementOfYielder(p));
        return;
      }
      const epoch = waiter.epoch;
      busOf(waiter).append(this.name, message, this.maxLength).then(
        () => waiter.epoch === epoch && waiter.resolve(woken, placementOfYielder(p)),
        (error) => {
          if (waiter.epoch !== epoch) return;
          const why = error instanceof Error ? error.message : String(error);
          waiter.reject(
            new Error(`PublishSubscribeQueue.publish(${JSON.stringify(this.name)}): not stored: ${why}`, {
              cause: error,
            }),
            placementOfYielder(p),
          );
        },
      );
    });
    if (options?.priority !== undefined) op.withPriority(options.priority);
    return op;
  }

  /**
   * Returns every message published since the last fetch of `key` (default:
   * the calling task), waiting while there are none.
   *
   * @throws {Error} (into the coroutine) when the key is not subscribed, or
   * already has a fetch waiting.
   */
  fetch(options?: FetchOptions): Operation<T[]> {
    const op: PubSubOp<T[]> = new PubSubOp<T[]>("PublishSubscribeQueue.fetch", (waiter) => {
      const k = options?.key ?? waiter.task;
      const level = this.#levels.get(k);
      if (level === undefined) {
        throw new Error(
          `PublishSubscribeQueue.fetch: ${describe(k)} is not subscribed; yield q.subscribe(${
            options?.key === undefined ? "" : "key"
          }) first`,
        );
      }
      if (this.#fetching.has(k)) {
        throw new Error(`PublishSubscribeQueue.fetch: ${describe(k)} already has a fetch waiting`);
      }
      const end = this.#base + this.#messages.length;
      if (level < end) waiter.resolve(this.#take(k, end), FRONT);
      else {
        waiter.item = k;
        this.#fetching.set(k, waiter);
      }
    }, (waiter) => {
      if (this.#fetching.get(waiter.item) === waiter) this.#fetching.delete(waiter.item);
    });
    op.timeout = undefined;
    op.applyOptionsFrom("PublishSubscribeQueue.fetch", options);
    return op;
  }

  /**
   * Reads a named queue: every message after `options.after` (an offset
   * from an earlier read; everything kept when absent), waiting while there
   * is none (up to `options.timeout`). The answer carries the queue's
   * `epoch` and, for each message, its `offset`; an `after` from another
   * epoch, or older than what is kept, answers everything kept with
   * `reset: true`. Readers need not subscribe, and may read on any process
   * of the bus: a long-poll or SSE client can land on any worker and miss
   * nothing.
   *
   * @throws {TypeError} when the queue has no name.
   * @example
   * ```ts
   * import { PublishSubscribeQueue, Scheduler } from "@cogen/cogen/core";
   * const room = new PublishSubscribeQueue<string>({ name: "room" });
   * const sched = new Scheduler();
   * const reader = sched.add(function* () {
   *   const first = yield* room.read({ timeout: 1000 }); // waits for the first message
   *   const next = room.read({ after: first.entries.at(-1)!.offset, timeout: 1000 });
   *   return [first.entries[0].message, (yield* next).entries[0].message];
   * });
   * sched.add(function* () {
   *   yield room.publish("hello");
   *   yield room.publish("again");
   * });
   * await sched.run();
   * reader.result; // ["hello", "again"]
   * ```
   */
  read(options?: OperationOptions & { after?: string }): Operation<QueueRead<T>> {
    const name = this.name;
    if (name === null) {
      throw new TypeError(
        "PublishSubscribeQueue.read: the queue has no name; make it with new PublishSubscribeQueue({ name })",
      );
    }
    const after = options?.after;
    if (after !== undefined && typeof after !== "string") {
      throw new TypeError(
        `PublishSubscribeQueue.read: after must be an offset string, got ${describe(after)}`,
      );
    }
    const op: PubSubOp<QueueRead<T>> = new PubSubOp<QueueRead<T>>(
      `PublishSubscribeQueue.read(${JSON.stringify(name)})`,
      (waiter) => linkOf(waiter).wait(name, after, waiter as Waiter<QueueRead>, FRONT),
      (waiter) => linkOf(waiter).forget(name, waiter as Waiter<QueueRead>),
    );
    op.timeout = undefined;
    op.applyOptionsFrom("PublishSubscribeQueue.read", options);
    return op;
  }

  /**
   * Drops the messages every subscriber has fetched (all of them when nobody
   * is subscribed) and returns how many were dropped.
   */
  compact(): number {
    let level = this.#base + this.#messages.length;
    for (const l of this.#levels.values()) if (l < level) level = l;
    const dropped = level - this.#base;
    if (dropped > 0) {
      this.#messages.splice(0, dropped);
      this.#base = level;
    }
    return dropped;
  }

  /** Forgets everything kept (a named queue's last subscriber left): a new one starts from what comes next. */
  #dropAll(): void {
    this.#base += this.#messages.length;
    this.#messages = [];
  }

  /** Drops the `n` oldest messages; a subscriber that had not fetched them goes on from what is kept. */
  #dropOldest(n: number): void {
    this.#messages.splice(0, n);
    this.#base += n;
    for (const [key, level] of this.#levels) if (level < this.#base) this.#levels.set(key, this.#base);
  }

  #take(key: unknown, end: number): T[] {
    const level = this.#levels.get(key)!;
    this.#levels.set(key, end);
    return this.#messages.slice(level - this.#base);
  }
}

/** The bus of the scheduler that runs `waiter`. */
function busOf(waiter: Waiter<unknown>): Bus {
  // A waiter's scheduler is a Scheduler: operation.ts only names what every operation needs of it.
  return (waiter.sched as Scheduler).bus;
}

/** The scheduler's side of its bus. */
function linkOf(waiter: Waiter<unknown>): BusLink {
  return (waiter.sched as Scheduler).busLink;
}

/** One of the queue's operations: its behaviour is the closure given. */
class PubSubOp<R> extends Operation<R> {
  constructor(
    readonly label: string,
    readonly run: (waiter: Waiter<R>) => void,
    readonly forget?: (waiter: Waiter<R>) => void,
  ) {
    super();
    this.timeout = -1;
  }
  start(waiter: Waiter<R>): void {
    this.run(waiter);
  }
  override withdraw(waiter: Waiter<R>): void {
    this.forget?.(waiter);
  }
  applyOptionsFrom(where: string, options: OperationOptions | undefined): void {
    this.applyOptions(where, options);
  }
  /** A short description for messages. */
  override toString(): string {
    return this.label;
  }
}
