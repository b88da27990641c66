/**
 * The load client of the `bus` section, in a process of its own, against a
 * server of two processes on one port that share their signals through
 * Redis (ours through the CLI's `--bus`, or `Deno.serve` and `node:http`
 * with node-redis). It measures, cold:
 *
 * 1. the RSS of the server's processes (summed) before anything was sent;
 * 2. `--clients` clients holding `GET /wait`, spread over both processes by
 *    the kernel; once each process's `/stats` (`PID COUNT`) adds up to them
 *    all, the RSS again;
 * 3. one `GET /signal?value=V`, sent to either process, and the time until
 *    the last client has its complete answer (each closes on it);
 * 4. the latency of a signal across processes: `--rounds` times, 8 clients
 *    held (on both processes, all but surely) and one signal; the time until
 *    the last of them has its answer;
 * 5. with `--queue N` (ours): N messages published through the named queue,
 *    on connections that land on either process, while a reader reads them
 *    by offset through the other connections: messages per second.
 *
 * Prints one line of JSON ({@linkcode BusReport}) on stdout, progress on
 * stderr.
 *
 * ```sh
 * deno run -A bench/bus_client.ts --port 8000 --pids 11,12 [--clients 10000] [--rounds 50] [--queue 2000]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { intOption, runMain } from "./cli.ts";
import { type Answer, connectWaiters, sleep, stableRss, type Waiter } from "./longpoll_client.ts";
import { exchange } from "./raw_http.ts";

/** What the client prints (one line of JSON). */
export interface BusReport {
  /** Whether every check passed. */
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  problem?: string;
  /** `(rssHeld − rssBefore) / clients`, the server's processes summed. */
  bytesPerClient: number;
  /** Ms from writing `/signal` until the last client had its complete answer. */
  wakeMs: number;
  /** Ms until the last of 8 held clients had its answer, one round each: median and 99th percentile. */
  latencyP50: number;
  latencyP99: number;
  /** Messages per second through the named queue (only with `--queue`). */
  queuePerSecond: number;
}

/** A request on a connection of its own: the status and body. */
async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
  const { responses: [r] } = await exchange(port, request, 1, 30_000);
  return { status: r.status, body: r.body };
}

/** Polls `/stats` until the waiters of every process add up to `n` (each process answers `PID COUNT`). */
async function waitHeld(port: number, pids: number[], n: number, timeoutMs: number): Promise<void> {
  const counts = new Map<number, number>();
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { body } = await get(port, "/stats");
    const [pid, count] = body.trim().split(" ").map(Number);
    counts.set(pid, count);
    const sum = [...counts.values()].reduce((a, b) => a + b, 0);
    if (pids.every((p) => counts.has(p)) && sum === n) return;
    if (performance.now() > deadline) {
      throw new Error(`the processes' /stats add up to ${sum} (${[...counts].join("; ")}), not ${n}`);
    }
    await sleep(20);
  }
}

/** Holds `n` clients until the processes count them all. */
async function hold(port: number, pids: number[], n: number): Promise<Waiter[]> {
  const waiters = await connectWaiters(port, n, 200);
  try {
    await waitHeld(port, pids, n, 120_000);
  } catch (error) {
    for (const w of waiters) w.close();
    throw error;
  }
  return waiters;
}

/** Signals `value` to the held `waiters` and waits for every answer; returns the ms until the last. */
async function wake(port: number, waiters: Waiter[], value: string): Promise<number> {
  try {
    const started = performance.now();
    const signalled = get(port, `/signal?value=${value}`);
    const answers: Answer[] = await Promise.all(waiters.map((w) => w.answer));
    const bad = answers.find((a) => "error" in a || a.status !== 200 || a.body !== `${value}\n`);
    if (bad !== undefined) throw new Error(`a held client got ${JSON.stringify(bad)}`);
    const last = Math.max(...answers.map((a) => (a as { at: number }).at));
    await signalled;
    return last - started;
  } finally {
    for (const w of waiters) w.close();
  }
}

/** Publishes `n` messages through the named queue while reading them by offset; messages per second. */
async function queueRate(port: number, n: number): Promise<number> {
  const started = performance.now();
  const reader = (async () => {
    let got = 0;
    let after = "";
    while (got < n) {
      const { status, body } = await get(port, `/read${after ? `?after=${encodeURIComponent(after)}` : ""}`);
      if (status !== 200) throw new Error(`/read: status ${status}`);
      const read = JSON.parse(body) as { entries: { offset: string }[]; reset: boolean };
      if (read.reset && after !== "") throw new Error("/read: reset in the middle of the run");
      got += read.entries.length;
      after = read.entries.at(-1)?.offset ?? after;
    }
  })();
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < n; i += 8) {
      const { status } = await get(port, `/publish?m=${i}`);
      if (status !== 200) throw new Error(`/publish: status ${status}`);
    }
  });
  await Promise.all([reader, ...writers]);
  return n / ((performance.now() - started) / 1000);
}

/** The `q`-quantile of `values` (nearest rank). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      pids: { type: "string" },
      clients: { type: "string" },
      rounds: { type: "string" },
      queue: { type: "string" },
    },
  });
  const port = intOption("port", values.port ?? "none", 1);
  const pids = (values.pids ?? "").split(",").filter(Boolean).map((p) => intOption("pids", p, 1));
  const clients = intOption("clients", values.clients, 10_000);
  const rounds = intOption("rounds", values.rounds, 50);
  const queue = intOption("queue", values.queue, 0, 0);
  const report: BusReport = {
    ok: false,
    bytesPerClient: NaN,
    wakeMs: NaN,
    latencyP50: NaN,
    latencyP99: NaN,
    queuePerSecond: NaN,
  };
  try {
    const before = await stableRss(...pids);
    const held = await hold(port, pids, clients);
    report.bytesPerClient = (await stableRss(...pids) - before) / clients;
    console.error(
      `bus client: ${clients} held, ${report.bytesPerClient.toFixed(0)} bytes each; waking them all`,
    );
    report.wakeMs = await wake(port, held, "all");
    const latencies: number[] = [];
    for (let r = 0; r < rounds; r++) latencies.push(await wake(port, await hold(port, pids, 8), `r${r}`));
    report.latencyP50 = quantile(latencies, 0.5);
    report.latencyP99 = quantile(latencies, 0.99);
    if (queue > 0) report.queuePerSecond = await queueRate(port, queue);
    report.ok = true;
  } catch (error) {
    report.problem = error instanceof Error ? error.message : String(error);
  }
  console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

if (import.meta.main) await runMain("bus_client.ts", main);
