/**
 * The core benchmark: the cogen `Scheduler` against plain async/await and
 * Effection 4.1.1, doing the same work in three scenarios:
 *
 * - `spawn`: 100 000 tasks each waiting on a 200 ms sleep: the time from
 *   before the first spawn until all are parked, the V8 heap per waiting task
 *   (after a forced gc), and a check that all 100 000 complete.
 * - `pingpong`: two tasks pass a number back and forth over two queues,
 *   200 000 round trips: handoffs per second (2 per round trip), values checked.
 * - `signal`: one signal wakes 10 000 waiters: the time from the signal until
 *   all have resumed, count checked.
 *
 * Every implementation × scenario × round runs in a fresh subprocess (this
 * file with `--worker IMPL SCENARIO`, under `--v8-flags=--expose-gc`), so
 * heaps never mix; rounds alternate between the implementations (the order
 * rotates each round) and the median of the rounds is reported.
 *
 * Run alone: `deno run -A bench/core.ts [--rounds 3] [--effection-rounds N]
 * [--budget 150]` (progress on stderr, a markdown table on stdout), or as the
 * `core` section of `deno task bench` (see `bench/run.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type * as Cogen from "@cogen/cogen/core";
import type * as Effection from "effection";
import { count, fmt, median, runDeno, stopChildrenOnInterrupt } from "./util.ts";

/** The implementations compared, in table order. */
export const IMPLS = ["ours", "plain", "effection"] as const;
/** One of {@linkcode IMPLS}. */
export type Impl = typeof IMPLS[number];
/** The scenarios, in run order. */
export const SCENARIOS = ["spawn", "pingpong", "signal"] as const;
/** One of {@linkcode SCENARIOS}. */
export type Scenario = typeof SCENARIOS[number];

/** Tasks in the `spawn` scenario. */
export const SLEEPERS = 100_000;
/** Ms each of them sleeps. */
export const SLEEP_MS = 200;
/** Round trips in the `pingpong` scenario (2 handoffs each). */
export const ROUND_TRIPS = 200_000;
/** Waiters woken by the one signal in the `signal` scenario. */
export const WAITERS = 10_000;

/** Ms of pause between two subprocesses. */
const SETTLE_MS = 300;

const IMPL_TITLE: Record<Impl, string> = {
  ours: "ours (cogen core)",
  plain: "plain async/await",
  effection: "effection 4.1.1",
};

/** What one worker subprocess reports (one line of JSON on its stdout). */
export interface WorkerReport {
  /** The implementation measured. */
  impl: Impl;
  /** The scenario run. */
  scenario: Scenario;
  /** Whether every check passed. */
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  problem?: string;
  /** Something to know about the figures (they are still valid). */
  note?: string;
  /**
   * The figures: `spawnMs`, `bytesPerTask`, `completed`, `finishedEarly`,
   * `totalMs` (spawn); `handoffsPerSec`, `ms`, `received` (pingpong);
   * `wakeMs`, `resumed`, `woken` (signal).
   */
  metrics: Record<string, number>;
}

// ---------------------------------------------------------------------------
// Worker side: runs one implementation × scenario and prints a WorkerReport.

type CogenModule = typeof Cogen;
type EffectionModule = typeof Effection;

function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("bench/core.ts: the worker needs --v8-flags=--expose-gc");
  gc();
  gc();
}

/** Called by every sleeper: once when about to park, once when its sleep is over. */
interface SleeperHooks {
  parked(): void;
  completed(): void;
}

/** Starts the 100 000 sleepers; resolves once they have all ended. */
type StartSleepers = (hooks: SleeperHooks) => Promise<unknown>;

async function measureSpawn(start: StartSleepers): Promise<Omit<WorkerReport, "impl" | "scenario">> {
  let parked = 0;
  let completed = 0;
  let tParked = 0;
  const allParked = Promise.withResolvers<void>();
  const hooks: SleeperHooks = {
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
  return {
    ok: completed === SLEEPERS,
    problem: completed === SLEEPERS
      ? undefined
      : `${count(completed)} of ${count(SLEEPERS)} sleepers completed`,
    note: finishedEarly === 0
      ? undefined
      : `${count(finishedEarly)} sleepers had already finished when the heap ` +
        `was measured (the spawn outlasted their ${SLEEP_MS} ms sleep): the heap is divided by the ` +
        `${count(waiting)} still waiting`,
    metrics: {
      spawnMs,
      bytesPerTask: (heap - baseline) / waiting,
      completed,
      finishedEarly,
      totalMs,
    },
  };
}

function sleepersOurs(core: CogenModule): StartSleepers {
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

function sleepersPlain(): StartSleepers {
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

function sleepersEffection(eff: EffectionModule): StartSleepers {
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

/** Plays the 200 000 round trips; returns how many values were received and how many were wrong. */
type PlayPingPong = () => Promise<{ received: number; errors: number }>;

async function measurePingPong(play: PlayPingPong): Promise<Omit<WorkerReport, "impl" | "scenario">> {
  // One unmeasured run first (for every implementation alike): the figure is the steady state, not
  // the JIT's first tier, which dominates a 0.1 s run.
  await play();
  const t0 = performance.now();
  const { received, errors } = await play();
  const ms = performance.now() - t0;
  const handoffs = 2 * ROUND_TRIPS;
  const problems: string[] = [];
  if (received !== handoffs) problems.push(`${received} of ${handoffs} values received`);
  if (errors !== 0) problems.push(`${errors} values were wrong`);
  return {
    ok: problems.length === 0,
    problem: problems.join("; ") || undefined,
    metrics: { handoffsPerSec: handoffs / (ms / 1000), ms, received },
  };
}

function pingPongOurs(core: CogenModule): PlayPingPong {
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

function pingPongPlain(): PlayPingPong {
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

function pingPongEffection(eff: EffectionModule): PlayPingPong {
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

/** Parks the 10 000 waiters, signals once, and reports when the signal went out and the last resumed. */
type WakeWaiters = () => Promise<
  { tSignal: number; tEnd: number; parkedAtSignal: number; resumed: number; settled: number; woken: number }
>;

const SIGNAL_VALUE = 42;

async function measureSignal(wake: WakeWaiters): Promise<Omit<WorkerReport, "impl" | "scenario">> {
  await wake(); // unmeasured warm-up, as for ping-pong
  const r = await wake();
  const problems: string[] = [];
  if (r.parkedAtSignal !== WAITERS) {
    problems.push(`${r.parkedAtSignal} of ${WAITERS} waiters parked at the signal`);
  }
  if (r.settled !== WAITERS) problems.push(`${r.settled} of ${WAITERS} waiters resumed`);
  if (r.resumed !== WAITERS) problems.push(`${r.settled - r.resumed} waiters got a wrong value`);
  if (r.woken !== WAITERS) problems.push(`the signal reported ${r.woken} woken`);
  return {
    ok: problems.length === 0,
    problem: problems.join("; ") || undefined,
    metrics: { wakeMs: r.tEnd - r.tSignal, resumed: r.resumed, woken: r.woken },
  };
}

function signalOurs(core: CogenModule): WakeWaiters {
  return async () => {
    const sched = new core.Scheduler();
    let parked = 0, settled = 0, resumed = 0, parkedAtSignal = 0;
    let tSignal = 0, tEnd = 0, woken = -1;
    function* waiter(): Generator<Cogen.Yieldable, void, unknown> {
      parked++;
      const v = yield new core.WaitForSignal("go");
      if (v === SIGNAL_VALUE) resumed++;
      if (++settled === WAITERS) tEnd = performance.now();
    }
    for (let i = 0; i < WAITERS; i++) sched.add(waiter);
    sched.add(function* signaller(): Generator<Cogen.Yieldable, void, unknown> {
      while (parked < WAITERS) yield; // never loops: the run queue is FIFO, the waiters went first
      parkedAtSignal = parked;
      tSignal = performance.now();
      woken = (yield new core.Signal("go", SIGNAL_VALUE)) as number;
    });
    await sched.run();
    return { tSignal, tEnd, parkedAtSignal, resumed, settled, woken };
  };
}

function signalPlain(): WakeWaiters {
  return async () => {
    const gate = Promise.withResolvers<number>();
    const all = Promise.withResolvers<void>();
    let parked = 0, settled = 0, resumed = 0, tEnd = 0;
    async function waiter(): Promise<void> {
      parked++;
      const v = await gate.promise;
      if (v === SIGNAL_VALUE) resumed++;
      if (++settled === WAITERS) {
        tEnd = performance.now();
        all.resolve();
      }
    }
    for (let i = 0; i < WAITERS; i++) waiter();
    const parkedAtSignal = parked;
    const tSignal = performance.now();
    gate.resolve(SIGNAL_VALUE);
    await all.promise;
    return { tSignal, tEnd, parkedAtSignal, resumed, settled, woken: settled };
  };
}

function signalEffection(eff: EffectionModule): WakeWaiters {
  return async () => {
    let parked = 0, settled = 0, resumed = 0, parkedAtSignal = 0, tSignal = 0, tEnd = 0;
    await eff.run(function* () {
      const gate = eff.withResolvers<number>();
      const allParked = eff.withResolvers<void>();
      const allDone = eff.withResolvers<void>();
      function* waiter(): Effection.Operation<void> {
        if (++parked === WAITERS) allParked.resolve();
        const v = yield* gate.operation;
        if (v === SIGNAL_VALUE) resumed++;
        if (++settled === WAITERS) {
          tEnd = performance.now();
          allDone.resolve();
        }
      }
      for (let i = 0; i < WAITERS; i++) yield* eff.spawn(waiter);
      yield* allParked.operation;
      parkedAtSignal = parked;
      tSignal = performance.now();
      gate.resolve(SIGNAL_VALUE);
      yield* allDone.operation;
    });
    return { tSignal, tEnd, parkedAtSignal, resumed, settled, woken: settled };
  };
}

/**
 * Runs one implementation × scenario in this process and returns its report.
 * Meant for a fresh subprocess started with `--v8-flags=--expose-gc` (see
 * {@linkcode runCore}); the module under test is imported first, so its
 * loading is not part of any figure.
 */
export async function runWorker(impl: Impl, scenario: Scenario): Promise<WorkerReport> {
  const core = impl === "ours" ? await import("@cogen/cogen/core") : null;
  const eff = impl === "effection" ? await import("effection") : null;
  let result: Omit<WorkerReport, "impl" | "scenario">;
  if (scenario === "spawn") {
    result = await measureSpawn(core ? sleepersOurs(core) : eff ? sleepersEffection(eff) : sleepersPlain());
  } else if (scenario === "pingpong") {
    result = await measurePingPong(
      core ? pingPongOurs(core) : eff ? pingPongEffection(eff) : pingPongPlain(),
    );
  } else {
    result = await measureSignal(core ? signalOurs(core) : eff ? signalEffection(eff) : signalPlain());
  }
  return { impl, scenario, ...result };
}

// ---------------------------------------------------------------------------
// Driver side: the rounds, the subprocesses, the medians and the table.

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
  /** Seconds before one subprocess is killed. Default 90. */
  timeoutSeconds?: number;
  /** Where progress goes. Default: stderr. */
  log?: (line: string) => void;
}

/** The outcome of {@linkcode runCore}. */
export interface CoreResults {
  /** Every round's report, by `impl/scenario`. */
  reports: Record<string, WorkerReport[]>;
  /** Rounds skipped to stay within the time budget, by `impl/scenario`. */
  skipped: Record<string, number>;
  /** Seconds the whole section took. */
  seconds: number;
  /** One paragraph: the ratios (ours vs plain, ours vs effection) and the targets. */
  headline: string;
  /** The markdown table of medians. */
  table: string;
  /** Checks, method, per-round figures: markdown to print under the table. */
  details: string;
}

function key(impl: Impl, scenario: Scenario): string {
  return `${impl}/${scenario}`;
}

/**
 * Runs the core benchmark: every implementation × scenario × round in a fresh
 * subprocess, rounds alternating between implementations, then the medians.
 * Never leaves a subprocess running (each is awaited, killed past its time
 * limit, and killed on SIGINT/SIGTERM).
 */
export async function runCore(options: CoreOptions = {}): Promise<CoreResults> {
  const rounds = options.rounds ?? 3;
  const effectionRounds = options.effectionRounds ?? rounds;
  const budgetMs = (options.budgetSeconds ?? 150) * 1000;
  const timeoutMs = (options.timeoutSeconds ?? 90) * 1000;
  const log = options.log ?? ((line: string) => console.error(line));
  const self = import.meta.filename!;
  const root = new URL("..", import.meta.url).pathname;
  const reports: Record<string, WorkerReport[]> = {};
  const slowest: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  const start = performance.now();
  const total = Math.max(rounds, effectionRounds);
  const unlisten = stopChildrenOnInterrupt();
  try {
    for (let round = 0; round < total; round++) {
      for (const scenario of SCENARIOS) {
        for (let j = 0; j < IMPLS.length; j++) {
          const impl = IMPLS[(j + round) % IMPLS.length];
          if (round >= (impl === "effection" ? effectionRounds : rounds)) continue;
          const k = key(impl, scenario);
          const done = reports[k]?.length ?? 0;
          const elapsed = performance.now() - start;
          if (done > 0 && elapsed + (slowest[k] ?? 0) > budgetMs) {
            skipped[k] = (skipped[k] ?? 0) + 1;
            log(
              `core: round ${round + 1} ${k}: skipped (time budget: ${(elapsed / 1000).toFixed(0)} s spent)`,
            );
            continue;
          }
          // Let the machine settle (the previous process may have just freed 1.5 GB).
          if (round + j > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
          const out = await runDeno(
            [
              "run",
              "--v8-flags=--expose-gc",
              "--no-prompt",
              "--config",
              `${root}deno.json`,
              self,
              "--worker",
              impl,
              scenario,
            ],
            { timeoutMs, cwd: root },
          );
          slowest[k] = Math.max(slowest[k] ?? 0, out.ms);
          const report = parseReport(impl, scenario, out);
          (reports[k] ??= []).push(report);
          log(
            `core: round ${round + 1}/${impl === "effection" ? effectionRounds : rounds} ${k.padEnd(18)} ` +
              `${summarize(report)} ${report.ok ? "" : `FAILED: ${report.problem} `}${
                report.note ? `(note: ${report.note}) ` : ""
              }(${(out.ms / 1000).toFixed(1)} s)`,
          );
        }
      }
    }
  } finally {
    unlisten();
  }
  const seconds = (performance.now() - start) / 1000;
  return { reports, skipped, seconds, ...render(reports, skipped, rounds, effectionRounds, seconds) };
}

function parseReport(
  impl: Impl,
  scenario: Scenario,
  out: { code: number; stdout: string; stderr: string; timedOut: boolean },
): WorkerReport {
  const failed = (problem: string): WorkerReport => ({ impl, scenario, ok: false, problem, metrics: {} });
  if (out.timedOut) return failed("killed: over its time limit");
  const line = out.stdout.trim().split("\n").pop() ?? "";
  try {
    const report = JSON.parse(line) as WorkerReport;
    if (out.code !== 0) return { ...report, ok: false, problem: `exit code ${out.code}` };
    return report;
  } catch {
    const tail = out.stderr.trim().split("\n").slice(-3).join(" | ");
    return failed(`exit code ${out.code}, no report${tail ? `: ${tail}` : ""}`);
  }
}

function summarize(r: WorkerReport): string {
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

/** One row of the table: a metric, how to read it, and its target. */
interface Row {
  scenario: Scenario;
  metric: string;
  label: string;
  unit: string;
  scale: number;
  lowerIsBetter: boolean;
  better: string;
  worse: string;
  target?: { value: number; text: string };
  issue: string;
}

const ROWS: Row[] = [
  {
    scenario: "spawn",
    metric: "spawnMs",
    label: "spawn 100 000 sleepers until all parked",
    unit: "s",
    scale: 1 / 1000,
    lowerIsBetter: true,
    better: "faster",
    worse: "slower",
    target: { value: 0.2, text: "≤ 0.2 s" },
    issue: "effection ≈ 9 s",
  },
  {
    scenario: "spawn",
    metric: "bytesPerTask",
    label: "heap per waiting task",
    unit: "KB",
    scale: 1 / 1024,
    lowerIsBetter: true,
    better: "smaller",
    worse: "larger",
    target: { value: 0.7, text: "≤ 0.7 KB" },
    issue: "plain ≈ 1.35 KB, effection ≈ 8.4 KB",
  },
  {
    scenario: "pingpong",
    metric: "handoffsPerSec",
    label: "queue ping-pong, handoffs per second",
    unit: "M/s",
    scale: 1 / 1e6,
    lowerIsBetter: false,
    better: "faster",
    worse: "slower",
    target: { value: 4, text: "≥ 4 M/s" },
    issue: "plain ≈ 5.6 M/s, effection ≈ 0.11 M/s",
  },
  {
    scenario: "signal",
    metric: "wakeMs",
    label: "one signal → 10 000 waiters resumed",
    unit: "ms",
    scale: 1,
    lowerIsBetter: true,
    better: "faster",
    worse: "slower",
    issue: "—",
  },
];

function medianOf(reports: Record<string, WorkerReport[]>, impl: Impl, row: Row): number {
  const values = (reports[key(impl, row.scenario)] ?? [])
    .filter((r) => r.ok && Number.isFinite(r.metrics[row.metric]))
    .map((r) => r.metrics[row.metric] * row.scale);
  return median(values);
}

/** "3.1× faster" / "1.4× slower": how ours compares with `other` on this row. */
function ratio(row: Row, ours: number, other: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(other) || ours <= 0 || other <= 0) return "—";
  const factor = row.lowerIsBetter ? other / ours : ours / other;
  return factor >= 1 ? `${fmt(factor, 2)}× ${row.better}` : `${fmt(1 / factor, 2)}× ${row.worse}`;
}

function meets(row: Row, value: number): boolean | undefined {
  if (row.target === undefined || !Number.isFinite(value)) return undefined;
  return row.lowerIsBetter ? value <= row.target.value : value >= row.target.value;
}

function render(
  reports: Record<string, WorkerReport[]>,
  skipped: Record<string, number>,
  rounds: number,
  effectionRounds: number,
  seconds: number,
): Pick<CoreResults, "headline" | "table" | "details"> {
  const allOk = (impl: Impl, scenario: Scenario) => {
    const rs = reports[key(impl, scenario)] ?? [];
    return rs.length > 0 && rs.every((r) => r.ok);
  };
  const cell = (impl: Impl, row: Row) => {
    const v = medianOf(reports, impl, row);
    let text = Number.isFinite(v) ? `${fmt(v)} ${row.unit}` : "—";
    if (impl === "ours") {
      const met = meets(row, v);
      if (met !== undefined) text += met ? " ✓" : " ✗";
    }
    if (!allOk(impl, row.scenario)) text += " (check failed)";
    return text;
  };
  const lines = [
    `| | target | ${
      IMPLS.map((i) => IMPL_TITLE[i]).join(" | ")
    } | ours vs plain | ours vs effection | the issue's figures |`,
    `|---|---|${IMPLS.map(() => "--:").join("|")}|---|---|---|`,
  ];
  for (const row of ROWS) {
    const ours = medianOf(reports, "ours", row);
    lines.push(
      `| ${row.label} | ${row.target?.text ?? "—"} | ${IMPLS.map((i) => cell(i, row)).join(" | ")} | ${
        ratio(row, ours, medianOf(reports, "plain", row))
      } | ${ratio(row, ours, medianOf(reports, "effection", row))} | ${row.issue} |`,
    );
  }
  const checks = SCENARIOS.map((s) => {
    const what = s === "spawn"
      ? `all ${count(SLEEPERS)} sleepers completed`
      : s === "pingpong"
      ? `all ${count(2 * ROUND_TRIPS)} values received in order`
      : `all ${count(WAITERS)} waiters resumed with the signalled value`;
    return `| ${s} | ${what} | ${IMPLS.map((i) => (allOk(i, s) ? "✓" : "✗")).join(" | ")} |`;
  });
  const checkTable = [
    `| scenario | check (every round) | ${IMPLS.map((i) => IMPL_TITLE[i]).join(" | ")} |`,
    `|---|---|${IMPLS.map(() => ":-:").join("|")}|`,
    ...checks,
  ].join("\n");

  const versus = (other: Impl) =>
    ROWS.map((row) => {
      const r = ratio(row, medianOf(reports, "ours", row), medianOf(reports, other, row));
      return `${shortName(row)} ${r}`;
    }).join(", ");
  const targets = ROWS.filter((r) => r.target).map((row) => {
    const v = medianOf(reports, "ours", row);
    const met = meets(row, v);
    return `${shortName(row)} ${row.target!.text} ${met === undefined ? "?" : met ? "✓" : "✗"} (${
      fmt(v)
    } ${row.unit})`;
  }).join(", ");
  const failures = Object.values(reports).flat().filter((r) => !r.ok);
  const notes = Object.entries(reports).flatMap(([k, rs]) =>
    rs.flatMap((r, i) => (r.note ? [`- ${k}, its round ${i + 1}: ${r.note}.`] : []))
  );
  const headline = [
    `**Ours vs plain async/await:** ${versus("plain")}.`,
    `**Ours vs Effection 4.1.1:** ${versus("effection")}.`,
    `**Targets (ours):** ${targets}.`,
    failures.length > 0
      ? `**${failures.length} round(s) failed a check** (see below).`
      : "All checks passed in every round.",
  ].join(" ");

  const roundsLine = IMPLS.map((impl) => {
    const counts = SCENARIOS.map((s) => `${s} ${reports[key(impl, s)]?.length ?? 0}`).join(", ");
    return `${impl}: ${counts}`;
  }).join("; ");
  const skippedList = Object.entries(skipped).map(([k, n]) => `${k} ×${n}`);
  const perRound = [
    `| implementation / scenario | rounds (in run order) |`,
    `|---|---|`,
    ...IMPLS.flatMap((impl) =>
      SCENARIOS.map((s) => {
        const rs = reports[key(impl, s)] ?? [];
        return `| ${impl} / ${s} | ${
          rs.map((r) => (r.ok ? summarize(r) : `✗ ${r.problem ?? "failed"}`)).join("; ") || "—"
        } |`;
      })
    ),
  ].join("\n");
  const details = [
    checkTable,
    "",
    `Rounds requested: ${rounds}${
      effectionRounds !== rounds ? ` (effection: ${effectionRounds})` : ""
    }; rounds run: ${roundsLine}.${
      skippedList.length > 0 ? ` Skipped to stay within the time budget: ${skippedList.join(", ")}.` : ""
    } Section time: ${seconds.toFixed(0)} s.`,
    ...(failures.length > 0
      ? ["", "Failures:", ...failures.map((r) => `- ${r.impl}/${r.scenario}: ${r.problem}`)]
      : []),
    ...(notes.length > 0 ? ["", "Notes:", ...notes] : []),
    "",
    "How it is measured:",
    "",
    "- Every implementation × scenario × round runs in a fresh `deno run --v8-flags=--expose-gc` subprocess " +
    "(`bench/core.ts --worker IMPL SCENARIO`), so heaps never mix; within a round the implementations take " +
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
  return { headline, table: lines.join("\n"), details };
}

function shortName(row: Row): string {
  return row.scenario === "spawn"
    ? row.metric === "spawnMs" ? "spawn" : "heap per waiting task"
    : row.scenario === "pingpong"
    ? "queue handoffs"
    : "signal wake-up";
}

function usage(): string {
  return [
    "usage: deno run -A bench/core.ts [--rounds N] [--effection-rounds N] [--budget SECONDS] [--timeout SECONDS]",
    "       (worker mode, used by the driver: --worker IMPL SCENARIO)",
  ].join("\n");
}

/** Parses a positive integer option, or throws with the usage. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got ${value}`);
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      worker: { type: "boolean" },
      rounds: { type: "string" },
      "effection-rounds": { type: "string" },
      budget: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  if (values.worker) {
    const [impl, scenario] = positionals as [Impl, Scenario];
    if (!IMPLS.includes(impl) || !SCENARIOS.includes(scenario)) {
      console.error(`bench/core.ts --worker IMPL SCENARIO: IMPL in ${IMPLS}, SCENARIO in ${SCENARIOS}`);
      return 2;
    }
    console.log(JSON.stringify(await runWorker(impl, scenario)));
    return 0;
  }
  const rounds = positiveInt("rounds", values.rounds, 3);
  const results = await runCore({
    rounds,
    effectionRounds: positiveInt("effection-rounds", values["effection-rounds"], rounds),
    budgetSeconds: positiveInt("budget", values.budget, 150),
    timeoutSeconds: positiveInt("timeout", values.timeout, 90),
  });
  console.log([results.headline, "", results.table, "", results.details].join("\n"));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`bench/core.ts: ${error instanceof Error ? error.message : error}\n${usage()}`);
    Deno.exitCode = 2;
  }
}
