/**
 * The load client of the `longpoll` section: holds thousands of `GET /wait`
 * requests on one server, measures the server's memory per held client and
 * how long one `GET /signal` takes to answer them all, and checks every
 * answer. It runs in its own process (started by `bench/longpoll.ts`), with
 * raw `Deno.connect` sockets and a minimal response parser, so that the
 * client costs as little as possible next to the server.
 *
 * ```sh
 * deno run -A bench/longpoll_client.ts --port 8000 --pid 1234 [--clients 10000] [--warmup 1000] [--batch 200]
 * ```
 *
 * Steps: two warm-up rounds of `--warmup` clients — woken by a signal, then
 * connecting, counted held by the server's `/stats` and closing, until
 * `/stats` is back to its baseline: the server's lazy initialisation and its
 * wake-up path are then behind us; the server's
 * RSS (`VmRSS` of `/proc/PID/status`, once stable); `--clients` clients
 * connect (`--batch` at a time) and send `GET /wait`; once `/stats` counts
 * them all held and the RSS is stable, the RSS again; then `GET /signal?value=V`
 * on a connection opened beforehand, and the time from writing it until the
 * last client has its complete answer, which must be status 200 with the body
 * `V\n` exactly (Content-Length or chunked framing). Prints one line of JSON
 * ({@linkcode ClientReport}) on stdout, progress on stderr.
 *
 * `/stats` answers a number: the clients waiting now. The client waits until
 * it has grown by `--clients × --tasks-per-client` over its value before the
 * clients connected.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { intOption, runMain } from "./cli.ts";
import { cpuMs, rssBytes, systemBusyMs } from "./machine.ts";
import { parseResponse, readResponses, writeAll } from "./raw_http.ts";

/** What the client prints (one line of JSON). */
export interface ClientReport {
  /** Whether every check passed. */
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  problem?: string;
  /** Clients held. */
  clients: number;
  /** `/stats` before the clients connected. */
  statsBaseline: number;
  /** `/stats` once all were held. */
  statsHeld: number;
  /** Server RSS in bytes after the warm-up, before the clients connected. */
  rssBefore: number;
  /** Server RSS in bytes with every client held. */
  rssHeld: number;
  /** `(rssHeld − rssBefore) / clients`. */
  bytesPerClient: number;
  /** Ms to connect every client and write its request. */
  connectMs: number;
  /** Ms from the last request written until `/stats` counted them all. */
  settleMs: number;
  /** Ms from writing `/signal` until the last client had its complete answer. */
  wakeMs: number;
  /** Ms from writing `/signal` until its own answer arrived. */
  signalMs: number;
  /** The count `/signal` answered. */
  woken: number;
  /** Clients whose answer was exactly right. */
  answered: number;
  /** CPU ms the server spent during the wake-up (from /proc/PID/stat). */
  serverCpuMs: number;
  /** CPU ms this client spent during the wake-up. */
  clientCpuMs: number;
  /** CPU ms every other process spent during the wake-up (from /proc/stat). */
  otherCpuMs: number;
}

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** One connection holding `GET /wait`; `answer` settles when its response is complete (or the read fails). */
class Waiter {
  answer: Promise<{ at: number; body: string; status: number } | { error: string }>;
  #text = "";

  constructor(readonly conn: Deno.TcpConn) {
    this.answer = this.#read();
  }

  async #read(): Promise<{ at: number; body: string; status: number } | { error: string }> {
    const buf = new Uint8Array(512);
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) return { error: "closed by the server before a complete answer" };
        this.#text += latin1.decode(buf.subarray(0, n));
        const parsed = parseResponse(this.#text);
        if (!parsed.complete) continue;
        const at = performance.now();
        if ("error" in parsed) return { error: parsed.error };
        const extra = this.#text.length - parsed.end;
        if (extra > 0) return { error: `${extra} bytes after the answer` };
        return { at, body: parsed.response.body, status: parsed.response.status };
      }
    } catch (error) {
      return { error: `read failed: ${error instanceof Error ? error.message : error}` };
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** Opens `n` connections, `batch` at a time, each sending `GET /wait`. */
async function connectWaiters(port: number, n: number, batch: number): Promise<Waiter[]> {
  const request = enc.encode("GET /wait HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const waiters: Waiter[] = [];
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    const opened = await Promise.all(
      Array.from({ length: size }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await writeAll(conn, request);
        return new Waiter(conn);
      }),
    );
    waiters.push(...opened);
  }
  return waiters;
}

/** Sends one request with `Connection: close` and returns the response body (status 200 required). */
async function get(port: number, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, enc.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    return await readAnswer(conn, path);
  } finally {
    try {
      conn.close();
    } catch {
      // closed by readResponses' timeout
    }
  }
}

async function readAnswer(conn: Deno.TcpConn, path: string): Promise<string> {
  const { responses: [response] } = await readResponses(conn, 1, 30_000).catch((error) => {
    throw new Error(`GET ${path}: ${error instanceof Error ? error.message : error}`);
  });
  if (response.status !== 200) throw new Error(`GET ${path}: status ${response.status}`);
  return response.body;
}

async function stats(port: number): Promise<number> {
  const body = await get(port, "/stats");
  const n = Number(body.trim());
  if (!Number.isInteger(n)) throw new Error(`GET /stats: not a number: ${JSON.stringify(body)}`);
  return n;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `/stats` every 50 ms until `done(value)`; throws after `timeoutMs`. */
async function waitForStats(
  port: number,
  done: (n: number) => boolean,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = await stats(port);
    if (done(n)) return n;
    if (performance.now() > deadline) {
      throw new Error(`${what}: /stats still says ${n} after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

function rss(pid: number): number {
  const bytes = rssBytes(pid);
  if (Number.isNaN(bytes)) throw new Error(`cannot read the RSS of process ${pid} from /proc/${pid}/status`);
  return bytes;
}

/** The server's RSS once two readings 250 ms apart differ by less than 1% (at most 3 s after a 500 ms pause). */
async function stableRss(pid: number): Promise<number> {
  await sleep(500);
  let last = rss(pid);
  for (let i = 0; i < 12; i++) {
    await sleep(250);
    const now = rss(pid);
    if (Math.abs(now - last) < last * 0.01) return now;
    last = now;
  }
  return last;
}

/** Options of {@linkcode runClient}. */
export interface ClientOptions {
  /** The server's port on 127.0.0.1. */
  port: number;
  /** The server's process id (for its RSS and CPU time). */
  pid: number;
  /** Clients held in the measured round. */
  clients: number;
  /** Clients in the warm-up round. */
  warmup: number;
  /** Connections opened at once. */
  batch: number;
  /** How much `/stats` grows per held client (1 for a count of waiters). */
  tasksPerClient: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** Runs the warm-up and the measured round against a server; never throws (a failure is in the report). */
export async function runClient(o: ClientOptions): Promise<ClientReport> {
  const report: ClientReport = {
    ok: false,
    clients: o.clients,
    statsBaseline: NaN,
    statsHeld: NaN,
    rssBefore: NaN,
    rssHeld: NaN,
    bytesPerClient: NaN,
    connectMs: NaN,
    settleMs: NaN,
    wakeMs: NaN,
    signalMs: NaN,
    woken: NaN,
    answered: 0,
    serverCpuMs: NaN,
    clientCpuMs: NaN,
    otherCpuMs: NaN,
  };
  let waiters: Waiter[] = [];
  try {
    const base = await stats(o.port);
    // Warm-up, twice: once woken by a signal (the wake-up path is then compiled and the heap sized
    // for it, for every server alike), once closing while they wait (they must be dropped).
    o.log(`client: warm-up, ${o.warmup} clients woken (/stats ${base})`);
    waiters = await connectWaiters(o.port, o.warmup, o.batch);
    await waitForStats(o.port, (n) => n >= base + o.warmup * o.tasksPerClient, 20_000, "warm-up");
    const warmSignal = await Deno.connect({ hostname: "127.0.0.1", port: o.port });
    await writeAll(warmSignal, enc.encode("GET /signal?value=warm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    await readAnswer(warmSignal, "/signal");
    warmSignal.close();
    await Promise.all(waiters.map((w) => w.answer));
    for (const w of waiters) w.close();
    waiters = [];
    await waitForStats(o.port, (n) => n <= base, 20_000, "warm-up clients answered and closed");
    o.log(`client: warm-up, ${o.warmup} clients leaving (/stats ${base})`);
    waiters = await connectWaiters(o.port, o.warmup, o.batch);
    await waitForStats(o.port, (n) => n >= base + o.warmup * o.tasksPerClient, 20_000, "warm-up");
    for (const w of waiters) w.close();
    await Promise.all(waiters.map((w) => w.answer));
    waiters = [];
    await waitForStats(o.port, (n) => n <= base, 20_000, "warm-up clients closed, not dropped");

    report.statsBaseline = await stats(o.port);
    report.rssBefore = await stableRss(o.pid);
    o.log(`client: ${o.clients} clients (/stats ${report.statsBaseline})`);
    const t0 = performance.now();
    waiters = await connectWaiters(o.port, o.clients, o.batch);
    const t1 = performance.now();
    report.connectMs = t1 - t0;
    const target = report.statsBaseline + o.clients * o.tasksPerClient;
    report.statsHeld = await waitForStats(o.port, (n) => n >= target, 60_000, `${o.clients} clients`);
    report.settleMs = performance.now() - t1;
    report.rssHeld = await stableRss(o.pid);
    report.bytesPerClient = (report.rssHeld - report.rssBefore) / o.clients;

    const value = `v${Date.now()}`;
    const expected = `${value}\n`;
    const signal = await Deno.connect({ hostname: "127.0.0.1", port: o.port });
    const request = enc.encode(`GET /signal?value=${value} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const cpuServer = cpuMs(o.pid);
    const cpuClient = cpuMs("self");
    const busy = systemBusyMs();
    const ts = performance.now();
    await writeAll(signal, request);
    const answer = readAnswer(signal, "/signal").then((body) => ({ body, at: performance.now() }));
    const answers = await Promise.all(waiters.map((w) => w.answer));
    const signalled = await answer;
    report.serverCpuMs = cpuMs(o.pid) - cpuServer;
    report.clientCpuMs = cpuMs("self") - cpuClient;
    report.otherCpuMs = Math.max(0, systemBusyMs() - busy - report.serverCpuMs - report.clientCpuMs);
    signal.close();
    report.signalMs = signalled.at - ts;
    report.woken = Number(signalled.body.trim());
    let last = ts;
    const problems: string[] = [];
    for (const a of answers) {
      if ("error" in a) problems.push(a.error);
      else if (a.status !== 200) problems.push(`status ${a.status}`);
      else if (a.body !== expected) {
        problems.push(`body ${JSON.stringify(a.body)}, not ${JSON.stringify(expected)}`);
      } else {
        report.answered++;
        if (a.at > last) last = a.at;
      }
    }
    report.wakeMs = last - ts;
    if (report.woken !== o.clients) {
      problems.unshift(`/signal woke ${signalled.body.trim()}, not ${o.clients}`);
    }
    if (problems.length > 0) {
      const first = [...new Set(problems)].slice(0, 3).join("; ");
      report.problem = `${problems.length} wrong answer(s): ${first}`;
    } else report.ok = true;
  } catch (error) {
    report.problem = error instanceof Error ? error.message : String(error);
  } finally {
    for (const w of waiters) w.close();
  }
  return report;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      pid: { type: "string" },
      clients: { type: "string", default: "10000" },
      warmup: { type: "string", default: "1000" },
      batch: { type: "string", default: "200" },
      "tasks-per-client": { type: "string", default: "1" },
    },
  });
  const int = (name: string, value: string | undefined) => intOption(name, value ?? "none", 0, 0);
  const report = await runClient({
    port: int("port", values.port),
    pid: int("pid", values.pid),
    clients: int("clients", values.clients),
    warmup: int("warmup", values.warmup),
    batch: Math.max(1, int("batch", values.batch)),
    tasksPerClient: int("tasks-per-client", values["tasks-per-client"]),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

if (import.meta.main) await runMain("longpoll_client.ts", main);
