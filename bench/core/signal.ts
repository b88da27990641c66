/**
 * The `signal` scenario of the core section: one signal wakes
 * {@linkcode WAITERS} parked waiters: the time from the signal until all have
 * resumed, each with the signalled value. Measured after one unmeasured run,
 * as `pingpong` is.
 *
 * @module
 */
import type * as Cogen from "@cogen/cogen/core";
import type * as Effection from "effection";
import { type Lib, type Outcome, outcome } from "./scenario.ts";

/** Waiters woken by the one signal. */
export const WAITERS = 10_000;

const VALUE = 42;

/** What one wake-up saw. */
interface Woken {
  tSignal: number;
  tEnd: number;
  parkedAtSignal: number;
  resumed: number;
  settled: number;
  woken: number;
}

/** Parks the waiters, signals once, and reports when the signal went out and the last resumed. */
type Wake = () => Promise<Woken>;

/** Measures `lib`'s signal. */
export function signal(lib: Lib): Promise<Outcome> {
  return measure(
    lib.impl === "ours" ? ours(lib.core) : lib.impl === "effection" ? effection(lib.eff) : plain(),
  );
}

async function measure(wake: Wake): Promise<Outcome> {
  await wake();
  const r = await wake();
  const problems: string[] = [];
  if (r.parkedAtSignal !== WAITERS) {
    problems.push(`${r.parkedAtSignal} of ${WAITERS} waiters parked at the signal`);
  }
  if (r.settled !== WAITERS) problems.push(`${r.settled} of ${WAITERS} waiters resumed`);
  if (r.resumed !== WAITERS) problems.push(`${r.settled - r.resumed} waiters got a wrong value`);
  if (r.woken !== WAITERS) problems.push(`the signal reported ${r.woken} woken`);
  return outcome(problems, { wakeMs: r.tEnd - r.tSignal, resumed: r.resumed, woken: r.woken });
}

function ours(core: typeof Cogen): Wake {
  return async () => {
    const sched = new core.Scheduler();
    let parked = 0, settled = 0, resumed = 0, parkedAtSignal = 0;
    let tSignal = 0, tEnd = 0, woken = -1;
    function* waiter(): Generator<Cogen.Yieldable, void, unknown> {
      parked++;
      const v = yield new core.WaitForSignal("go");
      if (v === VALUE) resumed++;
      if (++settled === WAITERS) tEnd = performance.now();
    }
    for (let i = 0; i < WAITERS; i++) sched.add(waiter);
    sched.add(function* signaller(): Generator<Cogen.Yieldable, void, unknown> {
      while (parked < WAITERS) yield; // never loops: the run queue is FIFO, the waiters went first
      parkedAtSignal = parked;
      tSignal = performance.now();
      woken = (yield new core.Signal("go", VALUE)) as number;
    });
    await sched.run();
    return { tSignal, tEnd, parkedAtSignal, resumed, settled, woken };
  };
}

function plain(): Wake {
  return async () => {
    const gate = Promise.withResolvers<number>();
    const all = Promise.withResolvers<void>();
    let parked = 0, settled = 0, resumed = 0, tEnd = 0;
    async function waiter(): Promise<void> {
      parked++;
      const v = await gate.promise;
      if (v === VALUE) resumed++;
      if (++settled === WAITERS) {
        tEnd = performance.now();
        all.resolve();
      }
    }
    for (let i = 0; i < WAITERS; i++) waiter();
    const parkedAtSignal = parked;
    const tSignal = performance.now();
    gate.resolve(VALUE);
    await all.promise;
    return { tSignal, tEnd, parkedAtSignal, resumed, settled, woken: settled };
  };
}

function effection(eff: typeof Effection): Wake {
  return async () => {
    let parked = 0, settled = 0, resumed = 0, parkedAtSignal = 0, tSignal = 0, tEnd = 0;
    await eff.run(function* () {
      const gate = eff.withResolvers<number>();
      const allParked = eff.withResolvers<void>();
      const allDone = eff.withResolvers<void>();
      function* waiter(): Effection.Operation<void> {
        if (++parked === WAITERS) allParked.resolve();
        const v = yield* gate.operation;
        if (v === VALUE) resumed++;
        if (++settled === WAITERS) {
          tEnd = performance.now();
          allDone.resolve();
        }
      }
      for (let i = 0; i < WAITERS; i++) yield* eff.spawn(waiter);
      yield* allParked.operation;
      parkedAtSignal = parked;
      tSignal = performance.now();
      gate.resolve(VALUE);
      yield* allDone.operation;
    });
    return { tSignal, tEnd, parkedAtSignal, resumed, settled, woken: settled };
  };
}
