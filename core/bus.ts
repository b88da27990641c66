/**
 * The bus: what carries a scheduler's named signals and named queues beyond
 * the process. The {@linkcode Bus} interface is what a transport implements
 * (Redis: `bus/redis.ts`); {@linkcode MemoryBus}, the default, is this
 * process alone — a `Signal` wakes the waiters of this process only, and a
 * named queue lives in memory.
 *
 * @module
 */

/** What a read of a named queue answers. */
export interface QueueRead<T = unknown> {
  /** The queue's history: it changes whenever history was lost (a Redis without persistence restarted). */
  epoch: string;
  /**
   * Every message after the offset asked for, oldest first (all that is
   * kept when `reset`), each with its `offset` (an opaque string: pass the
   * last one as `after` to read what follows).
   */
  entries: { offset: string; message: T }[];
  /**
   * The offset asked for was from another epoch, or older than what is kept:
   * `entries` is all that is kept, and the reader should start over from it.
   */
  reset: boolean;
}

/** What a bus tells the schedulers that use it. */
export interface BusHost {
  /** A signal from another process: wake this process's waiters of `name`; returns how many woke. */
  signalled(name: string, value: unknown): number;
  /** Messages were appended to queue `name` (in some process): readers waiting on it may read them. */
  appended(name: string): void;
  /** The bus is back after an outage, and may have missed news meanwhile: every waiting reader reads again. */
  resync(): void;
}

/**
 * The bus cannot be reached now (its server is gone, or does not answer in
 * time). A read waiting on a named queue keeps waiting (it reads again once
 * the bus is back, within its own timeout); a publish or a signal fails with
 * it.
 *
 * @example
 * ```ts
 * import { BusUnavailable } from "@cogen/cogen/core";
 * new BusUnavailable("redis://127.0.0.1:6379 is unreachable").name; // "BusUnavailable"
 * ```
 */
export class BusUnavailable extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusUnavailable";
  }
}

/**
 * A transport for named signals and named queues across processes.
 * `Scheduler` uses the one given as its `bus` option.
 *
 * @example
 * ```ts
 * import { MemoryBus, Scheduler } from "@cogen/cogen/core";
 * const sched = new Scheduler({ bus: new MemoryBus() }); // the default: this process alone
 * sched.bus.shared; // false
 * ```
 */
export interface Bus {
  /** Whether other processes share it: a `Signal` then asks it to wake their waiters too. */
  readonly shared: boolean;
  /** Starts telling `host` what arrives (a scheduler attaches once it is made). */
  attach(host: BusHost): void;
  /** Stops telling `host`. */
  detach(host: BusHost): void;
  /**
   * Wakes the waiters of `name` in every other process with `value` (which
   * must survive JSON); resolves with how many they woke, in all.
   */
  signal(name: string, value: unknown): Promise<number>;
  /** Appends `message` to queue `name` (keeping about `maxLength`); resolves with its offset once stored. */
  append(name: string, message: unknown, maxLength: number): Promise<string>;
  /** What queue `name` holds after `after` (everything kept when it is undefined), at once: possibly nothing. */
  read(name: string, after: string | undefined): Promise<QueueRead>;
  /** Lets go of what the bus holds (connections). */
  close(): Promise<void>;
}

/** A queue of a {@linkcode MemoryBus}: its messages and the sequence number of the first. */
interface MemoryQueue {
  messages: unknown[];
  /** The sequence number of `messages[0]`; the next message appended gets `first + messages.length`. */
  first: number;
}

/**
 * The bus of one process: signals reach no other process, and named queues
 * live in memory (each keeping its last `maxLength` messages). Offsets are
 * `EPOCH:SEQUENCE`; the epoch is new with each `MemoryBus`.
 *
 * @example
 * ```ts
 * import { MemoryBus } from "@cogen/cogen/core";
 * const bus = new MemoryBus();
 * const offset = await bus.append("room", "hello", 100);
 * (await bus.read("room", undefined)).entries; // [{ offset, message: "hello" }]
 * (await bus.read("room", offset)).entries; // []
 * ```
 */
export class MemoryBus implements Bus {
  /** One process alone. */
  readonly shared = false;
  readonly #epoch = crypto.randomUUID().slice(0, 8);
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #hosts = new Set<BusHost>();

  /** Starts telling `host` of appended messages. */
  attach(host: BusHost): void {
    this.#hosts.add(host);
  }

  /** Stops telling `host`. */
  detach(host: BusHost): void {
    this.#hosts.delete(host);
  }

  /** No other process: nobody else to wake. */
  signal(): Promise<number> {
    return Promise.resolve(0);
  }

  /** Appends `message` to queue `name`, keeping the last `maxLength`. */
  append(name: string, message: unknown, maxLength: number): Promise<string> {
    let queue = this.#queues.get(name);
    if (queue === undefined) this.#queues.set(name, queue = { messages: [], first: 0 });
    queue.messages.push(message);
    const sequence = queue.first + queue.messages.length - 1;
    const excess = queue.messages.length - maxLength;
    if (excess > 0) {
      queue.messages.splice(0, excess);
      queue.first += excess;
    }
    for (const host of this.#hosts) host.appended(name);
    return Promise.resolve(`${this.#epoch}:${sequence}`);
  }

  /** The messages of `name` after `after`. */
  read(name: string, after: string | undefined): Promise<QueueRead> {
    const queue = this.#queues.get(name) ?? { messages: [], first: 0 };
    let from = queue.first;
    let reset = false;
    if (after !== undefined) {
      const colon = after.indexOf(":");
      const sequence = Number(after.slice(colon + 1));
      if (
        after.slice(0, colon) !== this.#epoch || !Number.isInteger(sequence) || sequence < queue.first - 1
      ) {
        reset = true;
      } else from = sequence + 1;
    }
    const entries: QueueRead["entries"] = [];
    for (let s = Math.max(from, queue.first); s < queue.first + queue.messages.length; s++) {
      entries.push({ offset: `${this.#epoch}:${s}`, message: queue.messages[s - queue.first] });
    }
    return Promise.resolve({ epoch: this.#epoch, entries, reset });
  }

  /** Nothing to let go of. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
