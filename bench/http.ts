/**
 * The HTTP throughput sections of `deno task bench`: our server against
 * `Deno.serve` and `node:http` (under Node) — and, for `hello`, the floor on
 * `Deno.listen` (`bench/servers/deno_listen_floor.ts`) — each in its own
 * subprocess on 127.0.0.1 (see `bench/server_process.ts`), loaded by `wrk`
 * in another.
 *
 * - `hello` — `examples/hello.ts`'s app and its equivalents: keep-alive with
 *   64 connections (req/s); 16 pipelined requests per connection (req/s);
 *   one connection (p50 and p99 latency).
 * - `transfer` — a 64 KiB response (`GET /64k`, MiB/s of body) and a 1 MiB
 *   upload (`POST /upload`, read whole, MiB/s of request body).
 *
 * Rounds alternate between the servers (ours, Deno.serve, node:http, ours,
 * …), each round a fresh server process that first answers raw check
 * requests (the exact bodies, 16 pipelined answers), then gets one unmeasured
 * second of load per scenario, then the measured runs; the table shows the
 * median of the rounds. `Deno.serve` and `node:http` report the requests
 * they served on exit, which must agree with wrk's count (so wrk's pipelined
 * figures count requests, not batches).
 *
 * @module
 */
import {
  type Comparison,
  medianOf,
  type Metric,
  noRounds,
  renderComparison,
  type RoundResult,
} from "./compare.ts";
import { exchange } from "./raw_http.ts";
import {
  nodeTitle,
  SERVER_TITLE,
  type ServerApp,
  type ServerName,
  type ServerProcess,
  serversFor,
  startServer,
} from "./server_process.ts";
import { count, cpuMs, fmt, stopChildrenOnInterrupt, systemBusyMs } from "./util.ts";
import { runWrk, WRK_MISSING, type WrkOptions, wrkProblem, type WrkResult, wrkVersion } from "./wrk.ts";

/** Options of {@linkcode runHello} and {@linkcode runTransfer}. */
export interface HttpOptions {
  /** Rounds per server (the median is reported). Default 3. */
  rounds?: number;
  /** Seconds of each measured wrk run. Default 5. */
  seconds?: number;
  /** Where progress goes. Default: stderr. */
  log?: (line: string) => void;
}

/** What a section returns: markdown for RESULTS.md and whether every check passed. */
export interface HttpOutput {
  /** The ratios and the targets. */
  headline: string;
  /** The tables and notes. */
  body: string;
  /** False when a check failed or a server did not start. */
  ok: boolean;
  /** Everything measured. */
  comparison: Comparison;
}

/** Connections of the keep-alive and pipelined runs. */
export const CONNECTIONS = 64;
/** Requests sent at once on each connection in the pipelined run. */
export const PIPELINE_DEPTH = 16;
/** Bytes of the `GET /64k` response body. */
export const BIG_RESPONSE = 65536;
/** Bytes of the `POST /upload` request body. */
export const UPLOAD_SIZE = 1048576;
/** Connections of the upload run (16 MiB in flight). */
export const UPLOAD_CONNECTIONS = 16;
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

const HELLO_BODY = "Hello, World!";
const MIB = 1048576;

/** One wrk run and the CPU the machine spent meanwhile, in % of one core. */
interface Run {
  wrk: WrkResult;
  cpu: { server: number; wrk: number; other: number };
}

/** One scenario of a section: how wrk loads the server and what is recorded. */
interface Scenario {
  /** Key prefix of its figures. */
  id: string;
  /** Name in the table of rounds. */
  name: string;
  path: string;
  options: Omit<WrkOptions, "seconds">;
  /** Responses that can be in flight uncounted when wrk stops (connections × depth). */
  inFlight: number;
  /** The figures to record from a run. */
  record(run: Run): Record<string, number>;
  /** The run, in a few words, for the table of rounds. */
  describe(run: Run): string;
}

async function measure(server: ServerProcess, scenario: Scenario, seconds: number): Promise<Run> {
  const s0 = cpuMs(server.pid);
  const b0 = systemBusyMs();
  const wrk = await runWrk(`http://127.0.0.1:${server.port}${scenario.path}`, {
    ...scenario.options,
    seconds,
  });
  const serverMs = cpuMs(server.pid) - s0;
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

function cpuText(run: Run): string {
  const c = run.cpu;
  return `CPU: server ${c.server.toFixed(0)}%, wrk ${c.wrk.toFixed(0)}%, other ${c.other.toFixed(0)}%`;
}

/** What a section does with one fresh server process. */
interface SectionSpec {
  app: ServerApp;
  metrics: Metric[];
  scenarios: Scenario[];
  /** Raw check requests against a fresh server; returns how many requests they made, or throws. */
  check(port: number): Promise<number>;
  checks: string[];
  method: (seconds: number) => string[];
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

async function runSection(spec: SectionSpec, options: HttpOptions): Promise<HttpOutput> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const log = options.log ?? ((line: string) => console.error(line));
  const start = performance.now();
  const comparison: Comparison = { metrics: spec.metrics, rounds: noRounds() };
  const servers = serversFor(spec.app);
  const version = await wrkVersion();
  if (version === null) {
    log(`${spec.app}: ${WRK_MISSING}`);
    return {
      headline: `**Not measured:** ${WRK_MISSING}`,
      body: "",
      ok: false,
      comparison,
    };
  }
  const unlisten = stopChildrenOnInterrupt();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of servers) {
        if (round + servers.indexOf(name) > 0) await new Promise((r) => setTimeout(r, SETTLE_MS));
        const result = await oneRound(spec, name, seconds, log, `${spec.app}: round ${round + 1}/${rounds}`);
        comparison.rounds[name].push(result);
      }
    }
  } finally {
    unlisten();
  }
  const elapsed = (performance.now() - start) / 1000;
  const nodeName = await nodeTitle();
  const rendered = renderComparison(comparison, {
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
      `\`deno run -A\`; \`node:http\` in \`bench/servers/node_http.mjs\` under ${nodeName} (not Deno's ` +
      "compatibility layer, which `bench/conformance.ts` uses for the protocol only)" +
      (servers.includes("floor")
        ? "; the Deno.listen floor in `bench/servers/deno_listen_floor.ts` with `deno run -A`: not a server, the " +
          "least a program on Deno's sockets can do (it counts `\\r\\n\\r\\n` and writes fixed answers, not waiting " +
          "for them)"
        : "") +
      ". Each round starts a " +
      "fresh process (port 0, read from its `listening on` line; open-files limit raised), checks it, " +
      `warms it up with ${WARMUP_SECONDS} s of each scenario's load, measures, and stops it (SIGTERM, then ` +
      "SIGKILL, by pid).",
    ],
    rounds,
    seconds: elapsed,
  });
  const cpuTable = [
    "",
    "CPU during the measured runs (median of rounds; % of one core; 2 cores in all):",
    "",
    `| scenario | ${servers.map((s) => `${SERVER_TITLE[s]}: server / wrk / other`).join(" | ")} |`,
    `|---|${servers.map(() => "--:").join("|")}|`,
    ...spec.scenarios.map((sc) =>
      `| ${sc.name} | ${
        servers.map((s) => {
          const v = (k: string) => medianOf(comparison, s, `${sc.id}.cpu.${k}`);
          const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)}%` : "—");
          return `${pct(v("server"))} / ${pct(v("wrk"))} / ${pct(v("other"))}`;
        }).join(" | ")
      } |`
    ),
  ];
  const split = rendered.body.indexOf("\n\nChecks (every round");
  const body = rendered.body.slice(0, split) + "\n" + cpuTable.join("\n") + rendered.body.slice(split);
  return { ...rendered, body, comparison };
}

async function oneRound(
  spec: SectionSpec,
  name: ServerName,
  seconds: number,
  log: (line: string) => void,
  prefix: string,
): Promise<RoundResult> {
  const result: RoundResult = { values: {}, problems: [], notes: [], summary: "" };
  const parts: string[] = [];
  let server: ServerProcess | undefined;
  let counted = 0;
  let slack = 0;
  try {
    server = await startServer(name, spec.app);
    counted += await spec.check(server.port).catch((error) => {
      throw new Error(`check requests: ${error instanceof Error ? error.message : error}`);
    });
    for (const scenario of spec.scenarios) {
      const warm = await measure(server, scenario, WARMUP_SECONDS);
      counted += warm.wrk.requests;
      slack += scenario.inFlight;
      let run = await measure(server, scenario, seconds);
      counted += run.wrk.requests;
      slack += scenario.inFlight;
      for (let retry = 1; retry <= RETRIES && run.cpu.other > OTHER_CPU_LIMIT; retry++) {
        const why = `other processes kept ${run.cpu.other.toFixed(0)}% of a core busy`;
        log(`${prefix} ${SERVER_TITLE[name].padEnd(10)} ${scenario.name}: ${why}; running it again`);
        result.notes.push(`${scenario.name}: run again (${why})`);
        run = await measure(server, scenario, seconds);
        counted += run.wrk.requests;
        slack += scenario.inFlight;
      }
      const problem = wrkProblem(run.wrk) ?? wrkProblem(warm.wrk);
      if (problem !== null) {
        result.problems.push(`${scenario.name}: ${problem}`);
      } else {
        Object.assign(result.values, scenario.record(run));
        for (const [k, v] of Object.entries(run.cpu)) result.values[`${scenario.id}.cpu.${k}`] = v;
      }
      parts.push(`${scenario.name}: ${scenario.describe(run)} (${cpuText(run)})`);
      log(
        `${prefix} ${SERVER_TITLE[name].padEnd(10)} ${scenario.name}: ${scenario.describe(run)} (${
          cpuText(run)
        })`,
      );
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result.problems.push(message);
    log(`${prefix} ${SERVER_TITLE[name]}: FAILED: ${message}`);
  } finally {
    if (server !== undefined) {
      const { served } = await server.stop();
      if (served !== undefined && result.problems.length === 0) {
        // What the server answered, against what wrk and the checks counted: a response can be
        // in flight (answered, not yet counted by wrk) when a run ends, up to connections × depth.
        if (served < counted || served > counted + slack) {
          result.problems.push(
            `the server served ${count(served)} requests, wrk and the checks counted ${count(counted)} ` +
              `(expected between that and ${count(counted + slack)})`,
          );
        } else parts.push(`served ${count(served)}, counted ${count(counted)}`);
      }
    }
  }
  result.summary = [...parts, ...result.problems.map((p) => `✗ ${p}`)].join("; ") || "—";
  return result;
}

// ---- hello ----

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

async function checkHello(port: number): Promise<number> {
  const one = await exchange(port, GET("/"));
  const [r] = one.responses;
  expect(r.status === 200, `GET /: status ${r.status}, not 200`);
  expect(r.body === HELLO_BODY, `GET /: body ${JSON.stringify(r.body)}, not ${JSON.stringify(HELLO_BODY)}`);
  const type = r.headers.get("content-type") ?? "";
  expect(type.startsWith("text/plain"), `GET /: Content-Type ${JSON.stringify(type)}, not text/plain`);
  const pipelined = await exchange(port, GET("/").repeat(PIPELINE_DEPTH), PIPELINE_DEPTH);
  expect(
    pipelined.responses.every((p) => p.status === 200 && p.body === HELLO_BODY) && pipelined.extra === 0,
    `${PIPELINE_DEPTH} pipelined GET /: not ${PIPELINE_DEPTH} answers ${JSON.stringify(HELLO_BODY)}`,
  );
  return 1 + PIPELINE_DEPTH;
}

const reqps = (run: Run) => `${count(run.wrk.reqPerSec)} req/s`;

const HELLO: SectionSpec = {
  app: "hello",
  metrics: [
    {
      id: "c64",
      label: `keep-alive, ${CONNECTIONS} connections (req/s)`,
      short: `keep-alive c${CONNECTIONS}`,
      unit: "req/s",
      higherIsBetter: true,
      targets: [{ vs: "deno", factor: 1.05 }, { vs: "node", factor: 2 }],
    },
    {
      id: "pipelined",
      label: `${PIPELINE_DEPTH} pipelined requests per connection, ${CONNECTIONS} connections (req/s)`,
      short: `pipelined ×${PIPELINE_DEPTH}`,
      unit: "req/s",
      higherIsBetter: true,
      targets: [{ vs: "deno", factor: 5 }],
    },
    {
      id: "c1.p50",
      label: "1 connection, p50 latency (ms)",
      short: "c1 p50 latency",
      unit: "ms",
      higherIsBetter: false,
    },
    {
      id: "c1.p99",
      label: "1 connection, p99 latency (ms)",
      short: "c1 p99 latency",
      unit: "ms",
      higherIsBetter: false,
      targets: [{ vs: "deno", factor: 1 }],
    },
  ],
  scenarios: [
    {
      id: "c64",
      name: `c${CONNECTIONS}`,
      path: "/",
      options: { connections: CONNECTIONS, mode: { kind: "get" } },
      inFlight: CONNECTIONS,
      record: (run) => ({ c64: run.wrk.reqPerSec }),
      describe: reqps,
    },
    {
      id: "pipelined",
      name: `×${PIPELINE_DEPTH}`,
      path: "/",
      options: { connections: CONNECTIONS, mode: { kind: "pipeline", depth: PIPELINE_DEPTH } },
      inFlight: CONNECTIONS * PIPELINE_DEPTH,
      record: (run) => ({ pipelined: run.wrk.reqPerSec }),
      describe: reqps,
    },
    {
      id: "c1",
      name: "c1",
      path: "/",
      options: { connections: 1, mode: { kind: "get" } },
      inFlight: 1,
      record: (run) => ({ "c1.p50": run.wrk.latencyMs.p50, "c1.p99": run.wrk.latencyMs.p99 }),
      describe: (run) =>
        `p50 ${fmt(run.wrk.latencyMs.p50)} ms, p99 ${fmt(run.wrk.latencyMs.p99)} ms, ${
          count(run.wrk.reqPerSec)
        } req/s`,
    },
  ],
  check: checkHello,
  checks: [
    "the server started and listened",
    `\`GET /\` answered 200, \`Content-Type: text/plain\`, body exactly \`${HELLO_BODY}\``,
    `${PIPELINE_DEPTH} \`GET /\` written at once got ${PIPELINE_DEPTH} such answers and nothing more`,
    "no wrk socket errors, timeouts or non-2xx answers",
    "Deno.serve and node:http: the requests the server says it served ≥ what wrk and the checks counted " +
    "and ≤ that plus what could be in flight when a run stopped (connections × pipeline depth)",
  ],
  method: (seconds) => [
    "The app: `Hello, World!` as `text/plain` to every request (ours: `examples/hello.ts`, run as " +
    "`deno run -A examples/hello.ts`; the others: the same answer with a fixed body, no routing).",
    `keep-alive: \`wrk -t1 -c${CONNECTIONS} -d${seconds}s\`, req/s. Pipelined: the same, each connection ` +
    `writing ${PIPELINE_DEPTH} requests at once (\`bench/wrk/bench.lua\`) and the next ${PIPELINE_DEPTH} ` +
    "once all are answered; wrk counts every response it parses (the served-count check confirms it). " +
    `Latency: \`wrk -t1 -c1 -d${seconds}s\`, wrk's 50th and 99th percentiles.`,
  ],
};

/**
 * The `hello` section: `examples/hello.ts` on our server against the same app
 * on `Deno.serve` and `node:http`; keep-alive and pipelined req/s, and
 * single-connection latency.
 */
export function runHello(options: HttpOptions = {}): Promise<HttpOutput> {
  return runSection(HELLO, options);
}

// ---- transfer ----

async function checkTransfer(port: number): Promise<number> {
  const hello = await exchange(port, GET("/"));
  expect(hello.responses[0].body === HELLO_BODY, "GET /: not Hello, World!");
  const big = await exchange(port, GET("/64k"));
  const b = big.responses[0];
  expect(b.status === 200, `GET /64k: status ${b.status}`);
  expect(
    b.body.length === BIG_RESPONSE && /^x*$/.test(b.body) && big.extra === 0,
    `GET /64k: ${b.body.length} bytes, not ${BIG_RESPONSE} bytes of "x"`,
  );
  const head = `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n` +
    `Content-Length: ${UPLOAD_SIZE}\r\n\r\n`;
  const request = new Uint8Array(head.length + UPLOAD_SIZE).fill(0x78);
  request.set(new TextEncoder().encode(head));
  const up = await exchange(port, request);
  const u = up.responses[0];
  expect(
    u.status === 200 && u.body === `${UPLOAD_SIZE}\n`,
    `POST /upload of ${UPLOAD_SIZE} bytes: status ${u.status}, body ${
      JSON.stringify(u.body.slice(0, 40))
    }, ` +
      `not ${JSON.stringify(`${UPLOAD_SIZE}\n`)}`,
  );
  return 3;
}

const mibps = (run: Run, size: number) => (run.wrk.reqPerSec * size) / MIB;

const TRANSFER: SectionSpec = {
  app: "transfer",
  metrics: [
    {
      id: "big",
      label: `64 KiB responses, ${CONNECTIONS} connections (MiB/s of body)`,
      short: "64 KiB responses",
      unit: "MiB/s",
      higherIsBetter: true,
    },
    {
      id: "upload",
      label: `1 MiB uploads read whole, ${UPLOAD_CONNECTIONS} connections (MiB/s of request body)`,
      short: "1 MiB uploads",
      unit: "MiB/s",
      higherIsBetter: true,
    },
  ],
  scenarios: [
    {
      id: "big",
      name: "64k",
      path: "/64k",
      options: { connections: CONNECTIONS, mode: { kind: "get" } },
      inFlight: CONNECTIONS,
      record: (run) => ({ big: mibps(run, BIG_RESPONSE) }),
      describe: (run) => `${fmt(mibps(run, BIG_RESPONSE))} MiB/s (${count(run.wrk.reqPerSec)} req/s)`,
    },
    {
      id: "upload",
      name: "upload",
      path: "/upload",
      options: { connections: UPLOAD_CONNECTIONS, mode: { kind: "upload", size: UPLOAD_SIZE } },
      inFlight: UPLOAD_CONNECTIONS,
      record: (run) => ({ upload: mibps(run, UPLOAD_SIZE) }),
      describe: (run) => `${fmt(mibps(run, UPLOAD_SIZE))} MiB/s (${count(run.wrk.reqPerSec)} req/s)`,
    },
  ],
  check: checkTransfer,
  checks: [
    "the server started and listened",
    "`GET /` answered `Hello, World!`",
    `\`GET /64k\` answered 200 with exactly ${count(BIG_RESPONSE)} bytes of \`x\``,
    `\`POST /upload\` of ${count(UPLOAD_SIZE)} bytes answered 200 \`${UPLOAD_SIZE}\\n\``,
    "no wrk socket errors, timeouts or non-2xx answers",
    "Deno.serve and node:http: the requests served agree with wrk's count",
  ],
  method: (seconds) => [
    "The apps: `GET /64k` answers 65 536 bytes of `x` from one preallocated buffer, with a " +
    "`Content-Length`; `POST /upload` reads the body chunk by chunk, counting its bytes (no copy into one " +
    "buffer), and answers the count. Ours: `bench/servers/ours.ts` (`examples/hello.ts`'s app at `/`, " +
    "`/64k`, `/upload`); the others: `APP=transfer` in their server files.",
    `64 KiB: \`wrk -t1 -c${CONNECTIONS} -d${seconds}s\` on \`/64k\`, MiB/s = req/s × 65 536 / 2²⁰ (bodies ` +
    `only). Upload: \`wrk -t1 -c${UPLOAD_CONNECTIONS} -d${seconds}s\` posting ${count(UPLOAD_SIZE)} bytes ` +
    "(`bench/wrk/bench.lua upload`), MiB/s = req/s × 1.",
  ],
};

/** The `transfer` section: 64 KiB responses and 1 MiB uploads on the three servers, in MiB/s. */
export function runTransfer(options: HttpOptions = {}): Promise<HttpOutput> {
  return runSection(TRANSFER, options);
}
