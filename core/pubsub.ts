/**
 * `PublishSubscribeQueue`: every subscriber fetches every message published
 * since its last fetch (cogen's `cogen.core.pubsub`).
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { FRONT, placementOfWoken, placementOfYielder } from "./priority.ts";
import { describe } from "./describe.ts";

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
  #messages: T[] = [];
  /** The absolute position of `#messages[0]` (messages dropped by `compact` before it). */
  #base = 0;
  /** Each subscriber's absolute position of the next message it has not fetched. */
  #levels = new Map<unknown, number>();
  /** The fetches waiting, by key. */
  #fetching = new Map<unknown, Waiter<T[]>>();

  /** How many messages are kept. */
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
      waiter.resolve(this.#levels.delete(k), FRONT);
    });
  }

  /**
   * Appends `message` and wakes every waiting fetch with it. Its result: how
   * many fetches were woken. The priority orders them and the publisher.
   */
  publish(message: T, options?: Pick<OperationOptions, "priority">): Operation<number> {
    const op = new PubSubOp<number>("PublishSubscribeQueue.publish", (waiter) => {
      this.#messages.push(message);
      const end = this.#base + this.#messages.length;
      const p = waiter.sched.priorityOf(op);
      const woken = this.#fetching.size;
      const fetching = [...this.#fetching];
      this.#fetching.clear();
      for (const [key, fetcher] of fetching) {
        fetcher.resolve(this.#take(key, end), placementOfWoken(p));
      }
      waiter.resolve(woken, placementOfYielder(p));
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

  #take(key: unknown, end: number): T[] {
    const level = this.#levels.get(key)!;
    this.#levels.set(key, end);
    return this.#messages.slice(level - this.#base);
  }
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
