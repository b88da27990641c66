/**
 * The load client of the `websocket` section, in a process of its own
 * (started by `bench/websocket.ts` against a server process just started).
 * It speaks WebSocket by hand over raw `Deno.connect` sockets — the opening
 * handshake, masked frames out, a minimal frame parser in — so that it costs
 * as little as possible next to the server, and is the same client for
 * every server. Two modes:
 *
 * - `echo`: `--sockets` WebSockets to `/ws`, each keeping `--in-flight`
 *   text messages of 32 bytes in flight (as each echo comes back, a new
 *   message goes out; those of one read go out in one write); after one
 *   second of warm-up, the echoes received in `--duration` seconds. Every
 *   echo is checked byte for byte against the message it answers (in
 *   order, per socket); at the end each socket waits for its last echoes,
 *   then closes with 1000 and expects the server's close (1000).
 * - `broadcast`: cold, the server's RSS; `--clients` WebSockets to `/news`
 *   (`--batch` opened at once); once `/stats` counts them all held, the RSS
 *   again; then `GET /signal?value=V` and the time until every socket has
 *   received V (one text frame, checked); then every socket closes its TCP
 *   connection without a close frame and `/stats` must come back to 0.
 *
 * Prints one line of JSON ({@linkcode WebSocketReport}) on stdout, progress
 * on stderr.
 *
 * ```sh
 * deno run -A bench/websocket_client.ts --mode echo --port 8000 --pid 1234 [--sockets 64] [--in-flight 16] [--duration 5]
 * deno run -A bench/websocket_client.ts --mode broadcast --port 8000 --pid 1234 [--clients 10000] [--batch 200]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { intOption, runMain } from "./cli.ts";
import { sleep, stableRss, stats, waitForStats } from "./longpoll_client.ts";
import { cpuMs, systemBusyMs } from "./machine.ts";
import { closeQuietly, readResponses, writeAll } from "./raw_http.ts";

/** What the client prints (one line of JSON); the figures of the other mode are NaN. */
export interface WebSocketReport {
  /** Whether every check passed. */
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  problem?: string;
  /** echo: echoes received per second in the measured window. */
  messagesPerSecond: number;
  /** echo: echoes per read of a socket in the measured window (the client's batching). */
  echoesPerRead: number;
  /** echo: echoes received and checked in all (warm-up and drain included). */
  echoes: number;
  /** broadcast: the server's RSS in bytes before anything was sent to it. */
  rssBefore: number;
  /** broadcast: the server's RSS in bytes with every socket held. */
  rssHeld: number;
  /** broadcast: `(rssHeld − rssBefore) / clients`. */
  bytesPerSocket: number;
  /** broadcast: ms to open every socket (handshake done). */
  connectMs: number;
  /** broadcast: ms from writing `/signal` until the last socket had its message. */
  broadcastMs: number;
  /** broadcast: ms from writing `/signal` until its own answer arrived. */
  signalMs: number;
  /** Ms the measured window lasted (echo: the counting; broadcast: the broadcast). */
  windowMs: number;
  /** CPU ms the server spent in the window (from /proc/PID/stat). */
  serverCpuMs: number;
  /** CPU ms this client spent in the window. */
  clientCpuMs: number;
  /** CPU ms every other process spent in the window (from /proc/stat). */
  otherCpuMs: number;
}

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();
/** The RFC 6455 example key and its accept value: every handshake uses them. */
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/** Bytes of each echo message: 12 digits of its sequence number, then 20 bytes naming its socket. */
const MESSAGE = 32;
const DIGITS = 12;
/** A masked client frame of one message: 2 bytes of head, 4 of mask, the payload. */
const OUT_FRAME = 6 + MESSAGE;

/** Opens a WebSocket to `path`: the connection, and whatever the server sent after its 101. */
export async function openWebSocket(
  port: number,
  path: string,
): Promise<{ conn: Deno.TcpConn; rest: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(
      conn,
      enc.encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(2048);
    let got = 0;
    for (;;) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) throw new Error(`GET ${path}: closed before the handshake's answer`);
      got += n;
      const text = latin1.decode(buf.subarray(0, got));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        if (got === buf.length) throw new Error(`GET ${path}: a handshake answer over ${buf.length} bytes`);
        continue;
      }
      const head = text.slice(0, end);
      if (!head.startsWith("HTTP/1.1 101")) {
        throw new Error(`GET ${path}: answered ${JSON.stringify(head.split("\r\n", 1)[0])}, not 101`);
      }
      const accept = /^sec-websocket-accept:[ \t]*(\S+)/im.exec(head)?.[1];
      if (accept !== ACCEPT) throw new Error(`GET ${path}: Sec-WebSocket-Accept ${accept}, not ${ACCEPT}`);
      return { conn, rest: buf.slice(end + 4, got) };
    }
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
}

/** A masked control frame (close, pong) with `payload`. */
function controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(6 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | payload.length;
  crypto.getRandomValues(frame.subarray(2, 6));
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ frame[2 + (i & 3)];
  return frame;
}

/** The close payload: code 1000 and no reason. */
const NORMAL_CLOSE = new Uint8Array([0x03, 0xe8]);

/**
 * Frames read from a connection into one buffer: {@linkcode next} parses the
 * next complete server frame in place (no copy).
 */
class FrameReader {
  buf: Uint8Array;
  start = 0;
  end = 0;
  /** The last frame parsed: its first byte, and where its payload lies in `buf`. */
  b0 = 0;
  from = 0;
  to = 0;

  constructor(readonly conn: Deno.TcpConn, size: number, rest: Uint8Array) {
    this.buf = new Uint8Array(Math.max(size, rest.length * 2));
    this.buf.set(rest);
    this.end = rest.length;
  }

  /** Reads more; false at end of file. */
  async fill(): Promise<boolean> {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /** Whether a complete frame was parsed (then `b0`, `from`, `to` describe it); throws on a masked one. */
  next(): boolean {
    const buf = this.buf;
    const at = this.start;
    if (this.end - at < 2) return false;
    const b1 = buf[at + 1];
    if (b1 & 0x80) throw new Error("the server sent a masked frame");
    let length = b1 & 0x7f;
    let head = 2;
    if (length === 126) {
      if (this.end - at < 4) return false;
      length = (buf[at + 2] << 8) | buf[at + 3];
      head = 4;
    } else if (length === 127) {
      if (this.end - at < 10) return false;
      length = Number(new DataView(buf.buffer, buf.byteOffset + at + 2, 8).getBigUint64(0));
      head = 10;
    }
    if (this.end - at < head + length) return false;
    this.b0 = buf[at];
    this.from = at + head;
    this.to = at + head + length;
    this.start = this.to;
    return true;
  }

  /** The close code of the close frame just parsed (1005 when it has none). */
  closeCode(): number {
    return this.to - this.from >= 2 ? (this.buf[this.from] << 8) | this.buf[this.from + 1] : 1005;
  }
}

/** Echoes received by every {@linkcode EchoSocket}, checked; and the reads that brought them. */
let echoed = 0;
let reads = 0;

/** One WebSocket of the echo mode, keeping `inFlight` messages in flight. */
class EchoSocket {
  /** Sequence numbers: of the next message to send, and of the next echo expected. */
  sent = 0;
  received = 0;
  stopping = false;
  problem: string | undefined = undefined;
  readonly #reader: FrameReader;
  readonly #out: Uint8Array;
  readonly #mask = new Uint8Array(4);
  /** The 20 bytes that end each of this socket's messages, plain and masked. */
  readonly #tag: Uint8Array;
  readonly #maskedTag = new Uint8Array(MESSAGE - DIGITS);

  constructor(readonly conn: Deno.TcpConn, rest: Uint8Array, readonly id: number, readonly inFlight: number) {
    this.#reader = new FrameReader(conn, 16384, rest);
    this.#out = new Uint8Array(OUT_FRAME * inFlight);
    crypto.getRandomValues(this.#mask);
    this.#tag = enc.encode(` socket ${String(id).padStart(6, "0")} echo `.slice(0, MESSAGE - DIGITS));
    for (let i = 0; i < this.#tag.length; i++) {
      this.#maskedTag[i] = this.#tag[i] ^ this.#mask[(DIGITS + i) & 3];
    }
  }

  /** Sends `k` new messages in one write. */
  #send(k: number): Promise<void> {
    const out = this.#out;
    const mask = this.#mask;
    for (let f = 0, o = 0; f < k; f++, o += OUT_FRAME) {
      out[o] = 0x81;
      out[o + 1] = 0x80 | MESSAGE;
      out[o + 2] = mask[0];
      out[o + 3] = mask[1];
      out[o + 4] = mask[2];
      out[o + 5] = mask[3];
      let seq = this.sent++;
      for (let i = DIGITS - 1; i >= 0; i--) {
        out[o + 6 + i] = (48 + (seq % 10)) ^ mask[i & 3];
        seq = Math.floor(seq / 10);
      }
      out.set(this.#maskedTag, o + 6 + DIGITS);
    }
    return writeAll(this.conn, out.subarray(0, k * OUT_FRAME));
  }

  /** Whether the payload at `from` is the message with sequence number `received`. */
  #isExpected(buf: Uint8Array, from: number, to: number): boolean {
    if (to - from !== MESSAGE) return false;
    let seq = 0;
    for (let i = 0; i < DIGITS; i++) seq = seq * 10 + (buf[from + i] - 48);
    if (seq !== this.received) return false;
    const tag = this.#tag;
    for (let i = 0; i < tag.length; i++) if (buf[from + DIGITS + i] !== tag[i]) return false;
    return true;
  }

  /** Sends, checks echoes and sends again until stopped and every echo is back; sets `problem` on failure. */
  async run(): Promise<void> {
    const r = this.#reader;
    try {
      await this.#send(this.inFlight);
      while (!(this.stopping && this.received === this.sent)) {
        if (!(await r.fill())) throw new Error("closed by the server");
        reads++;
        let k = 0;
        while (r.next()) {
          if (r.b0 === 0x81) {
            if (!this.#isExpected(r.buf, r.from, r.to)) {
              const got = latin1.decode(r.buf.subarray(r.from, r.to));
              throw new Error(`echo ${this.received} of socket ${this.id} was ${JSON.stringify(got)}`);
            }
            this.received++;
            k++;
          } else if (r.b0 === 0x89) {
            await writeAll(this.conn, controlFrame(0xa, r.buf.slice(r.from, r.to)));
          } else if (r.b0 !== 0x8a) {
            throw new Error(`an unexpected frame (first byte 0x${r.b0.toString(16)}) from the server`);
          }
        }
        echoed += k;
        if (k > 0 && !this.stopping) await this.#send(k);
      }
    } catch (error) {
      this.problem ??= error instanceof Error ? error.message : String(error);
    }
  }

  /** Sends a close (1000) and waits for the server's: the problem, if any. */
  async close(timeoutMs: number): Promise<string | undefined> {
    const r = this.#reader;
    const timer = setTimeout(() => closeQuietly(this.conn), timeoutMs);
    try {
      await writeAll(this.conn, controlFrame(0x8, NORMAL_CLOSE));
      for (;;) {
        while (r.next()) {
          if (r.b0 !== 0x88) continue;
          const code = r.closeCode();
          return code === 1000 ? undefined : `the server's close said ${code}, not 1000`;
        }
        if (!(await r.fill())) return "closed by the server without a close frame";
      }
    } catch (error) {
      return `no close from the server within ${timeoutMs} ms (${
        error instanceof Error ? error.message : error
      })`;
    } finally {
      clearTimeout(timer);
      closeQuietly(this.conn);
    }
  }
}

/** A WebSocket held at `/news`: `message` settles with the first text message (and when), or what went wrong. */
class HeldSocket {
  readonly message: Promise<{ at: number; text: string } | { error: string }>;
  readonly #reader: FrameReader;

  constructor(readonly conn: Deno.TcpConn, rest: Uint8Array) {
    this.#reader = new FrameReader(conn, 256, rest);
    this.message = this.#read();
  }

  async #read(): Promise<{ at: number; text: string } | { error: string }> {
    const r = this.#reader;
    try {
      for (;;) {
        while (r.next()) {
          if (r.b0 === 0x81) {
            return { at: performance.now(), text: utf8.decode(r.buf.subarray(r.from, r.to)) };
          }
          if (r.b0 === 0x89) await writeAll(this.conn, controlFrame(0xa, r.buf.slice(r.from, r.to)));
          else if (r.b0 !== 0x8a) return { error: `an unexpected frame (first byte 0x${r.b0.toString(16)})` };
        }
        if (!(await r.fill())) return { error: "closed by the server before the message" };
      }
    } catch (error) {
      return { error: `read failed: ${error instanceof Error ? error.message : error}` };
    }
  }
}

/** Options of {@linkcode runEcho} and {@linkcode runBroadcast}. */
export interface ClientOptions {
  /** The server's port on 127.0.0.1. */
  port: number;
  /** The server's process id (for its RSS and CPU time). */
  pid: number;
  /** echo: WebSockets. */
  sockets: number;
  /** echo: messages in flight on each. */
  inFlight: number;
  /** echo: seconds counted (after one of warm-up). */
  seconds: number;
  /** broadcast: WebSockets held. */
  clients: number;
  /** broadcast: connections opened at once. */
  batch: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

function emptyReport(): WebSocketReport {
  return {
    ok: false,
    messagesPerSecond: NaN,
    echoesPerRead: NaN,
    echoes: NaN,
    rssBefore: NaN,
    rssHeld: NaN,
    bytesPerSocket: NaN,
    connectMs: NaN,
    broadcastMs: NaN,
    signalMs: NaN,
    windowMs: NaN,
    serverCpuMs: NaN,
    clientCpuMs: NaN,
    otherCpuMs: NaN,
  };
}

/** CPU snapshots of the server, this client and the machine; `since` fills the report's CPU figures. */
function cpuWindow(pid: number) {
  const server = cpuMs(pid);
  const client = cpuMs("self");
  const busy = systemBusyMs();
  const t = performance.now();
  return (report: WebSocketReport) => {
    report.windowMs = performance.now() - t;
    report.serverCpuMs = cpuMs(pid) - server;
    report.clientCpuMs = cpuMs("self") - client;
    report.otherCpuMs = Math.max(0, systemBusyMs() - busy - report.serverCpuMs - report.clientCpuMs);
  };
}

/** The echo mode; never throws (a failure is in the report). */
export async function runEcho(o: ClientOptions): Promise<WebSocketReport> {
  const report = emptyReport();
  let sockets: EchoSocket[] = [];
  try {
    sockets = await Promise.all(
      Array.from({ length: o.sockets }, async (_, id) => {
        const { conn, rest } = await openWebSocket(o.port, "/ws");
        return new EchoSocket(conn, rest, id, o.inFlight);
      }),
    );
    o.log(`client: ${o.sockets} sockets × ${o.inFlight} messages in flight, ${o.seconds} s (+1 s warm-up)`);
    const runs = sockets.map((s) => s.run());
    await sleep(1000);
    const before = echoed;
    const readsBefore = reads;
    const done = cpuWindow(o.pid);
    await sleep(o.seconds * 1000);
    const counted = echoed - before;
    report.echoesPerRead = counted / (reads - readsBefore);
    done(report);
    report.messagesPerSecond = counted / (report.windowMs / 1000);
    for (const s of sockets) s.stopping = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = await Promise.race([
      Promise.all(runs).then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
    ]);
    clearTimeout(timer);
    report.echoes = echoed;
    const problems = sockets.flatMap((s) => s.problem === undefined ? [] : [s.problem]);
    if (!drained) {
      const missing = sockets.reduce((sum, s) => sum + s.sent - s.received, 0);
      problems.push(`${missing} echo(es) still missing 10 s after the last message was sent`);
    } else {
      const closes = await Promise.all(sockets.map((s) => s.close(5000)));
      problems.push(...closes.filter((p): p is string => p !== undefined));
    }
    if (problems.length > 0) {
      throw new Error(`${problems.length} problem(s): ${[...new Set(problems)].slice(0, 3).join("; ")}`);
    }
    report.ok = true;
  } catch (error) {
    report.problem = error instanceof Error ? error.message : String(error);
  } finally {
    for (const s of sockets) closeQuietly(s.conn);
  }
  return report;
}

/** The broadcast mode; never throws (a failure is in the report). */
export async function runBroadcast(o: ClientOptions): Promise<WebSocketReport> {
  const report = emptyReport();
  const held: HeldSocket[] = [];
  try {
    report.rssBefore = await stableRss(o.pid);
    const base = await stats(o.port);
    o.log(`client: ${o.clients} WebSockets held (/stats ${base})`);
    const t0 = performance.now();
    for (let i = 0; i < o.clients; i += o.batch) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(o.batch, o.clients - i) }, async () => {
          const { conn, rest } = await openWebSocket(o.port, "/news");
          return new HeldSocket(conn, rest);
        }),
      );
      held.push(...opened);
    }
    report.connectMs = performance.now() - t0;
    await waitForStats(o.port, (n) => n >= base + o.clients, 60_000, `${o.clients} WebSockets`);
    report.rssHeld = await stableRss(o.pid);
    report.bytesPerSocket = (report.rssHeld - report.rssBefore) / o.clients;

    const value = `v${Date.now()}`;
    const signal = await Deno.connect({ hostname: "127.0.0.1", port: o.port });
    const request = enc.encode(`GET /signal?value=${value} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const done = cpuWindow(o.pid);
    const ts = performance.now();
    await writeAll(signal, request);
    const signalled = readResponses(signal, 1, 30_000).then(
      ({ responses: [r] }) => ({ r, at: performance.now() }),
      (error) => ({ error: `GET /signal: ${error instanceof Error ? error.message : error}` }),
    );
    const messages = await Promise.all(held.map((h) => h.message));
    const last = messages.reduce((max, m) => ("at" in m && m.at > max ? m.at : max), ts);
    done(report);
    const own = await signalled;
    closeQuietly(signal);
    if ("error" in own) throw new Error(own.error);
    report.broadcastMs = last - ts;
    report.signalMs = own.at - ts;
    const problems = messages.flatMap((m) =>
      "error" in m ? [m.error] : m.text !== value ? [`got ${JSON.stringify(m.text)}, not ${value}`] : []
    );
    if (own.r.status !== 200 || own.r.body !== `${o.clients}\n`) {
      problems.unshift(
        `/signal answered ${own.r.status} ${JSON.stringify(own.r.body)}, not 200 "${o.clients}\\n"`,
      );
    }
    if (problems.length > 0) {
      throw new Error(
        `${problems.length} wrong message(s): ${[...new Set(problems)].slice(0, 3).join("; ")}`,
      );
    }
    o.log(`client: every socket had its message; closing them all without a close frame`);
    for (const h of held) closeQuietly(h.conn);
    await waitForStats(o.port, (n) => n <= base, 30_000, `${o.clients} WebSockets gone, not dropped`);
    report.ok = true;
  } catch (error) {
    report.problem = error instanceof Error ? error.message : String(error);
  } finally {
    for (const h of held) closeQuietly(h.conn);
  }
  return report;
}

async function main(args: string[]): Promise<number> {
  const string = { type: "string" } as const;
  const { values } = parseArgs({
    args,
    options: {
      mode: string,
      port: string,
      pid: string,
      sockets: string,
      "in-flight": string,
      duration: string,
      clients: string,
      batch: string,
    },
  });
  if (values.mode !== "echo" && values.mode !== "broadcast") {
    throw new Error(`--mode must be echo or broadcast, got ${values.mode}`);
  }
  const required = (name: "port" | "pid") => intOption(name, values[name] ?? "none", 0);
  const options: ClientOptions = {
    port: required("port"),
    pid: required("pid"),
    sockets: intOption("sockets", values.sockets, 64),
    inFlight: intOption("in-flight", values["in-flight"], 16),
    seconds: intOption("duration", values.duration, 5),
    clients: intOption("clients", values.clients, 10_000),
    batch: intOption("batch", values.batch, 200),
    log: (line) => console.error(line),
  };
  const report = values.mode === "echo" ? await runEcho(options) : await runBroadcast(options);
  console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

if (import.meta.main) await runMain("websocket_client.ts", main);
