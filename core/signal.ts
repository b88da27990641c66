/**
 * Named signals: `WaitForSignal` parks a coroutine under a name until a
 * `Signal` of that name wakes every waiter with a value.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { BACK, type Placement, placementOfWoken, placementOfYielder } from "./priority.ts";
import type { Scheduler, SignalSlot } from "./scheduler.ts";
import { describe } from "./describe.ts";
import { WaitList } from "./wait_list.ts";

/**
 * Waits until `name` is signalled and returns the signalled value. A name is
 * any value: strings are equal by value, objects by identity. On timeout an
 * `OperationTimeout` is thrown in and the waiter is removed from the wait list.
 *
 * @example
 * ```ts
 * import { Scheduler, Signal, WaitForSignal } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   return yield* new WaitForSignal<string>("abc", { timeout: 1000 });
 * });
 * sched.add(function* () {
 *   yield new Signal("abc", "hello");
 * });
 * await sched.run();
 * task.result; // "hello"
 * ```
 */
export class WaitForSignal<T = unknown> extends Operation<T> {
  /** The name waited on. */
  readonly name: unknown;

  /** Waits on `name`; `options.timeout` in ms, `options.priority`. */
  constructor(name: unknown, options?: OperationOptions) {
    super();
    this.name = name;
    this.applyOptions("WaitForSignal", options);
  }

  /** Joins the wait list; completes a parked `Signal`'s count of recipients. */
  start(waiter: Waiter<T>): void {
    const slot = slotOf(signalsOf(waiter), this.name, true)!;
    slot.waiters.push(waiter);
    const signaller = slot.signallers.first;
    if (signaller !== null && slot.waiters.length >= (signaller.op as Signal).recipients) {
      (signaller.op as Signal).fire(signaller as Waiter<number>, slot);
    }
  }

  /** Leaves the wait list. */
  override withdraw(waiter: Waiter<T>): void {
    const signals = signalsOf(waiter);
    const slot = slotOf(signals, this.name, false);
    if (slot === undefined) return;
    slot.waiters.remove(waiter);
    dropIfEmpty(signals, this.name, slot);
  }

  /** A short description for messages. */
  override toString(): string {
    return `WaitForSignal(${describe(this.name)})`;
  }
}

/** Options of {@linkcode Signal}. */
export interface SignalOptions extends OperationOptions {
  /** Wait until at least this many waiters are there, then wake them all. Default 0. */
  recipients?: number;
}

/**
 * Wakes every coroutine waiting on `name` with `value`; its result is how
 * many were woken. With `recipients: n` the signaller waits until n waiters
 * are there (the waiter that completes the count triggers it; `timeout`
 * bounds that wait). The priority orders the wake-up (see `priority`).
 *
 * @example
 * ```ts
 * import { Scheduler, Signal, WaitForSignal } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * for (let i = 0; i < 3; i++) {
 *   sched.add(function* () {
 *     yield new WaitForSignal("go");
 *   });
 * }
 * const signaller = sched.add(function* () {
 *   return yield* new Signal("go", undefined, { recipients: 3 });
 * });
 * await sched.run();
 * signaller.result; // 3
 * ```
 */
export class Signal<T = unknown> extends Operation<number> {
  /** The name signalled. */
  readonly name: unknown;
  /** The value each waiter receives. */
  readonly value: T;
  /** How many waiters must be there before the signal fires. */
  readonly recipients: number;

  /**
   * Creates the operation.
   *
   * @throws {RangeError} when `recipients` is not an integer >= 0.
   */
  constructor(name: unknown, value?: T, options?: SignalOptions) {
    super();
    this.name = name;
    this.value = value as T;
    const recipients = options?.recipients ?? 0;
    if (!Number.isInteger(recipients) || recipients < 0) {
      throw new RangeError(`Signal: recipients must be an integer >= 0, got ${String(recipients)}`);
    }
    this.recipients = recipients;
    this.applyOptions("Signal", options);
  }

  /** Fires now, or parks until enough waiters are there. */
  start(waiter: Waiter<number>): void {
    const slot = slotOf(signalsOf(waiter), this.name, this.recipients > 0);
    const count = slot?.waiters.length ?? 0;
    if (count < this.recipients) slot!.signallers.push(waiter);
    else this.fire(waiter, slot);
  }

  /** Stops waiting for recipients. */
  override withdraw(waiter: Waiter<number>): void {
    const signals = signalsOf(waiter);
    const slot = slotOf(signals, this.name, false);
    if (slot === undefined) return;
    slot.signallers.remove(waiter);
    dropIfEmpty(signals, this.name, slot);
  }

  /**
   * @ignore Wakes every waiter, then resumes the signaller, ordered by
   * priority. A string name on a shared bus reaches the waiters of every
   * other process too: the signaller resumes once they have said how many
   * they woke.
   */
  fire(waiter: Waiter<number>, slot: SignalSlot | undefined): void {
    const p = waiter.sched.priorityOf(this);
    let woken = 0;
    if (slot !== undefined) {
      if (waiter.list === slot.signallers) slot.signallers.remove(waiter);
      woken = wake(signalsOf(waiter), this.name, slot, this.value, placementOfWoken(p));
    }
    // A waiter's scheduler is a Scheduler: operation.ts only names what every operation needs of it.
    const bus = (waiter.sched as Scheduler).bus;
    if (typeof this.name !== "string" || !bus.shared) {
      waiter.resolve(woken, placementOfYielder(p));
      return;
    }
    const epoch = waiter.epoch;
    bus.signal(this.name, this.value).then(
      (elsewhere) => waiter.epoch === epoch && waiter.resolve(woken + elsewhere, placementOfYielder(p)),
      (error) => {
        if (waiter.epoch !== epoch) return;
        const why = error instanceof Error ? error.message : String(error);
        waiter.reject(
          new Error(
            `Signal(${describe(this.name)}): woke ${woken} here, but not the other processes: ${why}`,
            {
              cause: error,
            },
          ),
          placementOfYielder(p),
        );
      },
    );
  }

  /** A short description for messages. */
  override toString(): string {
    return `Signal(${describe(this.name)})`;
  }
}

/** Wakes every waiter of `slot` with `value`; returns how many. */
function wake(
  signals: Map<unknown, SignalSlot>,
  name: unknown,
  slot: SignalSlot,
  value: unknown,
  placement: Placement,
): number {
  let woken = 0;
  const waiters = slot.waiters;
  for (let w = waiters.first; w !== null; w = waiters.first) {
    w.resolve(value, placement);
    woken++;
  }
  dropIfEmpty(signals, name, slot);
  return woken;
}

/**
 * @ignore For the scheduler's bus: a signal of `name` sent in another
 * process wakes this process's waiters with `value`; returns how many.
 */
export function wakeSignalled(signals: Map<unknown, SignalSlot>, name: string, value: unknown): number {
  const slot = signals.get(name);
  return slot === undefined ? 0 : wake(signals, name, slot, value, BACK);
}

/** The scheduler's slots of named signals. */
function signalsOf(waiter: Waiter<unknown>): Map<unknown, SignalSlot> {
  // A waiter's scheduler is a Scheduler: operation.ts only names what every operation needs of it.
  return (waiter.sched as Scheduler).signals;
}

function slotOf(signals: Map<unknown, SignalSlot>, name: unknown, create: boolean): SignalSlot | undefined {
  let slot = signals.get(name);
  if (slot === undefined && create) {
    slot = { waiters: new WaitList(), signallers: new WaitList() };
    signals.set(name, slot);
  }
  return slot;
}

function dropIfEmpty(signals: Map<unknown, SignalSlot>, name: unknown, slot: SignalSlot): void {
  if (slot.waiters.length === 0 && slot.signallers.length === 0 && signals.get(name) === slot) {
    signals.delete(name);
  }
}
