/**
 * What the wrk sections (`hello`: `bench/hello.ts`, `transfer`:
 * `bench/transfer.ts`) share: each round of each server is a fresh server
 * process (`bench/server_process.ts`) that first answers raw check requests,
 * then gets one unmeasured second of load per scenario, then the measured
 * runs, with `wrk` in another process; Deno.serve, node:http and the floor
 * report the requests they served on exit, which must agree with what wrk
 * counted (so wrk's pipelined figures count requests, not batches).
 *
 * @module
 */
import { alternate, medianOf, type Metric, renderComparison, type RoundResult } from "./compare.ts";
import { systemBusyMs, treeCpuMs } from "./machine.ts";
import { count, fmt } from "./numbers.ts";
import type { SectionOutput } from "./results.ts";
import {
  nodeTitle,
  SERVER_TITLE,
  type ServerApp,
  type ServerName,
  type ServerProcess,
  serversFor,
  startServer,
} from "./server_process.ts";
import { runWrk, WRK_MISSING, type WrkOptions, wrkProblem, type WrkResult, wrkVersion } from "./wrk.ts";

/** Options of a wrk section. */
export interface HttpOptions {
  /** Rounds per server (the median is reported). Default 3. */
  rounds?: number;
  /** Seconds of each measured wrk run. Default 5. */
  seconds?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** Connections of the keep-alive, pipelined and 64 KiB runs. */
export const CONNECTIONS = 64;
/** What every server answers to `GET /`. */
export const HELLO_BODY = "Hello, World!";
/** Seconds of the unmeasured warm-up run before each scenario's first measured run. */
const WARMUP_SECONDS = 1;
/** Ms of pause between two server processes. */
const SETTLE_MS = 300;
/**
 * A measured run during which other processes (not the server, not wrk) kept
 * more than this % of one core busy is run again, at most {@linkcode RETRIES}
 * times: on a shared 2-core machine, their load would be counted against the
 * server that happened to be measured.
 */
const OTHER_CPU_LIMIT = 25;
/** Repeats of a disturbed run. */
const RETRIES = 2;

/** One wrk run and the CPU the machine spent meanwhile, in % of one core. */
export interface Run {
  /** What wrk measured. */
  wrk: WrkResult;
  /** The server's, wrk's and every other process's CPU during the run. */
  cpu: { server: number; wrk: number; other: number };
}

/** One scenario of a section: how wrk loads the server and what is recorded. */
export interface Scenario {
  /** Key prefix of its CPU figures. */
  id: string;
  /** Name in the table of rounds. */
  name: string;
  /** The path wrk requests. */
  path: string;
  /** How wrk loads it (the seconds are the section's). */
  options: Omit<WrkOptions, "seconds">;
  /** Responses that can be in flight uncounted when wrk stops (connections × depth). */
  inFlight: number;
  /** The figures to record from a run. */
  record(run: Run): Record<string, number>;
  /** The run, in a few words, for the table of rounds. */
  describe(run: Run): string;
}

/** What a section does with one fresh server process. */
export interface SectionSpec {
  /** The app every server runs. */
  app: ServerApp;
  /** The rows of its table. */
  metrics: Metric[];
  /** The wrk runs of each round, in order. */
  scenarios: Scenario[];
  /** Raw check requests against a fresh server; returns how many requests they made, or throws. */
  check(port: number): Promise<number>;
  /** What every round checks, for the text under the table. */
  checks: string[];
  /** How the app and the scenarios are measured, one paragraph each. */
  method: (seconds: number) => string[];
  /** `https` for a section over TLS (default `http`). */
  scheme?: "http" | "https";
  /** More environment for every server (the TLS section's `CERT_FILE` and `KEY_FILE`). */
  env?: Record<string, string>;
}

/** One wrk run of `scenario` against `server`, with the CPU the machine spent meanwhile. */
export async function measure(
  server: ServerProcess,
  scenario: Scenario,
  seconds: number,
  scheme: "http" | "https" = "http",
): Promise<Run> {
  const s0 = treeCpuMs(server.pid);
  const b0 = systemBusyMs();
  const wrk = await runWrk(`${scheme}://127.0.0.1:${server.port}${scenario.path}`, {
    ...scenario.options,
    seconds,
  });
  const serverMs = treeCpuMs(server.pid) - s0;
  const busyMs = systemBusyMs() - b0;
  const ms = wrk.seconds * 1000;
  return {
    wrk,
    cpu: {
      server: (100 * serverMs) / ms,
      wrk: (100 * wrk.cpuMs) / ms,
      other: (100 * Math.max(0, busyMs - serverMs - wrk.cpuMs)) / ms,
    },
  };
}

/** A run's rate, in a few words: `41 794 req/s`. */
export function reqPerSecText(run: Run): string {
  return `${count(run.wrk.reqPerSec)} req/s`;
}

/**
 * The server's CPU time per request of a run, in µs. While the server is
 * the limit (a full core) it is one core-second over req/s; when wrk is the
 * limit, it shows what each request cost the server below that.
 */
export function cpuPerRequest(run: Run): number {
  return (run.cpu.server / 100) * run.wrk.seconds * 1e6 / run.wrk.requests;
}

/** A run's rate and the server's CPU per request, in a few words. */
export function rateAndCpuText(run: Run): string {
  return `${reqPerSecText(run)}, ${fmt(cpuPerRequest(run))} µs of server CPU per request`;
}

/** The CPU of a run, in a few words. */
export function cpuText(run: Run): string {
  const c = run.cpu;
  return `CPU: server ${c.server.toFixed(0)}%, wrk ${c.wrk.toFixed(0)}%, other ${c.other.toFixed(0)}%`;
}

/** Runs a wrk section: every round, each server in turn in a fresh process. */
export async function runSection(spec: SectionSpec, options: HttpOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const log = options.log;
  const start = performance.now();
  const version = await wrkVersion();
  if (version === null) {
    log(`${spec.app}: ${WRK_MISSING}`);
    return { headline: `**Not measured:** ${WRK_MISSING}`, body: "", ok: false };
  }
  const servers = serversFor(spec.app);
  const results = await alternate(
    servers,
    rounds,
    SETTLE_MS,
    (name, prefix) => oneRound(spec, name, seconds, (line) => log(`${spec.app}: ${prefix} ${line}`)),
  );
  const rendered = renderComparison(spec.metrics, results, {
    checks: spec.checks,
    method: [
      ...spec.method(seconds),
      `Load: ${version}, one thread (\`-t1\`), on the same machine: with 2 cores, wrk takes one and the ` +
      "server the other. The CPU each used is measured during every run (the server from " +
      "`/proc/PID/stat`, wrk from its own `/proc/self/stat` at its end, everything else from `/proc/stat`) and shown in % " +
      "of one core below: a server well under 100% while wrk is near 100% means wrk was the limit. A run " +
      `during which other processes kept more than ${OTHER_CPU_LIMIT}% of a core busy is run again (at most ` +
      `${RETRIES} times; noted below).`,
      "Servers: ours runs with `deno run -A`; `Deno.serve` in `bench/servers/deno_serve.ts` with " +
      `\`deno run -A\`; \`node:http\` in \`bench/servers/node_http.mjs\` under ${await nodeTitle()} (not Deno's ` +
      "compatibility layer, which `bench/conformance.ts` uses for the protocol only)" +
      (servers.includes("floor")
        ? "; the Deno.listen floor in `bench/servers/deno_listen_floor.ts` with `deno run -A`: not a server, the " +
          "least a program on Deno's sockets can do (it counts `\\r\\n\\r\\n` and writes fixed answers, not waiting " +
          "for them)"
        : "") +
      ". Each round starts a fresh process (port 0, read from its `listening on` line; open-files limit raised), " +
      `checks it, warms it up with ${WARMUP_SECONDS} s of each scenario's load, measures, and stops it ` +
      "(SIGTERM, then SIGKILL, by pid).",
    ],
    rounds,
    seconds: (performance.now() - start) / 1000,
  });
  const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)}%` : "—");
  const cpuTable = [
    "",
    "CPU during the measured runs (median of rounds; % of one core; 2 cores in all):",
    "",
    `| scenario | ${servers.map((s) => `${SERVER_TITLE[s]}: server / wrk / other`).join(" | ")} |`,
    `|---|${servers.map(() => "--:").join("|")}|`,
    ...spec.scenarios.map((sc) =>
      `| ${sc.name} | ${
        servers.map((s) =>
          ["server", "wrk", "other"].map((k) => pct(medianOf(results, s, `${sc.id}.cpu.${k}`)))
        )
          .map((three) => three.join(" / ")).join(" | ")
      } |`
    ),
  ];
  const split = rendered.body.indexOf("\n\nChecks (every round");
  const body = rendered.body.slice(0, split) + "\n" + cpuTable.join("\n") + rendered.body.slice(split);
  return { ...rendered, body };
}

async function oneRound(
  spec: SectionSpec,
  name: ServerName,
  seconds: number,
  log: (line: string) => void,
): Promise<RoundResult> {
  const result: RoundResult = { values: {}, problems: [], notes: [], summary: "" };
  const parts: string[] = [];
  let server: ServerProcess | undefined;
  let counted = 0;
  let slack = 0;
  const loaded = async (scenario: Scenario, s: number) => {
    const run = await measure(server!, scenario, s, spec.scheme);
    counted += run.wrk.requests;
    slack += scenario.inFlight;
    return run;
  };
  try {
    server = await startServer(name, spec.app, { env: spec.env });
    counted += await spec.check(server.port).catch((error) => {
      throw new Error(`check requests: ${error instanceof Error ? error.message : error}`);
    });
    for (const scenario of spec.scenarios) {
      const warm = await loaded(scenario, WARMUP_SECONDS);
      let run = await loaded(scenario, seconds);
      for (let retry = 1; retry <= RETRIES && run.cpu.other > OTHER_CPU_LIMIT; retry++) {
        const why = `other processes kept ${run.cpu.other.toFixed(0)}% of a core busy`;
        log(`${scenario.name}: ${why}; running it again`);
        result.notes.push(`${scenario.name}: run again (${why})`);
        run = await loaded(scenario, seconds);
      }
      const problem = wrkProblem(run.wrk) ?? wrkProblem(warm.wrk);
      if (problem !== null) {
        result.problems.push(`${scenario.name}: ${problem}`);
      } else {
        Object.assign(result.values, scenario.record(run));
        for (const [k, v] of Object.entries(run.cpu)) result.values[`${scenario.id}.cpu.${k}`] = v;
      }
      const line = `${scenario.name}: ${scenario.describe(run)} (${cpuText(run)})`;
      parts.push(line);
      log(line);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result.problems.push(message);
    log(`FAILED: ${message}`);
  } finally {
    const served = (await server?.stop())?.served;
    if (served !== undefined && result.problems.length === 0) {
      // What the server answered, against what wrk and the checks counted: a response can be in
      // flight (answered, not yet counted by wrk) when a run ends, up to connections × depth.
      if (served < counted || served > counted + slack) {
        result.problems.push(
          `the server served ${count(served)} requests, wrk and the checks counted ${count(counted)} ` +
            `(expected between that and ${count(counted + slack)})`,
        );
      } else parts.push(`served ${count(served)}, counted ${count(counted)}`);
    }
  }
  result.summary = [...parts, ...result.problems.map((p) => `✗ ${p}`)].join("; ") || "—";
  return result;
}
