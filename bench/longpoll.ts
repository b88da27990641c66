/**
 * The `longpoll` section of `deno task bench`: {@linkcode LongpollOptions.clients}
 * clients each holding `GET /wait`, on our server (`examples/longpoll.ts`),
 * on the same contract written for `Deno.serve` and `node:http`, and on the
 * floor on `Deno.listen` (`APP=longpoll` in `bench/servers/`): the server's
 * RSS growth per held client, taken cold, and the time one
 * `GET /signal?value=V` takes until every client, closing its socket on its
 * answer, has it.
 *
 * Each round of each server is a fresh server process and a fresh client
 * process (`bench/longpoll_client.ts`, which measures and checks every
 * answer byte for byte), both with the open-files limit raised; rounds
 * alternate between the servers and the table shows the medians.
 *
 * @module
 */
import type { ClientReport } from "./longpoll_client.ts";
import { alternate, type Metric, renderComparison, type RoundResult } from "./compare.ts";
import { count, fmt } from "./numbers.ts";
import type { SectionOutput } from "./results.ts";
import { nodeTitle, type ServerName, type ServerProcess, serversFor, startServer } from "./server_process.ts";
import { jsonReport, runCommand, withOpenFiles } from "./subprocess.ts";

/** Options of {@linkcode runLongpoll}. */
export interface LongpollOptions {
  /** Rounds per server (the median is reported). Default 3. */
  rounds?: number;
  /** Clients held at once. Default 10 000. */
  clients?: number;
  /** Where progress goes. */
  log: (line: string) => void;
}

/** The target for our RSS growth per held client, cold, in KB (1024 bytes). */
export const RSS_TARGET_KB = 8;
/** Clients of the check that a client that leaves is dropped (after the measurements). */
const LEAVERS = 1000;
/** Connections the client opens at once. */
const BATCH = 200;
/** Ms before a client process is killed. */
const CLIENT_TIMEOUT_MS = 180_000;
/** Ms of pause between two server processes. */
const SETTLE_MS = 500;

const CLIENT = new URL("./longpoll_client.ts", import.meta.url).pathname;

/** Runs the long-polling comparison: every round, each server in turn in a fresh process, with a fresh client. */
export async function runLongpoll(options: LongpollOptions): Promise<SectionOutput> {
  const rounds = options.rounds ?? 3;
  const clients = options.clients ?? 10_000;
  const n = count(clients);
  const metrics: Metric[] = [
    {
      id: "rssKb",
      label: `server RSS growth per held client (KB; ${n} held)`,
      short: "RSS per held client",
      unit: "KB",
      higherIsBetter: false,
      targets: [{ value: RSS_TARGET_KB }],
    },
    {
      id: "wakeMs",
      label: `one \`/signal\` → all ${n} clients answered (ms)`,
      short: "wake-all time",
      unit: "ms",
      higherIsBetter: false,
      targets: [{ vs: "deno", factor: 1 }],
    },
    {
      id: "signalMs",
      label: "one `/signal` → its own answer (ms)",
      short: "`/signal`'s own answer",
      unit: "ms",
      higherIsBetter: false,
    },
  ];
  const start = performance.now();
  const clientArgs = [`--clients=${clients}`, `--leavers=${LEAVERS}`, `--batch=${BATCH}`];
  const results = await alternate(
    serversFor("longpoll"),
    rounds,
    SETTLE_MS,
    (name, prefix) => oneRound(name, clientArgs, (line) => options.log(`longpoll: ${prefix} ${line}`)),
  );
  return renderComparison(metrics, results, {
    checks: [
      "the server started and listened",
      `\`/stats\` counted all ${n} clients held`,
      `\`/signal\` answered 200 \`${clients}\\n\` (the clients it woke)`,
      `each of the ${n} clients got status 200 with the body \`V\\n\` exactly (Content-Length or chunked ` +
      "framing) and nothing after it",
      `then ${
        count(LEAVERS)
      } more clients held and closed unanswered: \`/stats\` counted them all, then none ` +
      "(a client that leaves is dropped)",
    ],
    method: [
      "The contract (ours: `examples/longpoll.ts`; the others: `APP=longpoll` in " +
      `\`bench/servers/deno_serve.ts\` and \`bench/servers/node_http.mjs\`, under \`deno run -A\` and ` +
      `${await nodeTitle()}): ` +
      "`GET /wait` holds until `GET /signal?value=V`, then answers 200 `V\\n`; `/signal` answers at once with " +
      "the number of clients it woke; a client that disconnects is dropped (ours: the server withdraws the " +
      "wait; Deno.serve: `request.signal`'s abort; node:http: the response's `close`). `/stats`: the number " +
      "of clients waiting, on every server. The Deno.listen floor (`APP=longpoll` in " +
      "`bench/servers/deno_listen_floor.ts`, `deno run -A`) is not a server but the least a program on Deno's " +
      "sockets can do for the contract: a held client is its `Deno.Conn` in a Set and one pending 64-byte read. " +
      "The WSGI-shape floor (the same file with `--shape=wsgi`) adds what the WSGI contract itself keeps per " +
      "held request and nothing else: the environ (our environ's fields, the headers as `HTTP_*` keys) and " +
      "the app, an async generator suspended at the `yield` of its wait, which the signal resumes; no " +
      "scheduler, task, parser state, output or timeouts.",
      "Cold, as real load arrives: every round is a fresh server process, and nothing is sent to it before " +
      "its RSS is first read (`VmRSS` of `/proc/PID/status`, once two readings 250 ms apart differ by < 1%) — " +
      'no warm-up, which would leave pooled buffers in the "before" figure. Then the client ' +
      "(`bench/longpoll_client.ts`, its own `deno run` process, raw `Deno.connect` sockets, " +
      `${BATCH} connections opened at once): ${n} clients connect and send \`GET /wait\`; once \`/stats\` ` +
      `counts them all, the RSS again. RSS per held client = (RSS held − RSS before) / ${n}; 1 KB = 1024 ` +
      "bytes; it includes whatever the server's garbage collector has not yet returned.",
      "Wake-all time: from writing `GET /signal?value=V` (on a connection opened beforehand) until the last " +
      "client has its complete answer — the server's first wake-up. Each client closes its socket as soon as " +
      "its answer is complete, as real clients do, so the server's remaining writes compete with their " +
      "end-of-file reads and closes. The CPU the server, the client and every other process used meanwhile " +
      "is shown per round (the client should be well below the server; other processes near 0).",
      "Both processes run under `sh -c 'ulimit -n \"$(ulimit -Hn)\"; exec …'`: 10 000 sockets need more than " +
      "10 000 file descriptors on each side.",
    ],
    rounds,
    seconds: (performance.now() - start) / 1000,
  });
}

async function oneRound(
  name: ServerName,
  clientArgs: string[],
  log: (line: string) => void,
): Promise<RoundResult> {
  const result: RoundResult = { values: {}, problems: [], notes: [], summary: "" };
  let server: ServerProcess | undefined;
  try {
    server = await startServer(name, "longpoll");
    const args = ["run", "-A", CLIENT, `--port=${server.port}`, `--pid=${server.pid}`, ...clientArgs];
    const out = await runCommand(...withOpenFiles(Deno.execPath(), args), {
      timeoutMs: CLIENT_TIMEOUT_MS,
    });
    const r = jsonReport<ClientReport>(out, "the client");
    if (!r.ok) throw new Error(r.problem ?? "the client failed");
    result.values = { rssKb: r.bytesPerClient / 1024, wakeMs: r.wakeMs, signalMs: r.signalMs };
    const mib = (bytes: number) => fmt(bytes / 1048576);
    result.summary =
      `${fmt(r.bytesPerClient / 1024)} KB/client (RSS ${mib(r.rssBefore)} → ${mib(r.rssHeld)} MiB), ` +
      `wake-all ${fmt(r.wakeMs)} ms (\`/signal\` answered at ${fmt(r.signalMs)} ms; CPU meanwhile: server ` +
      `${fmt(r.serverCpuMs)} ms, client ${fmt(r.clientCpuMs)} ms, other processes ${
        fmt(r.otherCpuMs)
      } ms), ` +
      `connect ${fmt(r.connectMs / 1000)} s`;
    log(result.summary);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result.problems.push(message);
    result.summary = `✗ ${message}`;
    log(`FAILED: ${message}`);
  } finally {
    await server?.stop();
  }
  return result;
}
