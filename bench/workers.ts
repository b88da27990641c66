/**
 * The `workers` section of `deno task bench`: hello keep-alive on every core
 * of the machine — ours through the CLI with one worker and with one per
 * core, beside `deno serve --parallel` (Deno's own multi-worker mode) and
 * node's `cluster`, one per core each — loaded by wrk in the same run. The
 * load generator shares the cores with the servers: the table says how many.
 *
 * @module
 */
import { alternate, medianOf, type RoundResult, type Rounds } from "./compare.ts";
import { CONNECTIONS, cpuText, HELLO_BODY, measure, type Run, type Scenario } from "./http.ts";
import { count, fmt } from "./numbers.ts";
import { exchange, expect, GET } from "./raw_http.ts";
import type { SectionOutput } from "./results.ts";
import {
  MULTI_SERVERS,
  nodeTitle,
  SERVER_TITLE,
  type ServerName,
  startServer,
  WORKERS,
} from "./server_process.ts";
import { WRK_MISSING, wrkProblem, wrkVersion } from "./wrk.ts";

/** Options of {@linkcode runWorkers}. */
export interface WorkersOptions {
  /** Rounds per server (the median is reported). Default 3. */
  rounds?: number;
  /** Seconds of each measured wrk run. Default 5. */
  seconds?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

const KEEP_ALIVE: Scenario = {
  id: "c64",
  name: `c${CONNECTIONS}`,
  path: "/",
  options: { connections: CONNECTIONS, mode: { kind: "get" } },
  inFlight: CONNECTIONS,
  record: (run) => ({ c64: run.wrk.reqPerSec }),
  describe: (run) => `${count(run.wrk.reqPerSec)} req/s`,
};
/** Seconds of load before the measured run (a multi-worker server's last worker is ready by then). */
const WARMUP_SECONDS = 2;
const SETTLE_MS = 500;

/** Runs the section: every round, each server in turn in a fresh process tree. */
export async function runWorkers(options: WorkersOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const start = performance.now();
  const version = await wrkVersion();
  if (version === null) {
    options.log(`workers: ${WRK_MISSING}`);
    return { headline: `**Not measured:** ${WRK_MISSING}`, body: "", ok: false };
  }
  const results = await alternate(
    MULTI_SERVERS,
    rounds,
    SETTLE_MS,
    (name, prefix) => oneRound(name, seconds, (line) => options.log(`workers: ${prefix} ${line}`)),
  );
  return render(results, rounds, seconds, version, await nodeTitle(), (performance.now() - start) / 1000);
}

async function oneRound(
  name: ServerName,
  seconds: number,
  log: (line: string) => void,
): Promise<RoundResult> {
  const result: RoundResult = { values: {}, problems: [], notes: [], summary: "" };
  const server = await startServer(name, "workers").catch((error) => {
    result.problems.push(error instanceof Error ? error.message : String(error));
    return undefined;
  });
  if (server === undefined) {
    result.summary = `✗ ${result.problems[0]}`;
    return result;
  }
  try {
    const [r] = (await exchange(server.port, GET("/"))).responses;
    expect(r.status === 200 && r.body === HELLO_BODY, `GET /: ${r.status} ${JSON.stringify(r.body)}`);
    await measure(server, KEEP_ALIVE, WARMUP_SECONDS);
    const run: Run = await measure(server, KEEP_ALIVE, seconds);
    const problem = wrkProblem(run.wrk);
    if (problem !== null) result.problems.push(problem);
    else {
      result.values.c64 = run.wrk.reqPerSec;
      result.values.cpu = run.cpu.server;
    }
    result.summary = `${KEEP_ALIVE.describe(run)} (${cpuText(run)})`;
    log(result.summary);
  } catch (error) {
    result.problems.push(error instanceof Error ? error.message : String(error));
    result.summary = `✗ ${result.problems.at(-1)}`;
    log(result.summary);
  } finally {
    await server.stop(10_000);
  }
  return result;
}

function render(
  rounds: Rounds,
  n: number,
  seconds: number,
  wrk: string,
  node: string,
  took: number,
): SectionOutput {
  const median = (s: ServerName) => medianOf(rounds, s, "c64");
  const ratio = (a: ServerName, b: ServerName) => {
    const r = median(a) / median(b);
    return Number.isFinite(r) ? `${fmt(r)}×` : "—";
  };
  const target = median("oursN") >= median("denoParallel");
  const problems = MULTI_SERVERS.flatMap((s) =>
    rounds[s].flatMap((r, i) => r.problems.map((p) => `${SERVER_TITLE[s]}, round ${i + 1}: ${p}`))
  );
  const headline = [
    `**${SERVER_TITLE.oursN} ÷ ${SERVER_TITLE.denoParallel}:** ${ratio("oursN", "denoParallel")};`,
    `**÷ ${SERVER_TITLE.nodeCluster}:** ${ratio("oursN", "nodeCluster")};`,
    `**${WORKERS} workers ÷ 1:** ${
      ratio("oursN", "ours1")
    } (keep-alive c${CONNECTIONS}, req/s; above 1 is better).`,
    `**Target:** as many workers as \`deno serve --parallel\` runs, at or ahead of it: ${
      Number.isFinite(median("oursN") / median("denoParallel")) ? (target ? "✓ met" : "✗ missed") : "?"
    }.`,
    problems.length > 0 ? `**${problems.length} check(s) failed** (see below).` : "All checks passed.",
  ].join(" ");
  const body = [
    `| keep-alive, ${CONNECTIONS} connections | req/s (median) | server CPU (% of one core) |`,
    "|---|--:|--:|",
    ...MULTI_SERVERS.map((s) =>
      `| ${SERVER_TITLE[s]} | ${count(median(s))} | ${fmt(medianOf(rounds, s, "cpu"))}% |`
    ),
    "",
    `The machine has ${navigator.hardwareConcurrency} cores, and wrk (one thread) runs on them beside the ` +
    "servers: a server of one worker per core shares its cores with the load generator, so the figures say how " +
    "the servers compare here, not how they scale on a larger machine.",
    "",
    "| server | round | figures |",
    "|---|--:|---|",
    ...MULTI_SERVERS.flatMap((s) =>
      rounds[s].map((r, i) => `| ${SERVER_TITLE[s]} | ${i + 1} | ${r.summary} |`)
    ),
    ...(problems.length > 0 ? ["", "Failed checks:", "", ...problems.map((p) => `- ${p}`)] : []),
    "",
    `Rounds: ${n}; section time: ${took.toFixed(0)} s.`,
    "",
    "How it is measured:",
    "",
    `- Ours: \`deno run -A cli.ts examples/hello.ts:hello -w W\` (W = 1, and ${WORKERS}): a supervisor and W ` +
    "worker processes listening on one port with `reusePort`. `deno serve --parallel`: " +
    "`bench/servers/deno_serve_parallel.ts` (one thread per core). node: `bench/servers/node_cluster.mjs` " +
    `under ${node} (\`cluster\`, one process per core). All answer \`Hello, World!\` as text/plain.`,
    `- Each round starts a fresh server (port 0), checks \`GET /\`, loads it for ${WARMUP_SECONDS} s unmeasured, ` +
    `then \`wrk -t1 -c${CONNECTIONS} -d${seconds}s\` (${wrk}); the server's CPU is that of its whole process ` +
    "tree. Servers take turns within a round.",
  ].join("\n");
  return { headline, body, ok: problems.length === 0 };
}
