/**
 * The `spawn` scenario of the core section: {@linkcode SLEEPERS} tasks each
 * waiting on a {@linkcode SLEEP_MS} ms sleep: the time from before the first
 * spawn until all are parked, the V8 heap per waiting task (after a forced
 * gc), and a check that all of them complete. Measured cold.
 *
 * @module
 */
import type * as Cogen from "@cogen/cogen/core";
import type * as Effection from "effection";
import { count } from "../numbers.ts";
import { forceGc, type Lib, type Outcome, outcome } from "./scenario.ts";

/** Tasks started. */
export const SLEEPERS = 100_000;
/** Ms each of them sleeps. */
export const SLEEP_MS = 200;

/** Called by every sleeper: once when about to park, once when its sleep is over. */
interface Hooks {
  parked(): void;
  completed(): void;
}

/** Starts the sleepers; resolves once they have all ended. */
type StartSleepers = (hooks: Hooks) => Promise<unknown>;

/** Measures `lib`'s sleepers. */
export function spawn(lib: Lib): Promise<Outcome> {
  return measure(
    lib.impl === "ours" ? ours(lib.core) : lib.impl === "effection" ? effection(lib.eff) : plain(),
  );
}

async function measure(start: StartSleepers): Promise<Outcome> {
  let parked = 0;
  let completed = 0;
  let tParked = 0;
  const allParked = Promise.withResolvers<void>();
  const hooks: Hooks = {
    parked() {
      if (++parked === SLEEPERS) {
        tParked = performance.now();
        allParked.resolve();
      }
    },
    completed() {
      completed++;
    },
  };
  forceGc();
  const baseline = Deno.memoryUsage().heapUsed;
  const t0 = performance.now();
  const finished = start(hooks);
  await allParked.promise;
  const spawnMs = tParked - t0;
  const finishedEarly = completed;
  forceGc();
  const heap = Deno.memoryUsage().heapUsed;
  await finished;
  const totalMs = performance.now() - t0;
  const waiting = SLEEPERS - finishedEarly;
  return outcome(
    completed === SLEEPERS ? [] : [`${count(completed)} of ${count(SLEEPERS)} sleepers completed`],
    { spawnMs, bytesPerTask: (heap - baseline) / waiting, completed, finishedEarly, totalMs },
    finishedEarly === 0 ? undefined : `${count(finishedEarly)} sleepers had already finished when the heap ` +
      `was measured (the spawn outlasted their ${SLEEP_MS} ms sleep): the heap is divided by the ` +
      `${count(waiting)} still waiting`,
  );
}

function ours(core: typeof Cogen): StartSleepers {
  return (hooks) => {
    const sched = new core.Scheduler();
    function* sleeper(): Generator<Cogen.Yieldable, void> {
      hooks.parked();
      yield new core.Sleep(SLEEP_MS);
      hooks.completed();
    }
    for (let i = 0; i < SLEEPERS; i++) sched.add(sleeper);
    return sched.run();
  };
}

function plain(): StartSleepers {
  return (hooks) => {
    const all = Promise.withResolvers<void>();
    let left = SLEEPERS;
    async function sleeper(): Promise<void> {
      hooks.parked();
      await new Promise<void>((resolve) => setTimeout(resolve, SLEEP_MS));
      hooks.completed();
      if (--left === 0) all.resolve();
    }
    for (let i = 0; i < SLEEPERS; i++) sleeper();
    return all.promise;
  };
}

function effection(eff: typeof Effection): StartSleepers {
  return (hooks) =>
    eff.run(function* () {
      const all = eff.withResolvers<void>();
      let left = SLEEPERS;
      function* sleeper(): Effection.Operation<void> {
        hooks.parked();
        yield* eff.sleep(SLEEP_MS);
        hooks.completed();
        if (--left === 0) all.resolve();
      }
      for (let i = 0; i < SLEEPERS; i++) yield* eff.spawn(sleeper);
      yield* all.operation;
    });
}
