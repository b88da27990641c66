/**
 * The `core` section of `deno task bench`: the cogen `Scheduler` against
 * plain async/await and Effection 4.1.1, doing the same work in three
 * scenarios (`bench/core/spawn.ts`, `pingpong.ts`, `signal.ts`).
 *
 * Every implementation × scenario × round runs in a fresh subprocess
 * (`bench/core/worker.ts IMPL SCENARIO` under `--v8-flags=--expose-gc`), so
 * heaps never mix and this process only orchestrates; rounds alternate
 * between the implementations (the order rotates each round) and the median
 * of the rounds is reported (`bench/core/table.ts`).
 *
 * @module
 */
import { IMPLS, SCENARIOS, type WorkerReport } from "./core/scenario.ts";
import { noReports, render, summarize } from "./core/table.ts";
import type { SectionOutput } from "./results.ts";
import { jsonReport, runCommand } from "./subprocess.ts";

/** Options of {@linkcode runCore}. */
export interface CoreOptions {
  /** Rounds per implementation × scenario (the median is reported). Default 3. */
  rounds?: number;
  /** Rounds for Effection (slow: about 12 s for the spawn scenario). Default: `rounds`. */
  effectionRounds?: number;
  /**
   * Seconds the section may take: a round that would (judging by the slowest
   * earlier round of the same kind) end past it is skipped, once the kind has
   * at least one round. Default 150.
   */
  budgetSeconds?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** Ms before one worker is killed. */
const TIMEOUT_MS = 90_000;
/** Ms of pause between two subprocesses (the one before may have just freed 1.5 GB). */
const SETTLE_MS = 300;

const WORKER = new URL("./core/worker.ts", import.meta.url).pathname;

/**
 * Runs the core benchmark: every implementation × scenario × round in a fresh
 * subprocess, killed past its time limit.
 */
export async function runCore(options: CoreOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const effectionRounds = options.effectionRounds ?? rounds;
  const budgetMs = (options.budgetSeconds ?? 150) * 1000;
  const reports = noReports();
  const slowest: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  const start = performance.now();
  for (let round = 0; round < Math.max(rounds, effectionRounds); round++) {
    for (const scenario of SCENARIOS) {
      for (let j = 0; j < IMPLS.length; j++) {
        const impl = IMPLS[(j + round) % IMPLS.length];
        const of = impl === "effection" ? effectionRounds : rounds;
        if (round >= of) continue;
        const k = `${impl}/${scenario}`;
        const elapsed = performance.now() - start;
        if (reports[impl][scenario].length > 0 && elapsed + slowest[k] > budgetMs) {
          skipped[k] = (skipped[k] ?? 0) + 1;
          options.log(
            `core: round ${round + 1} ${k}: skipped (time budget: ${(elapsed / 1000).toFixed(0)} s spent)`,
          );
          continue;
        }
        if (round + j > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const out = await runCommand(
          Deno.execPath(),
          [
            "run",
            "--v8-flags=--expose-gc",
            "--no-prompt",
            "--config",
            "deno.json",
            WORKER,
            impl,
            scenario,
          ],
          { timeoutMs: TIMEOUT_MS },
        );
        slowest[k] = Math.max(slowest[k] ?? 0, out.ms);
        let report: WorkerReport;
        try {
          report = jsonReport<WorkerReport>(out, "the worker");
          if (out.code !== 0) report = { ...report, ok: false, problem: `exit code ${out.code}` };
        } catch (error) {
          const problem = error instanceof Error ? error.message : String(error);
          report = { impl, scenario, ok: false, problem, metrics: {} };
        }
        reports[impl][scenario].push(report);
        options.log(
          `core: round ${round + 1}/${of} ${k.padEnd(18)} ${summarize(report)} ${
            report.ok ? "" : `FAILED: ${report.problem} `
          }${report.note ? `(note: ${report.note}) ` : ""}(${(out.ms / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return render(reports, { rounds, effectionRounds, skipped, seconds });
}
