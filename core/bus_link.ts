/**
 * A scheduler's side of its bus: it wakes this process's waiters of a
 * signal sent elsewhere, and the readers of a named queue waiting for its
 * next message.
 *
 * @module
 */
import { type Bus, type BusHost, BusUnavailable, type QueueRead } from "./bus.ts";
import type { Waiter } from "./operation.ts";
import type { Placement } from "./priority.ts";

/** A read of a named queue waiting for messages: where it reads from, and whether a read is under way. */
interface WaitingRead {
  after: string | undefined;
  reading: boolean;
  /** Messages were appended while a read was under way: read again after it. */
  again: boolean;
}

/**
 * What a scheduler gives its bus (a {@linkcode BusHost}), and the readers of
 * named queues that wait.
 *
 * @example
 * ```ts ignore
 * const link = new BusLink(bus, (name, value) => wakeLocally(name, value));
 * bus.attach(link);
 * ```
 */
export class BusLink implements BusHost {
  readonly #bus: Bus;
  readonly #wake: (name: string, value: unknown) => number;
  /** The reads waiting, by queue name. */
  readonly #readers = new Map<string, Set<Waiter<QueueRead>>>();

  /** The link to `bus`; `wake` wakes this process's waiters of a signal and returns how many. */
  constructor(bus: Bus, wake: (name: string, value: unknown) => number) {
    this.#bus = bus;
    this.#wake = wake;
  }

  /** @ignore For the bus: a signal sent elsewhere. */
  signalled(name: string, value: unknown): number {
    return this.#wake(name, value);
  }

  /** @ignore For the bus: queue `name` got messages; its waiting readers read again. */
  appended(name: string): void {
    const readers = this.#readers.get(name);
    if (readers === undefined) return;
    for (const waiter of readers) this.#read(name, waiter);
  }

  /** @ignore For the bus: it is back after an outage; every waiting read reads again. */
  resync(): void {
    for (const [name, readers] of this.#readers) {
      for (const waiter of readers) this.#read(name, waiter);
    }
  }

  /**
   * Reads queue `name` after `after` for `waiter`: it resolves as soon as
   * there is something to read (or the offset was reset); until then it
   * waits, and every message appended anywhere makes it read again.
   */
  wait(name: string, after: string | undefined, waiter: Waiter<QueueRead>, placement: Placement): void {
    const read: WaitingRead = { after, reading: false, again: false };
    waiter.item = read;
    let readers = this.#readers.get(name);
    if (readers === undefined) this.#readers.set(name, readers = new Set());
    readers.add(waiter);
    this.#read(name, waiter, placement);
  }

  /** Forgets a read that no longer waits (it timed out, or its task was cancelled). */
  forget(name: string, waiter: Waiter<QueueRead>): void {
    const readers = this.#readers.get(name);
    if (readers === undefined) return;
    readers.delete(waiter);
    if (readers.size === 0) this.#readers.delete(name);
  }

  #read(name: string, waiter: Waiter<QueueRead>, placement?: Placement): void {
    const read = waiter.item as WaitingRead;
    if (read.reading) {
      read.again = true;
      return;
    }
    read.reading = true;
    const epoch = waiter.epoch;
    this.#bus.read(name, read.after).then(
      (result) => {
        read.reading = false;
        if (waiter.epoch !== epoch) return; // it no longer waits
        if (result.entries.length > 0 || result.reset) {
          this.forget(name, waiter);
          waiter.resolve(result, placement);
        } else if (read.again) {
          read.again = false;
          this.#read(name, waiter, placement);
        }
      },
      (error) => {
        read.reading = false;
        // The bus is away: the read waits on (its own timeout bounds it) and reads again when the bus is back.
        if (waiter.epoch !== epoch || error instanceof BusUnavailable) return;
        this.forget(name, waiter);
        waiter.reject(error, placement);
      },
    );
  }
}
