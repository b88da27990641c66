/**
 * The load client of the `longpoll` section, in a process of its own
 * (started by `bench/longpoll.ts` against a server process just started),
 * on raw `Deno.connect` sockets with a minimal response parser, so that it
 * costs as little as possible next to the server. It measures as real load
 * arrives:
 *
 * 1. cold: the server's RSS (`VmRSS` of `/proc/PID/status`, once stable)
 *    before anything was sent to it — no warm-up, which would leave pooled
 *    buffers in this "before" figure;
 * 2. `--clients` clients connect (`--batch` at a time) and send `GET /wait`;
 *    once `/stats` counts them all held and the RSS is stable, the RSS again;
 * 3. `GET /signal?value=V` on a connection opened beforehand, and the time
 *    from writing it until the last client has its complete answer (status
 *    200, body `V\n` exactly, Content-Length or chunked framing). Each client
 *    closes its socket as soon as its answer is complete, as real clients do,
 *    so the server's writes meet their end-of-file reads and closes;
 * 4. then a check: `--leavers` clients are held and close unanswered, and
 *    `/stats` must come back to where it was (a client that leaves is dropped).
 *
 * Prints one line of JSON ({@linkcode ClientReport}) on stdout, progress on
 * stderr.
 *
 * ```sh
 * deno run -A bench/longpoll_client.ts --port 8000 --pid 1234 [--clients 10000] [--leavers 1000] [--batch 200]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { intOption, runMain } from "./cli.ts";
import { cpuMs, rssBytes, systemBusyMs } from "./machine.ts";
import { closeQuietly, exchange, parseResponse, readResponses, writeAll } from "./raw_http.ts";

/** What the client prints (one line of JSON). */
export interface ClientReport {
  /** Whether every check passed. */
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  problem?: string;
  /** Server RSS in bytes before anything was sent to it. */
  rssBefore: number;
  /** Server RSS in bytes with every client held. */
  rssHeld: number;
  /** `(rssHeld − rssBefore) / clients`. */
  bytesPerClient: number;
  /** Ms to connect every client and write its request. */
  connectMs: number;
  /** Ms from writing `/signal` until the last client had its complete answer. */
  wakeMs: number;
  /** Ms from writing `/signal` until its own answer arrived. */
  signalMs: number;
  /** CPU ms the server spent during the wake-up (from /proc/PID/stat). */
  serverCpuMs: number;
  /** CPU ms this client spent during the wake-up. */
  clientCpuMs: number;
  /** CPU ms every other process spent during the wake-up (from /proc/stat). */
  otherCpuMs: number;
}

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const WAIT = enc.encode("GET /wait HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

/** How a held client's wait ended: its answer and when, or what went wrong. */
export type Answer = { at: number; body: string; status: number } | { error: string };

/** One connection holding `GET /wait`; `answer` settles, and the socket closes, once its answer is complete. */
export class Waiter {
  readonly answer: Promise<Answer>;

  constructor(readonly conn: Deno.TcpConn) {
    this.answer = this.#read();
  }

  async #read(): Promise<Answer> {
    const buf = new Uint8Array(512);
    let text = "";
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) return { error: "closed by the server before a complete answer" };
        text += latin1.decode(buf.subarray(0, n));
        const parsed = parseResponse(text);
        if (!parsed.complete) continue;
        const at = performance.now();
        if ("error" in parsed) return { error: parsed.error };
        const extra = text.length - parsed.end;
        if (extra > 0) return { error: `${extra} bytes after the answer` };
        return { at, body: parsed.response.body, status: parsed.response.status };
      }
    } catch (error) {
      return { error: `read failed: ${error instanceof Error ? error.message : error}` };
    } finally {
      this.close();
    }
  }

  close(): void {
    closeQuietly(this.conn);
  }
}

/** Opens `n` connections, `batch` at a time, each sending `GET /wait`. */
export async function connectWaiters(port: number, n: number, batch: number): Promise<Waiter[]> {
  const waiters: Waiter[] = [];
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await writeAll(conn, WAIT);
        return new Waiter(conn);
      }),
    );
    waiters.push(...opened);
  }
  return waiters;
}

/** `GET /stats` on a connection of its own: the clients (or WebSockets) the server holds now. */
export async function stats(port: number): Promise<number> {
  const request = "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  const { responses: [r] } = await exchange(port, request, 1, 30_000).catch((error) => {
    throw new Error(`GET /stats: ${error instanceof Error ? error.message : error}`);
  });
  const n = Number(r.body.trim());
  if (r.status !== 200 || !Number.isInteger(n)) {
    throw new Error(`GET /stats: status ${r.status}, body ${JSON.stringify(r.body)}: not a count`);
  }
  return n;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `/stats` every 50 ms until `done(value)`; throws after `timeoutMs`. */
export async function waitForStats(
  port: number,
  done: (n: number) => boolean,
  timeoutMs: number,
  what: string,
) {
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

/**
 * The RSS of the server's processes (summed) once two readings 250 ms apart
 * differ by less than 1% (at most 3 s after a 500 ms pause).
 */
export async function stableRss(...pids: number[]): Promise<number> {
  const rss = () =>
    pids.reduce((sum, pid) => {
      const bytes = rssBytes(pid);
      if (Number.isNaN(bytes)) {
        throw new Error(`cannot read the RSS of process ${pid} from /proc/${pid}/status`);
      }
      return sum + bytes;
    }, 0);
  await sleep(500);
  let last = rss();
  for (let i = 0; i < 12; i++) {
    await sleep(250);
    const now = rss();
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
  /** Clients held and woken. */
  clients: number;
  /** Clients of the check that a client that leaves is dropped. */
  leavers: number;
  /** Connections opened at once. */
  batch: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** Measures a fresh server; never throws (a failure is in the report). */
export async function runClient(o: ClientOptions): Promise<ClientReport> {
  const report: ClientReport = {
    ok: false,
    rssBefore: NaN,
    rssHeld: NaN,
    bytesPerClient: NaN,
    connectMs: NaN,
    wakeMs: NaN,
    signalMs: NaN,
    serverCpuMs: NaN,
    clientCpuMs: NaN,
    otherCpuMs: NaN,
  };
  let waiters: Waiter[] = [];
  try {
    report.rssBefore = await stableRss(o.pid);
    const base = await stats(o.port);
    o.log(`client: ${o.clients} clients (/stats ${base})`);
    const t0 = performance.now();
    waiters = await connectWaiters(o.port, o.clients, o.batch);
    report.connectMs = performance.now() - t0;
    await waitForStats(o.port, (n) => n >= base + o.clients, 60_000, `${o.clients} clients`);
    report.rssHeld = await stableRss(o.pid);
    report.bytesPerClient = (report.rssHeld - report.rssBefore) / o.clients;

    const value = `v${Date.now()}`;
    const signal = await Deno.connect({ hostname: "127.0.0.1", port: o.port });
    const request = enc.encode(`GET /signal?value=${value} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const cpuServer = cpuMs(o.pid);
    const cpuClient = cpuMs("self");
    const busy = systemBusyMs();
    const ts = performance.now();
    await writeAll(signal, request);
    const signalled = readResponses(signal, 1, 30_000).then(
      ({ responses: [r] }) => ({ r, at: performance.now() }),
      (error) => ({ error: `GET /signal: ${error instanceof Error ? error.message : error}` }),
    );
    const answers = await Promise.all(waiters.map((w) => w.answer));
    const last = answers.reduce((max, a) => ("at" in a && a.at > max ? a.at : max), ts);
    const own = await signalled;
    closeQuietly(signal);
    if ("error" in own) throw new Error(own.error);
    const { r, at } = own;
    report.serverCpuMs = cpuMs(o.pid) - cpuServer;
    report.clientCpuMs = cpuMs("self") - cpuClient;
    report.otherCpuMs = Math.max(0, systemBusyMs() - busy - report.serverCpuMs - report.clientCpuMs);
    report.signalMs = at - ts;
    const problems = answers.flatMap((a) =>
      "error" in a
        ? [a.error]
        : a.status !== 200
        ? [`status ${a.status}`]
        : a.body !== `${value}\n`
        ? [`body ${JSON.stringify(a.body)}, not ${JSON.stringify(`${value}\n`)}`]
        : []
    );
    report.wakeMs = last - ts;
    if (r.status !== 200 || r.body !== `${o.clients}\n`) {
      problems.unshift(`/signal answered ${r.status} ${JSON.stringify(r.body)}, not 200 "${o.clients}\\n"`);
    }
    if (problems.length > 0) {
      throw new Error(`${problems.length} wrong answer(s): ${[...new Set(problems)].slice(0, 3).join("; ")}`);
    }

    o.log(`client: ${o.leavers} clients held, then leaving unanswered`);
    waiters = await connectWaiters(o.port, o.leavers, o.batch);
    await waitForStats(o.port, (n) => n >= base + o.leavers, 20_000, `${o.leavers} leavers held`);
    for (const w of waiters) w.close();
    await Promise.all(waiters.map((w) => w.answer));
    await waitForStats(o.port, (n) => n <= base, 20_000, `${o.leavers} leavers closed, not dropped`);
    report.ok = true;
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
      clients: { type: "string" },
      leavers: { type: "string" },
      batch: { type: "string" },
    },
  });
  const required = (name: "port" | "pid") => intOption(name, values[name] ?? "none", 0);
  const report = await runClient({
    port: required("port"),
    pid: required("pid"),
    clients: intOption("clients", values.clients, 10_000),
    leavers: intOption("leavers", values.leavers, 1000),
    batch: intOption("batch", values.batch, 200),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

if (import.meta.main) await runMain("longpoll_client.ts", main);
