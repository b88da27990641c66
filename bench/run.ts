/**
 * The entry point of `deno task bench`: runs the benchmark sections and
 * writes their blocks of `bench/RESULTS.md` (`bench/results.ts`).
 *
 * ```sh
 * deno task bench                      # every section
 * deno task bench --only core          # one section (comma-separated list allowed)
 * deno task bench --only core --rounds 5
 * deno task bench --only hello,longpoll --rounds 1 --duration 3
 * deno task bench --list               # the sections
 * ```
 *
 * Each section produces markdown (a headline, its tables, the machine and
 * the date), one file each: `core` (`bench/core.ts`), `hello`
 * (`bench/hello.ts`), `transfer` (`bench/transfer.ts`), `tls` (`bench/tls.ts`), `longpoll`
 * (`bench/longpoll.ts`), `bus` (`bench/bus.ts`), `websocket`
 * (`bench/websocket.ts`), `pool` (`bench/pool.ts`), `workers` (`bench/workers.ts`). Every server,
 * load generator and worker runs in its own subprocess, stopped by pid when
 * done, on error and on Ctrl-C, so this process only orchestrates.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { intOption, runMain } from "./cli.ts";
import { runCore } from "./core.ts";
import { HELLO } from "./hello.ts";
import { runSection } from "./http.ts";
import { runBus } from "./bus.ts";
import { runLongpoll } from "./longpoll.ts";
import { runWebsocket } from "./websocket.ts";
import { runPool } from "./pool.ts";
import { runWorkers } from "./workers.ts";
import { machineMarkdown } from "./machine.ts";
import { sectionBlock, type SectionOutput, updateResults } from "./results.ts";
import { runTls } from "./tls.ts";
import { TRANSFER } from "./transfer.ts";

/** What a section is given when it runs: the command line's options and where progress goes. */
interface Context {
  /** The integer option `--NAME`, when given. */
  int(name: string): number | undefined;
  log: (line: string) => void;
}

/** A benchmark section of `deno task bench`. */
interface Section {
  /** The id used by `--only` and in the RESULTS.md markers. */
  id: string;
  /** The heading of its block in RESULTS.md. */
  title: string;
  /** One line for `--list`. */
  summary: string;
  run(ctx: Context): Promise<SectionOutput>;
}

/** The sections, in the order they run and appear in RESULTS.md. */
const SECTIONS: Section[] = [
  {
    id: "core",
    title: "Core scheduler: ours vs plain async/await vs Effection 4.1.1",
    summary:
      "100 000 sleeping tasks (spawn time, heap per task), queue ping-pong, one signal to 10 000 waiters",
    run: (ctx) =>
      runCore({
        rounds: ctx.int("rounds"),
        effectionRounds: ctx.int("effection-rounds"),
        budgetSeconds: ctx.int("budget"),
        log: ctx.log,
      }),
  },
  {
    id: "hello",
    title: "HTTP hello: ours vs Deno.serve vs node:http",
    summary: "Hello, World! under wrk: keep-alive c64 req/s, 16 pipelined req/s, c1 p50/p99 latency",
    run: (ctx) =>
      runSection(HELLO, { rounds: ctx.int("rounds"), seconds: ctx.int("duration"), log: ctx.log }),
  },
  {
    id: "transfer",
    title: "HTTP transfer: 64 KiB responses and 1 MiB uploads, ours vs Deno.serve vs node:http",
    summary: "GET /64k MiB/s and POST /upload (1 MiB, read whole) MiB/s under wrk",
    run: (ctx) =>
      runSection(TRANSFER, { rounds: ctx.int("rounds"), seconds: ctx.int("duration"), log: ctx.log }),
  },
  {
    id: "tls",
    title: "HTTPS hello: ours vs Deno.serve vs node:https",
    summary: "Hello, World! over TLS under wrk: keep-alive c64 req/s and CPU per request, a new connection " +
      "(a full handshake) per request",
    run: (ctx) => runTls({ rounds: ctx.int("rounds"), seconds: ctx.int("duration"), log: ctx.log }),
  },
  {
    id: "longpoll",
    title: "Long polling: 10 000 held clients, ours vs Deno.serve vs node:http",
    summary: "10 000 clients holding GET /wait on a cold server: RSS per held client, time for one signal " +
      "to answer all (each client closing on its answer)",
    run: (ctx) => runLongpoll({ rounds: ctx.int("rounds"), clients: ctx.int("clients"), log: ctx.log }),
  },
  {
    id: "bus",
    title: "Across processes: long polls woken through Redis, ours vs Deno.serve vs node:http",
    summary:
      "10 000 clients held on two processes, one signal through Redis: wake-all time, RSS per client; " +
      "signal latency across processes; named-queue messages/s",
    run: (ctx) => runBus({ rounds: ctx.int("rounds"), clients: ctx.int("clients"), log: ctx.log }),
  },
  {
    id: "websocket",
    title: "WebSocket: ours vs Deno.serve + Deno.upgradeWebSocket vs node:http + ws",
    summary: "echo messages/s (64 sockets × 16 in flight, 32 bytes); one broadcast to 10 000 held " +
      "WebSockets: time until all have it, RSS per open WebSocket",
    run: (ctx) =>
      runWebsocket({
        rounds: ctx.int("rounds"),
        clients: ctx.int("clients"),
        seconds: ctx.int("duration"),
        log: ctx.log,
      }),
  },
  {
    id: "pool",
    title: "Blocking work: a CPU-bound route inline vs in a WorkerPool, and a fast route beside it",
    summary: "fib(27) per request on /fib under wrk (8 connections), inline and through blocking() on a " +
      "pool of one worker per core; the fast route's p50/p99 meanwhile",
    run: (ctx) => runPool({ rounds: ctx.int("rounds"), seconds: ctx.int("duration"), log: ctx.log }),
  },
  {
    id: "workers",
    title: "Every core: the CLI's workers vs deno serve --parallel vs node cluster",
    summary: "Hello, World! keep-alive c64 req/s under wrk: ours with 1 worker and one per core, " +
      "deno serve --parallel and node's cluster",
    run: (ctx) => runWorkers({ rounds: ctx.int("rounds"), seconds: ctx.int("duration"), log: ctx.log }),
  },
];

const USAGE = [
  "usage: deno task bench [--only ID[,ID...]] [--rounds N] [--list] [--out FILE] [--no-write]",
  "       core section: [--effection-rounds N] [--budget SECONDS]",
  "       hello, transfer, tls, pool, workers: [--duration SECONDS] (each wrk run; default 5)",
  "       websocket: [--duration SECONDS] (the echo's count; default 5)",
  "       longpoll, bus, websocket: [--clients N] (default 10000)",
  `sections: ${SECTIONS.map((s) => s.id).join(", ")}`,
].join("\n");

async function main(args: string[]): Promise<number> {
  const string = { type: "string" } as const;
  const { values } = parseArgs({
    args,
    options: {
      only: string,
      rounds: string,
      "effection-rounds": string,
      budget: string,
      duration: string,
      clients: string,
      out: string,
      "no-write": { type: "boolean" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const s of SECTIONS) console.log(`${s.id.padEnd(8)} ${s.summary}`);
    return 0;
  }
  const ids = values.only?.split(",").map((s) => s.trim()).filter(Boolean) ?? SECTIONS.map((s) => s.id);
  const unknown = ids.filter((id) => !SECTIONS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown section(s): ${unknown.join(", ")}`);
  const flags = values as Record<string, string | undefined>;
  const ctx: Context = {
    int: (name) => (flags[name] === undefined ? undefined : intOption(name, flags[name], 0)),
    log: (line) => console.error(line),
  };
  const fresh = new Map<string, string>();
  let ok = true;
  for (const section of SECTIONS.filter((s) => ids.includes(s.id))) {
    console.error(`bench: section ${section.id}: ${section.summary}`);
    const started = new Date();
    const output = await section.run(ctx);
    ok &&= output.ok;
    const block = sectionBlock(section.id, section.title, [
      output.headline,
      output.body,
      "Machine:",
      await machineMarkdown(started),
    ]);
    fresh.set(section.id, block);
    console.log(block.split("\n").slice(2, -1).join("\n"));
  }
  if (!values["no-write"]) {
    const out = values.out ?? new URL("./RESULTS.md", import.meta.url).pathname;
    await updateResults(out, fresh, SECTIONS.map((s) => s.id));
    console.error(`bench: wrote ${out} (section(s): ${[...fresh.keys()].join(", ")})`);
  }
  if (!ok) console.error("bench: some checks failed (see the results)");
  return ok ? 0 : 1;
}

if (import.meta.main) await runMain("bench", main, USAGE);
