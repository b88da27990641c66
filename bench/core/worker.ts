/**
 * One implementation × scenario of the core section, measured in this very
 * process and reported as one line of JSON ({@linkcode WorkerReport}) on
 * stdout. `bench/core.ts` starts a fresh one for every round, so heaps never
 * mix; the module under test is imported before anything is measured.
 *
 * ```sh
 * deno run --v8-flags=--expose-gc bench/core/worker.ts IMPL SCENARIO
 * ```
 *
 * @module
 */
import { runMain } from "../cli.ts";
import { pingpong } from "./pingpong.ts";
import {
  type Impl,
  IMPLS,
  type Lib,
  type Outcome,
  type Scenario,
  SCENARIOS,
  type WorkerReport,
} from "./scenario.ts";
import { signal } from "./signal.ts";
import { spawn } from "./spawn.ts";

const RUN: Record<Scenario, (lib: Lib) => Promise<Outcome>> = { spawn, pingpong, signal };

async function load(impl: Impl): Promise<Lib> {
  if (impl === "ours") return { impl, core: await import("@cogen/cogen/core") };
  if (impl === "effection") return { impl, eff: await import("effection") };
  return { impl };
}

async function main([impl, scenario]: string[]): Promise<number> {
  if (!IMPLS.includes(impl as Impl) || !SCENARIOS.includes(scenario as Scenario)) {
    throw new Error(
      `expected IMPL SCENARIO, IMPL one of ${IMPLS.join(", ")}, SCENARIO one of ${SCENARIOS.join(", ")}`,
    );
  }
  const result = await RUN[scenario as Scenario](await load(impl as Impl));
  const report: WorkerReport = { impl: impl as Impl, scenario: scenario as Scenario, ...result };
  console.log(JSON.stringify(report));
  return 0;
}

if (import.meta.main) await runMain("bench/core/worker.ts", main);
