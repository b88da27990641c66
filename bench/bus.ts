/**
 * The `bus` section of `deno task bench`: long polls across two processes
 * woken through a real Redis, side by side in one run — ours (the CLI with
 * two workers and `--bus redis://…`), `Deno.serve` (two `reusePort`
 * processes) and `node:http` (node's `cluster`, two workers), the last two
 * each subscribed to a Redis channel with node-redis and woken by a
 * `PUBLISH`. Each round starts a fresh redis-server and fresh servers; the
 * client is `bench/bus_client.ts`.
 *
 * @module
 */
import { fmt } from "./numbers.ts";
import type { SectionOutput } from "./results.ts";
import { findNode, nodeTitle } from "./server_process.ts";
import {
  jsonReport,
  nodePackage,
  runCommand,
  signalChild,
  spawnTracked,
  stopChild,
  withOpenFiles,
} from "./subprocess.ts";
import type { BusReport } from "./bus_client.ts";

/** Options of {@linkcode runBus}. */
export interface BusOptions {
  /** Rounds per server (the median is reported). Default 3. */
  rounds?: number;
  /** Clients held at once. Default 10 000. */
  clients?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** The servers compared, in the order they take turns. */
const BUS_SERVERS = ["ours", "deno", "node"] as const;
type BusServer = typeof BUS_SERVERS[number];
const TITLE: Record<BusServer, string> = {
  ours: "ours (CLI, 2 workers, --bus redis)",
  deno: "Deno.serve ×2 + node-redis",
  node: "node:http cluster ×2 + node-redis",
};
/** Rounds of the cross-process latency (8 clients each), and messages through the named queue (ours). */
const LATENCY_ROUNDS = 50;
const QUEUE_MESSAGES = 2000;
/** The target for our RSS growth per held client, in KB. */
const RSS_TARGET_KB = 8;
const CLIENT = new URL("./bus_client.ts", import.meta.url).pathname;
const REDIS_CLIENT_VERSION = "6.3.1";
/** Ms a server's processes get to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** A server of two processes on one port, and the pids of the two. */
interface Running {
  pids: number[];
  stop(): Promise<void>;
}

/** Runs the section. */
export async function runBus(options: BusOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const clients = options.clients ?? 10_000;
  const started = performance.now();
  if (!(await has("redis-server"))) {
    return {
      headline: "**Not measured:** redis-server is not installed (apt-get install redis-server).",
      body: "",
      ok: false,
    };
  }
  // node-redis for Node: the same client, `@redis/client`, that ours and Deno.serve use.
  const nodeClient = await nodePackage(
    {
      spec: `@redis/client@${REDIS_CLIENT_VERSION}`,
      folder: `node-redis-${REDIS_CLIENT_VERSION}`,
      entry: "@redis/client/dist/index.js",
    },
    (line) => options.log(`bus: ${line}`),
  );
  const results: Record<BusServer, (BusReport | string)[]> = { ours: [], deno: [], node: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const name of BUS_SERVERS) {
      const log = (line: string) => options.log(`bus: round ${round}/${rounds} ${name}: ${line}`);
      if (name === "node" && typeof nodeClient !== "string") {
        results.node.push(`node-redis for Node could not be installed: ${nodeClient.error}`);
        continue;
      }
      results[name].push(await oneRound(name, clients, nodeClient as string, log));
    }
  }
  return render(results, rounds, clients, await nodeTitle(), (performance.now() - started) / 1000);
}

async function oneRound(name: BusServer, clients: number, nodeClient: string, log: (line: string) => void) {
  const redisPort = freePort();
  const redis = spawnTracked("redis-server", [
    "--port",
    String(redisPort),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  let server: Running | undefined;
  try {
    await waitForPort(redisPort);
    const url = `redis://127.0.0.1:${redisPort}`;
    const port = freePort();
    server = await startBusServer(name, port, url, nodeClient);
    const [cmd, args] = withOpenFiles(Deno.execPath(), [
      "run",
      "-A",
      CLIENT,
      `--port=${port}`,
      `--pids=${server.pids.join(",")}`,
      `--clients=${clients}`,
      `--rounds=${LATENCY_ROUNDS}`,
      `--queue=${name === "ours" ? QUEUE_MESSAGES : 0}`,
    ]);
    const out = await runCommand(cmd, args, { timeoutMs: 300_000 });
    const report = jsonReport<BusReport>(out, "the bus client");
    if (!report.ok) throw new Error(report.problem ?? "the client failed");
    log(
      `RSS ${fmt(report.bytesPerClient / 1024)} KB per held client, wake-all ${fmt(report.wakeMs)} ms, ` +
        `latency p50 ${fmt(report.latencyP50)} ms, p99 ${fmt(report.latencyP99)} ms` +
        (Number.isFinite(report.queuePerSecond) ? `, queue ${fmt(report.queuePerSecond)} messages/s` : ""),
    );
    return report;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`FAILED: ${message}`);
    return message;
  } finally {
    await server?.stop();
    signalChild(redis, "SIGKILL");
    await redis.status;
  }
}

/** Starts one of the servers on `port`, with its two processes' pids. */
async function startBusServer(
  name: BusServer,
  port: number,
  url: string,
  nodeClient: string,
): Promise<Running> {
  const env = {
    HOST: "127.0.0.1",
    PORT: String(port),
    APP: "longpoll",
    REDIS_URL: url,
    REDIS_CLIENT: nodeClient,
  };
  if (name === "ours") {
    const [cmd, args] = withOpenFiles(Deno.execPath(), [
      "run",
      "-A",
      "cli.ts",
      "bench/servers/ours_bus.ts",
      "-w",
      "2",
      "-b",
      `127.0.0.1:${port}`,
      "--bus",
      url,
    ]);
    const child = spawnTracked(cmd, args, { env });
    const pids = await linesUntil(child, 2, (line) => /\(pid (\d+)\) listening on/.exec(line)?.[1]);
    return { pids: pids.map(Number), stop: async () => void await stopChild(child, STOP_GRACE_MS) };
  }
  if (name === "deno") {
    const children = [0, 1].map(() => {
      const [cmd, args] = withOpenFiles(Deno.execPath(), [
        "run",
        "-A",
        "--unstable-net",
        "bench/servers/deno_serve_bus.ts",
      ]);
      return spawnTracked(cmd, args, { env });
    });
    for (const child of children) {
      await linesUntil(child, 1, (line) => /listening on/.test(line) ? "" : undefined);
    }
    return {
      pids: children.map((c) => c.pid),
      stop: async () => void await Promise.all(children.map((c) => stopChild(c, STOP_GRACE_MS))),
    };
  }
  const [cmd, args] = withOpenFiles((await findNode()).path, ["bench/servers/node_bus.mjs"]);
  const primary = spawnTracked(cmd, args, { env });
  await linesUntil(primary, 1, (line) => /listening on/.test(line) ? "" : undefined);
  const workers = childrenOf(primary.pid);
  return { pids: workers, stop: async () => void await stopChild(primary, STOP_GRACE_MS) };
}

/** Reads `child`'s stdout until `pick` has found `n` lines; returns what it picked. */
async function linesUntil(
  child: Deno.ChildProcess,
  n: number,
  pick: (line: string) => string | undefined,
): Promise<string[]> {
  const picked: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 30_000);
  try {
    while (picked.length < n) {
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(`the server exited or did not listen in time (${picked.length} of ${n} ready)`);
      }
      const lines = (rest + value).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const found = pick(line);
        if (found !== undefined) picked.push(found);
      }
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    // Whatever it prints later is not read: let it go.
    child.stdout.cancel().catch(() => {});
  }
  return picked;
}

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) found.push(Number(entry.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function has(command: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("sh", { args: ["-c", `command -v ${command}`], stdout: "null" })
      .output();
    return code === 0;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function render(
  results: Record<BusServer, (BusReport | string)[]>,
  rounds: number,
  clients: number,
  node: string,
  took: number,
): SectionOutput {
  const reports = (s: BusServer) => results[s].filter((r): r is BusReport => typeof r !== "string");
  const med = (s: BusServer, key: keyof BusReport) => median(reports(s).map((r) => Number(r[key])));
  const rss = (s: BusServer) => med(s, "bytesPerClient") / 1024;
  const wake = (s: BusServer) => med(s, "wakeMs");
  const cell = (v: number, unit: string) => Number.isFinite(v) ? `${fmt(v)} ${unit}` : "—";
  const failures = BUS_SERVERS.flatMap((s) =>
    results[s].flatMap((r, i) => typeof r === "string" ? [`${TITLE[s]}, round ${i + 1}: ${r}`] : [])
  );
  const wakeMet = wake("ours") <= wake("deno");
  const rssMet = rss("ours") <= RSS_TARGET_KB;
  const ratio = (a: number, b: number) => Number.isFinite(a / b) ? `${fmt(a / b)}×` : "—";
  const headline = [
    `**Ours ÷ Deno.serve + node-redis:** wake-all ${ratio(wake("ours"), wake("deno"))}, RSS per held client ${
      ratio(rss("ours"), rss("deno"))
    }. **Ours ÷ node:http + node-redis:** wake-all ${
      ratio(wake("ours"), wake("node"))
    }, RSS per held client ${ratio(rss("ours"), rss("node"))}. (Below 1 is better.)`,
    `**Targets: ${(wakeMet ? 1 : 0) + (rssMet ? 1 : 0)} of 2 met.** wake-all ≤ Deno.serve + node-redis's ${
      wakeMet ? "✓ met" : "✗ missed"
    } (${ratio(wake("ours"), wake("deno"))}); RSS per held client ≤ ${RSS_TARGET_KB} KB ${
      rssMet ? "✓ met" : "✗ missed"
    } (${cell(rss("ours"), "KB")}).`,
    failures.length > 0 ? `**${failures.length} round(s) failed** (see below).` : "All checks passed.",
  ].join(" ");
  const body = [
    `| ${clients} held clients on two processes | ${BUS_SERVERS.map((s) => TITLE[s]).join(" | ")} |`,
    `|---|${BUS_SERVERS.map(() => "--:").join("|")}|`,
    `| one \`/signal\` through Redis → all answered (ms) | ${
      BUS_SERVERS.map((s) => cell(wake(s), "ms")).join(" | ")
    } |`,
    `| RSS growth per held client, both processes (KB) | ${
      BUS_SERVERS.map((s) => cell(rss(s), "KB")).join(" | ")
    } |`,
    `| signal across processes, p50 (ms) | ${
      BUS_SERVERS.map((s) => cell(med(s, "latencyP50"), "ms")).join(" | ")
    } |`,
    `| signal across processes, p99 (ms) | ${
      BUS_SERVERS.map((s) => cell(med(s, "latencyP99"), "ms")).join(" | ")
    } |`,
    `| named queue through Redis (messages/s) | ${cell(med("ours", "queuePerSecond"), "/s")} | — | — |`,
    "",
    "| server | round | figures |",
    "|---|--:|---|",
    ...BUS_SERVERS.flatMap((s) =>
      results[s].map((r, i) =>
        `| ${TITLE[s]} | ${i + 1} | ${
          typeof r === "string"
            ? `✗ ${r}`
            : `wake-all ${fmt(r.wakeMs)} ms, RSS ${fmt(r.bytesPerClient / 1024)} KB, p50 ${
              fmt(r.latencyP50)
            } ms, ` +
              `p99 ${fmt(r.latencyP99)} ms${
                Number.isFinite(r.queuePerSecond) ? `, queue ${fmt(r.queuePerSecond)}/s` : ""
              }`
        } |`
      )
    ),
    ...(failures.length > 0 ? ["", "Failed rounds:", "", ...failures.map((f) => `- ${f}`)] : []),
    "",
    `Rounds: ${rounds}; section time: ${took.toFixed(0)} s.`,
    "",
    "How it is measured:",
    "",
    '- Each round of each server starts a fresh `redis-server` (`--save "" --appendonly no`, loopback) and a ' +
    "fresh server of two processes on one port: ours, `deno run -A cli.ts bench/servers/ours_bus.ts -w 2 --bus " +
    "redis://…` (the supervisor's two workers); Deno.serve, two `deno run -A --unstable-net " +
    "bench/servers/deno_serve_bus.ts` with `reusePort`; node, `bench/servers/node_bus.mjs` under " +
    `${node} (\`cluster\`, two workers). Deno.serve and node use node-redis (\`@redis/client@` +
    `${REDIS_CLIENT_VERSION}\`, as ours does), subscribe to one channel, and \`PUBLISH\` on \`/signal\`.`,
    `- The client (\`bench/bus_client.ts\`, a process of its own) reads both processes' RSS cold, holds ${clients} ` +
    "clients (the kernel spreads them over the two processes; each process's `/stats` says `PID COUNT`), reads " +
    "the RSS again, sends one `/signal` to either process and times until the last client has its complete " +
    `answer (each closes on it). Then ${LATENCY_ROUNDS} rounds of 8 clients held and one signal: the time until ` +
    `the last answer, p50 and p99. Ours: ${QUEUE_MESSAGES} messages published through the named queue on 8 ` +
    "connections while one reader reads them by offset, on connections that land on either worker.",
    "- 2 cores in all: the two server processes, Redis and the client share them.",
  ].join("\n");
  return { headline, body, ok: failures.length === 0 };
}
