/**
 * The core section's markdown: the table of medians (ours, plain
 * async/await, Effection, the ratios, the targets), the checks, how it is
 * measured, and every round.
 *
 * @module
 */
import { count, fmt, median } from "../numbers.ts";
import { ROUND_TRIPS } from "./pingpong.ts";
import { type Impl, IMPLS, type Scenario, SCENARIOS, type WorkerReport } from "./scenario.ts";
import { WAITERS } from "./signal.ts";
import { SLEEP_MS, SLEEPERS } from "./spawn.ts";

/** Every round's report, by implementation and scenario. */
export type Reports = Record<Impl, Record<Scenario, WorkerReport[]>>;

/** No rounds yet. */
export function noReports(): Reports {
  const none = () => ({ spawn: [], pingpong: [], signal: [] });
  return { ours: none(), plain: none(), effection: none() };
}

const IMPL_TITLE: Record<Impl, string> = {
  ours: "ours (cogen core)",
  plain: "plain async/await",
  effection: "effection 4.1.1",
};

/** One row of the table: a metric, how to read it, and its target. */
interface Row {
  scenario: Scenario;
  metric: string;
  label: string;
  /** Its name in the headline. */
  short: string;
  unit: string;
  scale: number;
  lowerIsBetter: boolean;
  target?: { value: number; text: string };
  issue: string;
}

const ROWS: Row[] = [
  {
    scenario: "spawn",
    metric: "spawnMs",
    label: `spawn ${count(SLEEPERS)} sleepers until all parked`,
    short: "spawn",
    unit: "s",
    scale: 1 / 1000,
    lowerIsBetter: true,
    target: { value: 0.2, text: "≤ 0.2 s" },
    issue: "effection ≈ 9 s",
  },
  {
    scenario: "spawn",
    metric: "bytesPerTask",
    label: "heap per waiting task",
    short: "heap per waiting task",
    unit: "KB",
    scale: 1 / 1024,
    lowerIsBetter: true,
    target: { value: 0.7, text: "≤ 0.7 KB" },
    issue: "plain ≈ 1.35 KB, effection ≈ 8.4 KB",
  },
  {
    scenario: "pingpong",
    metric: "handoffsPerSec",
    label: "queue ping-pong, handoffs per second",
    short: "queue handoffs",
    unit: "M/s",
    scale: 1 / 1e6,
    lowerIsBetter: false,
    target: { value: 4, text: "≥ 4 M/s" },
    issue: "plain ≈ 5.6 M/s, effection ≈ 0.11 M/s",
  },
  {
    scenario: "signal",
    metric: "wakeMs",
    label: `one signal → ${count(WAITERS)} waiters resumed`,
    short: "signal wake-up",
    unit: "ms",
    scale: 1,
    lowerIsBetter: true,
    issue: "—",
  },
];

/** A round in a few words, for the progress log and the table of rounds. */
export function summarize(r: WorkerReport): string {
  const m = r.metrics;
  if (r.scenario === "spawn" && m.spawnMs !== undefined) {
    return `spawn ${fmt(m.spawnMs / 1000)} s, ${fmt(m.bytesPerTask / 1024)} KB/task, ${
      count(m.completed)
    } completed`;
  }
  if (r.scenario === "pingpong" && m.handoffsPerSec !== undefined) {
    return `${fmt(m.handoffsPerSec / 1e6)} M handoffs/s`;
  }
  if (r.scenario === "signal" && m.wakeMs !== undefined) {
    return `wake ${fmt(m.wakeMs)} ms, ${count(m.resumed)} resumed`;
  }
  return "no figures";
}

function medianOf(reports: Reports, impl: Impl, row: Row): number {
  return median(
    reports[impl][row.scenario].filter((r) => r.ok && Number.isFinite(r.metrics[row.metric]))
      .map((r) => r.metrics[row.metric] * row.scale),
  );
}

/** "3.1× faster" / "1.4× smaller": how ours compares with `other` on this row. */
function ratio(row: Row, ours: number, other: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(other) || ours <= 0 || other <= 0) return "—";
  const factor = row.lowerIsBetter ? other / ours : ours / other;
  const [better, worse] = row.metric === "bytesPerTask" ? ["smaller", "larger"] : ["faster", "slower"];
  return factor >= 1 ? `${fmt(factor, 2)}× ${better}` : `${fmt(1 / factor, 2)}× ${worse}`;
}

function meets(row: Row, value: number): boolean | undefined {
  if (row.target === undefined || !Number.isFinite(value)) return undefined;
  return row.lowerIsBetter ? value <= row.target.value : value >= row.target.value;
}

/** Options of {@linkcode render}: what was asked and what it took. */
export interface RenderOptions {
  /** Rounds asked for each implementation. */
  rounds: number;
  /** Rounds asked for Effection. */
  effectionRounds: number;
  /** Rounds skipped to stay within the time budget, by `impl/scenario`. */
  skipped: Record<string, number>;
  /** Seconds the section took. */
  seconds: number;
}

/** The headline (ratios and targets) and the body (tables, checks, method, rounds) of the core section. */
export function render(reports: Reports, o: RenderOptions): { headline: string; body: string; ok: boolean } {
  const allOk = (impl: Impl, s: Scenario) =>
    reports[impl][s].length > 0 && reports[impl][s].every((r) => r.ok);
  const cell = (impl: Impl, row: Row) => {
    const v = medianOf(reports, impl, row);
    const met = impl === "ours" ? meets(row, v) : undefined;
    return `${Number.isFinite(v) ? `${fmt(v)} ${row.unit}` : "—"}${
      met === undefined ? "" : met ? " ✓" : " ✗"
    }${allOk(impl, row.scenario) ? "" : " (check failed)"}`;
  };
  const versus = (other: Impl, row: Row) =>
    ratio(row, medianOf(reports, "ours", row), medianOf(reports, other, row));
  const table = [
    `| | target | ${
      IMPLS.map((i) => IMPL_TITLE[i]).join(" | ")
    } | ours vs plain | ours vs effection | the issue's figures |`,
    `|---|---|${IMPLS.map(() => "--:").join("|")}|---|---|---|`,
    ...ROWS.map((row) =>
      `| ${row.label} | ${row.target?.text ?? "—"} | ${IMPLS.map((i) => cell(i, row)).join(" | ")} | ${
        versus("plain", row)
      } | ${versus("effection", row)} | ${row.issue} |`
    ),
  ].join("\n");
  const checkWhat: Record<Scenario, string> = {
    spawn: `all ${count(SLEEPERS)} sleepers completed`,
    pingpong: `all ${count(2 * ROUND_TRIPS)} values received in order`,
    signal: `all ${count(WAITERS)} waiters resumed with the signalled value`,
  };
  const checks = [
    `| scenario | check (every round) | ${IMPLS.map((i) => IMPL_TITLE[i]).join(" | ")} |`,
    `|---|---|${IMPLS.map(() => ":-:").join("|")}|`,
    ...SCENARIOS.map((s) =>
      `| ${s} | ${checkWhat[s]} | ${IMPLS.map((i) => (allOk(i, s) ? "✓" : "✗")).join(" | ")} |`
    ),
  ].join("\n");

  const targets = ROWS.filter((r) => r.target).map((row) => {
    const v = medianOf(reports, "ours", row);
    const met = meets(row, v);
    return `${row.short} ${row.target!.text} ${met === undefined ? "?" : met ? "✓" : "✗"} (${
      fmt(v)
    } ${row.unit})`;
  });
  const all = IMPLS.flatMap((impl) => SCENARIOS.flatMap((s) => reports[impl][s]));
  const failures = all.filter((r) => !r.ok);
  const headline = [
    `**Ours vs plain async/await:** ${ROWS.map((row) => `${row.short} ${versus("plain", row)}`).join(", ")}.`,
    `**Ours vs Effection 4.1.1:** ${
      ROWS.map((row) => `${row.short} ${versus("effection", row)}`).join(", ")
    }.`,
    `**Targets (ours):** ${targets.join(", ")}.`,
    failures.length > 0
      ? `**${failures.length} round(s) failed a check** (see below).`
      : "All checks passed in every round.",
  ].join(" ");

  const notes = IMPLS.flatMap((impl) =>
    SCENARIOS.flatMap((s) =>
      reports[impl][s].flatMap((r, i) => (r.note ? [`- ${impl}/${s}, its round ${i + 1}: ${r.note}.`] : []))
    )
  );
  const roundsRun = IMPLS.map((impl) =>
    `${impl}: ${SCENARIOS.map((s) => `${s} ${reports[impl][s].length}`).join(", ")}`
  ).join("; ");
  const skipped = Object.entries(o.skipped).map(([k, n]) => `${k} ×${n}`);
  const perRound = [
    `| implementation / scenario | rounds (in run order) |`,
    `|---|---|`,
    ...IMPLS.flatMap((impl) =>
      SCENARIOS.map((s) =>
        `| ${impl} / ${s} | ${
          reports[impl][s].map((r) => (r.ok ? summarize(r) : `✗ ${r.problem ?? "failed"}`)).join("; ") || "—"
        } |`
      )
    ),
  ].join("\n");
  const body = [
    table,
    "",
    checks,
    "",
    `Rounds requested: ${o.rounds}${
      o.effectionRounds !== o.rounds ? ` (effection: ${o.effectionRounds})` : ""
    }; rounds run: ${roundsRun}.${
      skipped.length > 0 ? ` Skipped to stay within the time budget: ${skipped.join(", ")}.` : ""
    } Section time: ${o.seconds.toFixed(0)} s.`,
    ...(failures.length > 0
      ? ["", "Failures:", ...failures.map((r) => `- ${r.impl}/${r.scenario}: ${r.problem}`)]
      : []),
    ...(notes.length > 0 ? ["", "Notes:", ...notes] : []),
    "",
    "How it is measured:",
    "",
    "- Every implementation × scenario × round runs in a fresh `deno run --v8-flags=--expose-gc` subprocess " +
    "(`bench/core/worker.ts IMPL SCENARIO`), so heaps never mix; within a round the implementations take " +
    "turns (the order rotates each round); the table shows the median of the rounds. Spawn is measured in " +
    "the cold process; ping-pong and signal after one unmeasured run of the same work (the same for all three " +
    "implementations), so they show the steady state rather than the JIT's first tier.",
    `- spawn: ${count(SLEEPERS)} tasks, each sleeping ${SLEEP_MS} ms (ours: \`Sleep\`, one timer ` +
    "heap; plain: `await new Promise(r => setTimeout(r, ms))`; effection: `spawn` + `sleep`). Spawn time runs " +
    "from before the first spawn until the last task is about to park. Heap: `Deno.memoryUsage().heapUsed` " +
    "after `gc()` (twice) while all wait, minus the same before spawning, divided by " +
    `${count(SLEEPERS)}; 1 KB = 1024 bytes; V8 heap only (native timer memory is not counted).`,
    `- pingpong: ${count(ROUND_TRIPS)} round trips between two tasks over two unbounded queues ` +
    "(ours: `Queue` put/get; plain: a minimal promise queue; effection: `createQueue` add/next); 2 handoffs " +
    "per round trip; every value is checked on both sides.",
    `- signal: ${count(WAITERS)} parked waiters (ours: \`WaitForSignal\`, woken by one \`Signal\` ` +
    "from a task; plain: `await` on one shared promise, resolved once; effection: `yield*` of one " +
    "`withResolvers().operation`, resolved once from the main operation); the time runs from just before " +
    "the signal until the last waiter has resumed.",
    "",
    "Every round:",
    "",
    perRound,
  ].join("\n");
  return { headline, body, ok: failures.length === 0 };
}
