/**
 * The `pool` section of `deno task bench`: a CPU-bound route (`/fib`, a few
 * ms of computing per request) served inline and from a worker pool
 * (`blocking`, one worker per core), each under load from wrk, while a
 * second wrk measures a fast route (`/`) of the same server: the pool's
 * throughput against the same work done inline, and what the fast route's
 * latency becomes both ways.
 *
 * @module
 */
import { median } from "./numbers.ts";
import { count, fmt } from "./numbers.ts";
import type { SectionOutput } from "./results.ts";
import { spawnTracked } from "./subprocess.ts";
import { runWrk, WRK_MISSING, wrkProblem, wrkVersion } from "./wrk.ts";
import { FIB_BODY, FIB_N } from "./servers/pool_work.ts";

/** Options of {@linkcode runPool}. */
export interface PoolOptions {
  /** Rounds per mode (the median is reported). Default 3. */
  rounds?: number;
  /** Seconds of each measured run. Default 5. */
  seconds?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

type Mode = "inline" | "pool";
const MODES: readonly Mode[] = ["inline", "pool"];
/** Connections loading `/fib`, and the fast route's (one, to read its latency). */
const FIB_CONNECTIONS = 8;

/** One round of one mode. */
interface PoolRound {
  fibPerSec: number;
  fastPerSec: number;
  fastP50: number;
  fastP99: number;
  problems: string[];
}

/** Runs the section: every round, each mode in turn in a fresh server process. */
export async function runPool(options: PoolOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const started = performance.now();
  const version = await wrkVersion();
  if (version === null) {
    options.log(`pool: ${WRK_MISSING}`);
    return { headline: `**Not measured:** ${WRK_MISSING}`, body: "", ok: false };
  }
  const results: Record<Mode, PoolRound[]> = { inline: [], pool: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const mode of MODES) {
      const result = await oneRound(mode, seconds);
      results[mode].push(result);
      options.log(
        `pool: round ${round}/${rounds} ${mode.padEnd(6)} /fib ${count(result.fibPerSec)} req/s; ` +
          `/ meanwhile p50 ${fmt(result.fastP50)} ms, p99 ${fmt(result.fastP99)} ms` +
          (result.problems.length > 0 ? ` ✗ ${result.problems.join("; ")}` : ""),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  return render(results, rounds, seconds, version, (performance.now() - started) / 1000);
}

async function oneRound(mode: Mode, seconds: number): Promise<PoolRound> {
  const result: PoolRound = { fibPerSec: NaN, fastPerSec: NaN, fastP50: NaN, fastP99: NaN, problems: [] };
  const child = spawnTracked(Deno.execPath(), ["run", "-A", "bench/servers/ours_pool.ts"], {
    env: { HOST: "127.0.0.1", PORT: "0", MODE: mode },
  });
  try {
    const port = await listeningPort(child);
    const base = `http://127.0.0.1:${port}`;
    for (const [path, body] of [["/fib", FIB_BODY], ["/", "Hello, World!"]]) {
      const response = await fetch(base + path);
      const text = await response.text();
      if (response.status !== 200 || text !== body) {
        result.problems.push(`GET ${path} answered ${response.status} ${JSON.stringify(text.slice(0, 40))}`);
      }
    }
    // Warm-up: the workers start and import the module; the JIT settles.
    await runWrk(`${base}/fib`, { connections: FIB_CONNECTIONS, seconds: 1, mode: { kind: "get" } });
    const [fibRun, fastRun] = await Promise.all([
      runWrk(`${base}/fib`, { connections: FIB_CONNECTIONS, seconds, mode: { kind: "get" } }),
      runWrk(`${base}/`, { connections: 1, seconds, mode: { kind: "get" } }),
    ]);
    for (const [what, run] of [["/fib", fibRun], ["/", fastRun]] as const) {
      const problem = wrkProblem(run);
      if (problem !== null) result.problems.push(`${what}: ${problem}`);
    }
    result.fibPerSec = fibRun.reqPerSec;
    result.fastPerSec = fastRun.reqPerSec;
    result.fastP50 = fastRun.latencyMs.p50;
    result.fastP99 = fastRun.latencyMs.p99;
  } catch (error) {
    result.problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  }
  return result;
}

/** Reads the server's stdout until it says where it listens. */
async function listeningPort(child: Deno.ChildProcess): Promise<number> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 30_000);
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the server exited or did not listen within 30 s");
      text += value;
      const port = /listening on http:\/\/[^:/]+:(\d+)\//.exec(text)?.[1];
      if (port !== undefined) return Number(port);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
  }
}

function render(
  results: Record<Mode, PoolRound[]>,
  rounds: number,
  seconds: number,
  version: string,
  sectionSeconds: number,
): SectionOutput {
  const med = (mode: Mode, key: keyof Omit<PoolRound, "problems">) =>
    median(results[mode].map((r) => r[key]).filter(Number.isFinite));
  const problems = MODES.flatMap((mode) =>
    results[mode].flatMap((r, i) => r.problems.map((p) => `${mode}, round ${i + 1}: ${p}`))
  );
  const ratio = (key: keyof Omit<PoolRound, "problems">) => med("pool", key) / med("inline", key);
  const headline = `**Pool ÷ inline:** \`/fib\` throughput ${fmt(ratio("fibPerSec"))}×; the fast route ` +
    `meanwhile: p50 ${fmt(ratio("fastP50"))}×, p99 ${fmt(ratio("fastP99"))}× (below 1 is better), ` +
    `${fmt(ratio("fastPerSec"))}× the requests. ` +
    (problems.length === 0 ? "All checks passed." : `**Checks failed:** ${problems.join("; ")}.`);
  const row = (label: string, key: keyof Omit<PoolRound, "problems">, unit: string, digits = 3) =>
    `| ${label} | ${fmt(med("inline", key), digits)}${unit} | ${fmt(med("pool", key), digits)}${unit} | ${
      fmt(ratio(key))
    }× |`;
  const table = [
    `| measurement (median of ${rounds} rounds) | inline | pool (${navigator.hardwareConcurrency} workers) | pool ÷ inline |`,
    "| --- | --: | --: | --: |",
    row(`\`/fib\` (fib(${FIB_N}) per request), ${FIB_CONNECTIONS} connections, req/s`, "fibPerSec", ""),
    row("fast route `/` meanwhile, 1 connection, p50", "fastP50", " ms"),
    row("fast route `/` meanwhile, p99", "fastP99", " ms"),
    row("fast route `/` meanwhile, req/s", "fastPerSec", ""),
  ].join("\n");
  const how = [
    "How it is measured:",
    "",
    `- One server (\`bench/servers/ours_pool.ts\`) per round and mode, fresh: \`/fib\` answers fib(${FIB_N}) ` +
    "computed by a synchronous WSGI app (`bench/servers/pool_work.ts`), either called inline (MODE=inline: " +
    "the scheduler waits for it) or through `blocking()` on a `WorkerPool` of one worker per core " +
    "(MODE=pool); `/` answers `Hello, World!` at once.",
    `- Each round: both routes checked once (status and body), 1 s of warm-up load on \`/fib\`, then two wrk ` +
    `runs at once for ${seconds} s: ${FIB_CONNECTIONS} connections on \`/fib\` and 1 connection on \`/\` ` +
    "(its latency is the fast route's under the CPU-bound load). The modes alternate; the table shows " +
    "medians. wrk and the server share the machine's cores.",
    `- ${version}. Section time: ${Math.round(sectionSeconds)} s.`,
  ].join("\n");
  const every = [
    "| mode | round | `/fib` req/s | `/` p50 | `/` p99 | `/` req/s |",
    "| --- | --: | --: | --: | --: | --: |",
    ...MODES.flatMap((mode) =>
      results[mode].map((r, i) =>
        `| ${mode} | ${i + 1} | ${count(r.fibPerSec)} | ${fmt(r.fastP50)} ms | ${fmt(r.fastP99)} ms | ${
          count(r.fastPerSec)
        } |`
      )
    ),
  ].join("\n");
  return { headline, body: [table, how, every].join("\n\n"), ok: problems.length === 0 };
}
