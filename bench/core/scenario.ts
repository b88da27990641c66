/**
 * What the core section's scenarios share: the implementations they compare,
 * what a measurement reports, and a forced garbage collection.
 *
 * @module
 */
import type * as Cogen from "@cogen/cogen/core";
import type * as Effection from "effection";

/** The implementations compared, in table order. */
export const IMPLS = ["ours", "plain", "effection"] as const;
/** One of {@linkcode IMPLS}. */
export type Impl = typeof IMPLS[number];
/** The scenarios, in run order. */
export const SCENARIOS = ["spawn", "pingpong", "signal"] as const;
/** One of {@linkcode SCENARIOS}. */
export type Scenario = typeof SCENARIOS[number];

/** The implementation under test, with its module loaded. */
export type Lib =
  | { impl: "ours"; core: typeof Cogen }
  | { impl: "plain" }
  | { impl: "effection"; eff: typeof Effection };

/** What a scenario measured. */
export interface Outcome {
  /** Whether every check passed. */
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  problem?: string;
  /** Something to know about the figures (they are still valid). */
  note?: string;
  /** The figures, named as in `bench/core/table.ts`'s rows. */
  metrics: Record<string, number>;
}

/** What one worker prints (`bench/core/worker.ts`). */
export interface WorkerReport extends Outcome {
  /** The implementation measured. */
  impl: Impl;
  /** The scenario run. */
  scenario: Scenario;
}

/** An outcome that is ok when there are no `problems`. */
export function outcome(problems: string[], metrics: Record<string, number>, note?: string): Outcome {
  return { ok: problems.length === 0, problem: problems.join("; ") || undefined, note, metrics };
}

/** A full garbage collection (twice, so that weak and finalised objects go too). */
export function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("bench/core/worker.ts: run the worker with --v8-flags=--expose-gc");
  gc();
  gc();
}
