/**
 * The `pingpong` scenario of the core section: two tasks pass a number back
 * and forth over two queues, {@linkcode ROUND_TRIPS} round trips (2 handoffs
 * each): handoffs per second, every value checked on both sides. Measured
 * after one unmeasured run of the same work, so the figure is the steady
 * state rather than the JIT's first tier (which dominates a 0.1 s run).
 *
 * @module
 */
import type * as Cogen from "@cogen/cogen/core";
import type * as Effection from "effection";
import { type Lib, type Outcome, outcome } from "./scenario.ts";

/** Round trips played. */
export const ROUND_TRIPS = 200_000;

/** Plays the round trips; returns how many values were received and how many were wrong. */
type Play = () => Promise<{ received: number; errors: number }>;

/** Measures `lib`'s queues. */
export function pingpong(lib: Lib): Promise<Outcome> {
  return measure(
    lib.impl === "ours" ? ours(lib.core) : lib.impl === "effection" ? effection(lib.eff) : plain(),
  );
}

async function measure(play: Play): Promise<Outcome> {
  await play();
  const t0 = performance.now();
  const { received, errors } = await play();
  const ms = performance.now() - t0;
  const handoffs = 2 * ROUND_TRIPS;
  const problems: string[] = [];
  if (received !== handoffs) problems.push(`${received} of ${handoffs} values received`);
  if (errors !== 0) problems.push(`${errors} values were wrong`);
  return outcome(problems, { handoffsPerSec: handoffs / (ms / 1000), ms, received });
}

function ours(core: typeof Cogen): Play {
  return async () => {
    const sched = new core.Scheduler();
    const toB = new core.Queue<number>();
    const toA = new core.Queue<number>();
    let received = 0;
    let errors = 0;
    sched.add(function* a(): Generator<Cogen.Yieldable, void, unknown> {
      for (let i = 0; i < ROUND_TRIPS; i++) {
        yield toB.put(i);
        const v = yield toA.get();
        received++;
        if (v !== i) errors++;
      }
    });
    sched.add(function* b(): Generator<Cogen.Yieldable, void, unknown> {
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const v = yield toB.get();
        received++;
        if (v !== i) errors++;
        yield toA.put(v as number);
      }
    });
    await sched.run();
    return { received, errors };
  };
}

/** The plain async/await queue: an unbounded FIFO whose `get` is a promise. */
class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #getters: ((item: T) => void)[] = [];

  put(item: T): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) getter(item);
    else this.#items.push(item);
  }

  get(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise<T>((resolve) => this.#getters.push(resolve));
  }
}

function plain(): Play {
  return async () => {
    const toB = new AsyncQueue<number>();
    const toA = new AsyncQueue<number>();
    let received = 0;
    let errors = 0;
    async function a(): Promise<void> {
      for (let i = 0; i < ROUND_TRIPS; i++) {
        toB.put(i);
        const v = await toA.get();
        received++;
        if (v !== i) errors++;
      }
    }
    async function b(): Promise<void> {
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const v = await toB.get();
        received++;
        if (v !== i) errors++;
        toA.put(v);
      }
    }
    await Promise.all([a(), b()]);
    return { received, errors };
  };
}

function effection(eff: typeof Effection): Play {
  return async () => {
    let received = 0;
    let errors = 0;
    await eff.run(function* () {
      const toB = eff.createQueue<number, never>();
      const toA = eff.createQueue<number, never>();
      const a = yield* eff.spawn(function* () {
        for (let i = 0; i < ROUND_TRIPS; i++) {
          toB.add(i);
          const next = yield* toA.next();
          received++;
          if (next.done || next.value !== i) errors++;
        }
      });
      const b = yield* eff.spawn(function* () {
        for (let i = 0; i < ROUND_TRIPS; i++) {
          const next = yield* toB.next();
          received++;
          if (next.done || next.value !== i) errors++;
          toA.add(next.done ? -1 : next.value);
        }
      });
      yield* a;
      yield* b;
    });
    return { received, errors };
  };
}
