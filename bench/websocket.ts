/**
 * The `websocket` section of `deno task bench`: WebSocket servers side by
 * side in one run — ours (`examples/websocket.ts`'s echo, plus a broadcast
 * route: `bench/servers/ours_websocket.ts`), `Deno.serve` with
 * `Deno.upgradeWebSocket` (`bench/servers/deno_serve_websocket.ts`) and
 * `node:http` with the `ws` package (`bench/servers/node_websocket.mjs`,
 * under Node), and the floor on `Deno.listen`
 * (`bench/servers/deno_listen_floor_websocket.ts`: the least a server on
 * `Deno.Conn` can do) — on three scenarios:
 *
 * 1. echo: messages per second on 64 sockets with 16 messages of 32 bytes
 *    in flight on each;
 * 2. broadcast: one `GET /signal?value=V` to {@linkcode WebSocketOptions.clients}
 *    held WebSockets, the time until every one has V;
 * 3. memory: the server's RSS growth per held WebSocket, taken cold, on
 *    the same held sockets.
 *
 * Every round, each server runs each mode in a fresh process, with a fresh
 * client process (`bench/websocket_client.ts`, the same hand-written client
 * for all four, which checks every message); the servers take turns and
 * the tables show the medians.
 *
 * @module
 */
import { count, fmt, median } from "./numbers.ts";
import type { SectionOutput } from "./results.ts";
import { findNode, nodeTitle } from "./server_process.ts";
import { jsonReport, nodePackage, runCommand, spawnTracked, stopChild, withOpenFiles } from "./subprocess.ts";
import type { WebSocketReport } from "./websocket_client.ts";

/** Options of {@linkcode runWebsocket}. */
export interface WebSocketOptions {
  /** Rounds per server and mode (the median is reported). Default 3. */
  rounds?: number;
  /** WebSockets held in the broadcast. Default 10 000. */
  clients?: number;
  /** Seconds the echo is counted (after one of warm-up). Default 5. */
  seconds?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** The servers compared, in the order they take turns. */
const WS_SERVERS = ["ours", "deno", "node", "floor"] as const;
type WsServer = typeof WS_SERVERS[number];
const WS_VERSION = "8.23.0";
const TITLE: Record<WsServer, string> = {
  ours: "ours",
  deno: "Deno.serve + upgradeWebSocket",
  node: `node:http + ws ${WS_VERSION}`,
  floor: "Deno.listen floor",
};
type Mode = "echo" | "broadcast";
/** The echo's load: sockets, and messages in flight on each. */
const SOCKETS = 64;
const IN_FLIGHT = 16;
/** Connections the broadcast's client opens at once. */
const BATCH = 200;
/** The target for our RSS growth per open WebSocket, in KB (1024 bytes). */
export const RSS_TARGET_KB = 6;
/** Ms of pause between two server processes. */
const SETTLE_MS = 500;
const CLIENT = new URL("./websocket_client.ts", import.meta.url).pathname;

/** A server process of this section. */
interface Running {
  pid: number;
  port: number;
  /** Stops it (SIGTERM, SIGKILL after 3 s); resolves with what it wrote on stderr (the last 4000 characters). */
  stop(): Promise<string>;
}

/** One server's run of one mode: the client's report, or why there is none; and anything odd it printed. */
interface Run {
  report?: WebSocketReport;
  problem?: string;
  stderr: string[];
  /** Things to know that do not invalidate the figures. */
  notes: string[];
}

/** Cores other processes may use in a measured window before a note says so (the machine is shared). */
const BUSY_OTHERS = 0.25;

/** Runs the section: every round, each mode on each server in turn, each in a fresh process. */
export async function runWebsocket(options: WebSocketOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const clients = options.clients ?? 10_000;
  const seconds = options.seconds ?? 5;
  const started = performance.now();
  const wsModule = await nodePackage(
    { spec: `ws@${WS_VERSION}`, folder: `ws-${WS_VERSION}`, entry: "ws/wrapper.mjs" },
    (line) => options.log(`websocket: ${line}`),
  );
  const runs: Record<Mode, Record<WsServer, Run[]>> = {
    echo: { ours: [], deno: [], node: [], floor: [] },
    broadcast: { ours: [], deno: [], node: [], floor: [] },
  };
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ["echo", "broadcast"] as const) {
      for (const name of WS_SERVERS) {
        const log = (line: string) =>
          options.log(`websocket: round ${round}/${rounds} ${mode} ${TITLE[name]}: ${line}`);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        if (name === "node" && typeof wsModule !== "string") {
          runs[mode].node.push({
            problem: `ws could not be installed for Node: ${wsModule.error}`,
            stderr: [],
            notes: [],
          });
          continue;
        }
        const clientArgs = mode === "echo"
          ? [`--sockets=${SOCKETS}`, `--in-flight=${IN_FLIGHT}`, `--duration=${seconds}`]
          : [`--clients=${clients}`, `--batch=${BATCH}`];
        runs[mode][name].push(await oneRun(name, mode, clientArgs, wsModule as string, log));
      }
    }
  }
  return render(runs, {
    rounds,
    clients,
    seconds,
    node: await nodeTitle(),
    took: (performance.now() - started) / 1000,
  });
}

/** Lines a server writes on stderr when all goes well (ours, when told to stop). */
const EXPECTED_STDERR = /^cogen: SIG\w+: shutting down/;

async function oneRun(
  name: WsServer,
  mode: Mode,
  clientArgs: string[],
  wsModule: string,
  log: (line: string) => void,
): Promise<Run> {
  const run: Run = { stderr: [], notes: [] };
  let server: Running | undefined;
  try {
    server = await startWsServer(name, wsModule);
    const args = ["run", "-A", CLIENT, `--mode=${mode}`, `--port=${server.port}`, `--pid=${server.pid}`];
    const out = await runCommand(...withOpenFiles(Deno.execPath(), [...args, ...clientArgs]), {
      timeoutMs: 180_000,
    });
    const report = jsonReport<WebSocketReport>(out, "the client");
    run.report = report;
    if (!report.ok) throw new Error(report.problem ?? "the client failed");
    log(summary(mode, report));
    const others = report.otherCpuMs / report.windowMs;
    if (others > BUSY_OTHERS) {
      run.notes.push(
        `other processes used ${fmt(others, 2)} cores while it was measured: its figure may be low`,
      );
    }
  } catch (error) {
    run.problem = error instanceof Error ? error.message : String(error);
    log(`FAILED: ${run.problem}`);
  } finally {
    const stderr = await server?.stop();
    run.stderr = (stderr ?? "").split("\n").filter((line) =>
      line.trim() !== "" && !EXPECTED_STDERR.test(line)
    );
    if (run.stderr.length > 0) log(`its stderr: ${run.stderr.slice(-3).join(" | ")}`);
  }
  return run;
}

/** The command line of server `name` (relative to the repository root). */
async function serverCommand(name: WsServer): Promise<[string, string[]]> {
  if (name === "node") return [(await findNode()).path, ["bench/servers/node_websocket.mjs"]];
  const file = {
    ours: "bench/servers/ours_websocket.ts",
    deno: "bench/servers/deno_serve_websocket.ts",
    floor: "bench/servers/deno_listen_floor_websocket.ts",
  }[name];
  return [Deno.execPath(), ["run", "-A", file]];
}

/** Starts server `name` on a port of its choosing, with the open-files limit raised; resolves once it listens. */
async function startWsServer(name: WsServer, wsModule: string): Promise<Running> {
  const [cmd, args] = withOpenFiles(...await serverCommand(name));
  const child = spawnTracked(cmd, args, {
    env: { HOST: "127.0.0.1", PORT: "0", APP: "websocket", WS_MODULE: wsModule },
  });
  const tail = { text: "" };
  const stderrRead = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      tail.text = (tail.text + text).slice(-4000);
    }
  })().catch(() => {});
  const stop = async () => {
    await stopChild(child, 3000);
    await stderrRead;
    return tail.text;
  };
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => lines.cancel().catch(() => {}), 30_000);
  try {
    let text = "";
    for (;;) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`${TITLE[name]} exited or did not listen within 30 s`);
      text += value;
      const port = /listening on http:\/\/[^:/]+:(\d+)\//.exec(text)?.[1];
      if (port !== undefined) {
        // Whatever it prints later is read and dropped, so that its pipe never fills.
        (async () => {
          while (!(await lines.read()).done);
        })().catch(() => {});
        return { pid: child.pid, port: Number(port), stop };
      }
    }
  } catch (error) {
    const last = (await stop()).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${error instanceof Error ? error.message : error}${last ? `: ${last}` : ""}`);
  } finally {
    clearTimeout(timer);
  }
}

/** `ms` of CPU in `windowMs` as a share of one core. */
const cores = (ms: number, windowMs: number) => fmt(ms / windowMs, 2);

/** One line for a round: its figures and the CPU each process used meanwhile. */
function summary(mode: Mode, r: WebSocketReport): string {
  const cpu = `server ${cores(r.serverCpuMs, r.windowMs)}, client ${cores(r.clientCpuMs, r.windowMs)}, ` +
    `others ${cores(r.otherCpuMs, r.windowMs)} cores`;
  if (mode === "echo") {
    return `${count(r.messagesPerSecond)} messages/s (${fmt(r.echoesPerRead)} echoes per client read; ` +
      `CPU: ${cpu}), ${count(r.echoes)} echoes checked`;
  }
  const mib = (bytes: number) => fmt(bytes / 1048576);
  return `${fmt(r.bytesPerSocket / 1024)} KB/socket (RSS ${mib(r.rssBefore)} → ${mib(r.rssHeld)} MiB), ` +
    `broadcast ${fmt(r.broadcastMs)} ms (\`/signal\` answered at ${fmt(r.signalMs)} ms; CPU: ${cpu}), ` +
    `connect ${fmt(r.connectMs / 1000)} s`;
}

interface RenderContext {
  rounds: number;
  clients: number;
  seconds: number;
  node: string;
  took: number;
}

/** A measurement: which mode and field it comes from, and how it is shown. */
interface Metric {
  mode: Mode;
  value: (r: WebSocketReport) => number;
  label: string;
  short: string;
  unit: string;
  higherIsBetter: boolean;
  /** What this machine measured for the issue, per server. */
  issue: string;
}

function render(runs: Record<Mode, Record<WsServer, Run[]>>, c: RenderContext): SectionOutput {
  const n = count(c.clients);
  const metrics: Metric[] = [
    {
      mode: "echo",
      value: (r) => r.messagesPerSecond,
      label: `echo: messages per second (${SOCKETS} sockets × ${IN_FLIGHT} in flight, 32 bytes)`,
      short: "echo messages/s",
      unit: "/s",
      higherIsBetter: true,
      issue: "Deno.serve 115–142k, node + ws 112–122k",
    },
    {
      mode: "broadcast",
      value: (r) => r.broadcastMs,
      label: `one \`/signal\` → all ${n} held sockets have the message (ms)`,
      short: "broadcast time",
      unit: "ms",
      higherIsBetter: false,
      issue: "Deno.serve 142–153 ms, node + ws 188–238 ms",
    },
    {
      mode: "broadcast",
      value: (r) => r.bytesPerSocket / 1024,
      label: `server RSS growth per open WebSocket (KB; ${n} held, cold)`,
      short: "RSS per open WebSocket",
      unit: "KB",
      higherIsBetter: false,
      issue: "Deno.serve 19.6 KB, node + ws 5.9 KB",
    },
    {
      mode: "broadcast",
      value: (r) => r.signalMs,
      label: "one `/signal` → its own answer (ms)",
      short: "`/signal`'s own answer",
      unit: "ms",
      higherIsBetter: false,
      issue: "—",
    },
  ];
  const reports = (mode: Mode, s: WsServer) =>
    runs[mode][s].flatMap((r) => r.report?.ok && r.problem === undefined ? [r.report] : []);
  const med = (m: Metric, s: WsServer) => median(reports(m.mode, s).map(m.value).filter(Number.isFinite));
  const show = (v: number, unit: string) =>
    Number.isFinite(v) ? `${Math.abs(v) >= 1000 ? count(v) : fmt(v)} ${unit}` : "—";
  const ratio = (m: Metric, vs: WsServer) => {
    const r = med(m, "ours") / med(m, vs);
    return Number.isFinite(r) ? `${fmt(r)}×` : "—";
  };
  const [echo, broadcast, rss] = metrics;
  const meets = (m: Metric, v: number, bound: number) =>
    Number.isFinite(v) && Number.isFinite(bound) ? (m.higherIsBetter ? v >= bound : v <= bound) : undefined;
  const targets: { m: Metric; text: string; met?: boolean; figure: string }[] = [
    {
      m: echo,
      text: "≥ Deno.serve's",
      met: meets(echo, med(echo, "ours"), med(echo, "deno")),
      figure: ratio(echo, "deno"),
    },
    {
      m: echo,
      text: "≥ node + ws's",
      met: meets(echo, med(echo, "ours"), med(echo, "node")),
      figure: ratio(echo, "node"),
    },
    {
      m: broadcast,
      text: "≤ Deno.serve's",
      met: meets(broadcast, med(broadcast, "ours"), med(broadcast, "deno")),
      figure: ratio(broadcast, "deno"),
    },
    {
      m: rss,
      text: `≤ ${RSS_TARGET_KB} KB`,
      met: meets(rss, med(rss, "ours"), RSS_TARGET_KB),
      figure: show(med(rss, "ours"), "KB"),
    },
  ];
  const mark = (met?: boolean) => met === undefined ? "?" : met ? "✓ met" : "✗ missed";
  const failures = (["echo", "broadcast"] as const).flatMap((mode) =>
    WS_SERVERS.flatMap((s) =>
      runs[mode][s].flatMap((r, i) =>
        r.problem === undefined ? [] : [`${TITLE[s]}, ${mode}, round ${i + 1}: ${r.problem}`]
      )
    )
  );
  const notes = (["echo", "broadcast"] as const).flatMap((mode) =>
    WS_SERVERS.flatMap((s) =>
      runs[mode][s].flatMap((r, i) => {
        const where = `${TITLE[s]}, ${mode}, round ${i + 1}`;
        const stderr = r.stderr.length === 0
          ? []
          : [`${where}, the server's stderr: \`${r.stderr.slice(-3).join(" | ")}\``];
        return [...r.notes.map((note) => `${where}: ${note}`), ...stderr];
      })
    )
  );
  const versus = (vs: WsServer) => metrics.slice(0, 3).map((m) => `${m.short} ${ratio(m, vs)}`).join(", ");
  const floorNote =
    "**Ours ÷ the Deno.listen floor** (the least a server writing with `Deno.Conn` can do): " +
    `${versus("floor")}.`;
  const met = targets.filter((t) => t.met === true).length;
  const headline = [
    `**Ours ÷ Deno.serve:** ${versus("deno")}. **Ours ÷ node:http + ws:** ${versus("node")}. ${floorNote}`,
    "(Above 1 is better for echo messages/s; below 1 is better for the broadcast time and the RSS.)",
    `**Targets: ${met} of ${targets.length} met.** ${
      targets.map((t) => `${t.m.short} ${t.text} ${mark(t.met)} (${t.figure})`).join("; ")
    }.`,
    failures.length > 0 ? `**${failures.length} run(s) failed** (see below).` : "All checks passed.",
  ].join(" ");

  const cpuRow = (s: WsServer, who: "serverCpuMs" | "clientCpuMs") =>
    median(reports("echo", s).map((r) => r[who] / r.windowMs).filter(Number.isFinite));
  const table = [
    `| measurement | ${
      WS_SERVERS.map((s) => TITLE[s]).join(" | ")
    } | ours ÷ Deno.serve | ours ÷ node + ws | ours ÷ floor | ` +
    "target (ours) | the issue's figures (this machine) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ...metrics.map((m) =>
      `| ${m.label} | ${WS_SERVERS.map((s) => show(med(m, s), m.unit)).join(" | ")} | ${ratio(m, "deno")} | ${
        ratio(m, "node")
      } | ${ratio(m, "floor")} | ${
        targets.filter((t) => t.m === m).map((t) => `${t.text}: ${mark(t.met)} (${t.figure})`).join("; ") ||
        "—"
      } | ${m.issue} |`
    ),
    `| echo: CPU of the server / the client (cores) | ${
      WS_SERVERS.map((s) => `${fmt(cpuRow(s, "serverCpuMs"), 2)} / ${fmt(cpuRow(s, "clientCpuMs"), 2)}`).join(
        " | ",
      )
    } | — | — | — | — | — |`,
  ].join("\n");

  const perRound = [
    "| server | mode | round | figures |",
    "|---|---|--:|---|",
    ...(["echo", "broadcast"] as const).flatMap((mode) =>
      WS_SERVERS.flatMap((s) =>
        runs[mode][s].map((r, i) =>
          `| ${TITLE[s]} | ${mode} | ${i + 1} | ${
            r.problem !== undefined ? `✗ ${r.problem}` : r.report ? summary(mode, r.report) : "—"
          } |`
        )
      )
    ),
  ].join("\n");

  const checks = [
    "the server started and listened; every handshake answered 101 with the right `Sec-WebSocket-Accept`",
    "echo: every echo was the message it answers, byte for byte and in order, on its socket; once the " +
    "client stopped sending, every socket got all its echoes back, then answered the client's close (1000) " +
    "with a close 1000",
    `broadcast: \`/stats\` counted all ${n} sockets held; \`/signal\` answered 200 \`${c.clients}\\n\` (the ` +
    "sockets it sent to); each socket's first frame (pings aside) was the text message V; then every socket " +
    "closed its TCP connection without a close frame and `/stats` came back to 0 (a socket that leaves is " +
    "dropped)",
  ];
  const method = [
    "The servers, each run in a fresh process under `sh -c 'ulimit -n \"$(ulimit -Hn)\"; exec …'` for each " +
    "mode of each round: ours, `deno run -A bench/servers/ours_websocket.ts` — `examples/websocket.ts`'s echo " +
    'at `/ws`, and at `/news` a generator that races `ws.receive()` against `WaitForSignal("news")` (a ' +
    "`Signal` from `/signal`); Deno.serve, `deno run -A bench/servers/deno_serve_websocket.ts` " +
    "(`Deno.upgradeWebSocket`, `onmessage` sends back `event.data`, the held sockets in a Set); node, " +
    `\`bench/servers/node_websocket.mjs\` under ${c.node} with \`ws@${WS_VERSION}\` (\`noServer\`, no ` +
    "permessage-deflate, no `bufferutil`/`utf-8-validate`; installed once with npm into `~/.cache/cogen-bench`); " +
    "the floor, `deno run -A bench/servers/deno_listen_floor_websocket.ts`, not a conforming server but the least " +
    "a program on `Deno.listen` can do for the contract (the handshake's key, frames echoed as they come, the " +
    "broadcast's frame written to every socket with `conn.write`, not awaited). " +
    "The servers take turns: echo on ours, Deno.serve, node, the floor, then the broadcast on each, then the " +
    "next round.",
    "The client (`bench/websocket_client.ts`, its own `deno run` process, the same for all four) speaks " +
    "WebSocket by hand on raw `Deno.connect` sockets: the opening handshake, masked frames out (a random " +
    "mask per socket), a minimal frame parser that reads frames in place; pings are answered.",
    `Echo: ${SOCKETS} sockets to \`/ws\`, each with ${IN_FLIGHT} text messages of 32 bytes in flight (12 ` +
    "digits of a sequence number and 20 bytes naming the socket): each echo is checked, and for each one a " +
    "new message goes out (those of one read in one write). After 1 s of warm-up, the echoes received in " +
    `${c.seconds} s are counted. CPU: what the server and the client used in that window (from ` +
    "`/proc/PID/stat`), in cores; 2 cores in all, so a client well below 1 core leaves the server its own.",
    `Broadcast and memory, cold: nothing is sent to the fresh server before its RSS is first read (\`VmRSS\` ` +
    "of `/proc/PID/status`, once two readings 250 ms apart differ by < 1%); then " +
    `${n} sockets open \`/news\` (${BATCH} at a time); once \`/stats\` counts them all, the RSS again: RSS ` +
    `per open WebSocket = (RSS held − RSS before) / ${n}, 1 KB = 1024 bytes, including what the garbage ` +
    "collector has not returned yet. Then `GET /signal?value=V` on a connection opened beforehand, timed " +
    "from writing it until the last socket has V (the sockets stay open meanwhile).",
  ];
  const body = [
    table,
    "",
    `Checks (every round of every server): ${checks.join("; ")}.`,
    ...(failures.length > 0 ? ["", "Failed runs:", "", ...failures.map((f) => `- ${f}`)] : []),
    ...(notes.length > 0 ? ["", "Notes:", "", ...notes.map((f) => `- ${f}`)] : []),
    "",
    `Rounds: ${c.rounds}; section time: ${c.took.toFixed(0)} s.`,
    "",
    "How it is measured:",
    "",
    ...method.map((line) => `- ${line}`),
    "",
    "Every round:",
    "",
    perRound,
  ].join("\n");
  return { headline, body, ok: failures.length === 0 };
}
