/**
 * The entry point of `deno task bench`: runs the benchmark sections and
 * writes `bench/RESULTS.md`.
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
 * the date). `RESULTS.md` keeps one block per section between
 * `<!-- bench:begin ID -->` and `<!-- bench:end ID -->` markers: re-running
 * a section replaces its block only, and blocks of sections not run are kept
 * as they were. To add a section (HTTP against `Deno.serve` and `node:http`
 * under wrk, say), append a {@linkcode Section} to {@linkcode SECTIONS}.
 *
 * The HTTP sections (`hello`, `transfer`: `bench/http.ts`; `longpoll`:
 * `bench/longpoll.ts`) start every server and load generator in its own
 * subprocess and stop them all (by pid) when done, on error, and on Ctrl-C.
 * `--duration SECONDS` sets the length of each wrk run (default 5),
 * `--clients N` the long-polling clients (default 10 000).
 *
 * The `core` section imports `bench/core.ts` and calls `runCore`, which runs
 * every measurement in its own fresh subprocess, so this process only
 * orchestrates (no heap of its own is measured).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { positiveInt, runCore } from "./core.ts";
import { runHello, runTransfer } from "./http.ts";
import { runLongpoll } from "./longpoll.ts";
import { formatMarkdown, killAll, machineInfo, machineMarkdown } from "./util.ts";

/** What a section is given when it runs. */
export interface SectionContext {
  /** `--rounds N`, when given. */
  rounds?: number;
  /** Every command-line option, for section-specific ones (`--effection-rounds`, `--budget`). */
  flags: Record<string, string | boolean | undefined>;
  /** Progress output (stderr). */
  log: (line: string) => void;
}

/** What a section produces: markdown for its block of RESULTS.md. */
export interface SectionOutput {
  /** A paragraph with the figures that count (the ratios). */
  headline: string;
  /** The tables and notes that follow the headline. */
  body: string;
  /** False when a check failed (the run still writes the results, then exits 1). */
  ok: boolean;
}

/** A benchmark section of `deno task bench`. */
export interface Section {
  /** The id used by `--only` and in the RESULTS.md markers. */
  id: string;
  /** The heading of its block in RESULTS.md. */
  title: string;
  /** One line for `--list`. */
  summary: string;
  /** Runs the benchmark. */
  run(ctx: SectionContext): Promise<SectionOutput>;
}

function flagInt(ctx: SectionContext, name: string): number | undefined {
  const value = ctx.flags[name];
  return typeof value === "string" ? positiveInt(name, value, 0) : undefined;
}

/** The sections, in the order they run and appear in RESULTS.md. */
export const SECTIONS: Section[] = [
  {
    id: "core",
    title: "Core scheduler: ours vs plain async/await vs Effection 4.1.1",
    summary:
      "100 000 sleeping tasks (spawn time, heap per task), queue ping-pong, one signal to 10 000 waiters",
    async run(ctx) {
      const results = await runCore({
        rounds: ctx.rounds,
        effectionRounds: flagInt(ctx, "effection-rounds"),
        budgetSeconds: flagInt(ctx, "budget"),
        log: ctx.log,
      });
      const ok = Object.values(results.reports).flat().every((r) => r.ok);
      return { headline: results.headline, body: `${results.table}\n\n${results.details}`, ok };
    },
  },
  {
    id: "hello",
    title: "HTTP hello: ours vs Deno.serve vs node:http",
    summary: "Hello, World! under wrk: keep-alive c64 req/s, 16 pipelined req/s, c1 p50/p99 latency",
    run: (ctx) => runHello({ rounds: ctx.rounds, seconds: flagInt(ctx, "duration"), log: ctx.log }),
  },
  {
    id: "transfer",
    title: "HTTP transfer: 64 KiB responses and 1 MiB uploads, ours vs Deno.serve vs node:http",
    summary: "GET /64k MiB/s and POST /upload (1 MiB, read whole) MiB/s under wrk",
    run: (ctx) => runTransfer({ rounds: ctx.rounds, seconds: flagInt(ctx, "duration"), log: ctx.log }),
  },
  {
    id: "longpoll",
    title: "Long polling: 10 000 held clients, ours vs Deno.serve vs node:http",
    summary:
      "10 000 clients holding GET /wait: server RSS per held client, time for one signal to answer all",
    run: (ctx) => runLongpoll({ rounds: ctx.rounds, clients: flagInt(ctx, "clients"), log: ctx.log }),
  },
];

const PREAMBLE = `# Benchmark results

Written by \`deno task bench\` (\`bench/run.ts\`). Each section is replaced when its
benchmark is re-run (\`deno task bench --only ID\`); the others are kept as they were.
Ratios between implementations measured in the same run are what count: absolute
figures depend on the machine (described in each section).
`;

const BEGIN = (id: string) => `<!-- bench:begin ${id} -->`;
const END = (id: string) => `<!-- bench:end ${id} -->`;
const BLOCK = /<!-- bench:begin ([\w-]+) -->[\s\S]*?<!-- bench:end \1 -->/g;

/** The section blocks of an existing RESULTS.md, by id, markers included. */
export function parseBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(BLOCK)) blocks.set(match[1], match[0]);
  return blocks;
}

/**
 * The new RESULTS.md: `old` with each block given in `fresh` replaced in
 * place; a block new to the file goes right after the block of the section
 * before it in {@linkcode SECTIONS} order (or before the first block, or at
 * the end). Text outside the blocks (the preamble, notes kept by hand) stays
 * as it was; an empty `old` starts from the preamble.
 */
export function mergeResults(old: string, fresh: Map<string, string>): string {
  let text = old.trim() === "" ? PREAMBLE.trimEnd() + "\n" : old;
  const order = SECTIONS.map((s) => s.id);
  for (const [id, block] of fresh) {
    const present = parseBlocks(text);
    const existing = present.get(id);
    if (existing !== undefined) {
      text = text.replace(existing, () => block.trim());
      continue;
    }
    const before = order.slice(0, Math.max(0, order.indexOf(id))).reverse().find((s) => present.has(s));
    if (before !== undefined) {
      const at = text.indexOf(present.get(before)!) + present.get(before)!.length;
      text = `${text.slice(0, at)}\n\n${block.trim()}${text.slice(at)}`;
    } else if (present.size > 0) {
      const at = Math.min(...[...present.values()].map((b) => text.indexOf(b)));
      text = `${text.slice(0, at)}${block.trim()}\n\n${text.slice(at)}`;
    } else {
      text = `${text.trimEnd()}\n\n${block.trim()}\n`;
    }
  }
  return text.trimEnd() + "\n";
}

/** The block of one section for RESULTS.md, markers included. */
export function sectionBlock(section: Section, output: SectionOutput, machine: string): string {
  return [
    BEGIN(section.id),
    "",
    `## ${section.title}`,
    "",
    output.headline,
    "",
    output.body,
    "",
    "Machine:",
    "",
    machine,
    "",
    END(section.id),
  ].join("\n");
}

function usage(): string {
  return [
    "usage: deno task bench [--only ID[,ID...]] [--rounds N] [--list] [--out FILE] [--no-write]",
    "       core section: [--effection-rounds N] [--budget SECONDS]",
    "       hello, transfer: [--duration SECONDS] (each wrk run; default 5)",
    "       longpoll: [--clients N] (default 10000)",
    `sections: ${SECTIONS.map((s) => s.id).join(", ")}`,
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string" },
      rounds: { type: "string" },
      "effection-rounds": { type: "string" },
      budget: { type: "string" },
      duration: { type: "string" },
      clients: { type: "string" },
      out: { type: "string" },
      "no-write": { type: "boolean" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  if (values.list) {
    for (const s of SECTIONS) console.log(`${s.id.padEnd(8)} ${s.summary}`);
    return 0;
  }
  let selected = SECTIONS;
  if (values.only !== undefined) {
    const ids = values.only.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = ids.filter((id) => !SECTIONS.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`unknown section(s): ${unknown.join(", ")}`);
    selected = SECTIONS.filter((s) => ids.includes(s.id));
  }
  const ctx: SectionContext = {
    rounds: values.rounds === undefined ? undefined : positiveInt("rounds", values.rounds, 3),
    flags: values,
    log: (line) => console.error(line),
  };
  const outPath = values.out ?? new URL("./RESULTS.md", import.meta.url).pathname;
  const machine = await machineInfo();
  const fresh = new Map<string, string>();
  let ok = true;
  for (const section of selected) {
    console.error(`bench: section ${section.id}: ${section.summary}`);
    const started = new Date();
    const output = await section.run(ctx);
    ok &&= output.ok;
    const block = sectionBlock(section, output, machineMarkdown(machine, started));
    fresh.set(section.id, block);
    console.log(block.split("\n").slice(2, -1).join("\n"));
  }
  if (!values["no-write"]) {
    let old = "";
    try {
      old = await Deno.readTextFile(outPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const tmp = `${outPath}.tmp`;
    const config = new URL("../deno.json", import.meta.url).pathname;
    await Deno.writeTextFile(tmp, await formatMarkdown(mergeResults(old, fresh), config));
    await Deno.rename(tmp, outPath);
    console.error(`bench: wrote ${outPath} (section(s): ${[...fresh.keys()].join(", ")})`);
  }
  if (!ok) console.error("bench: some checks failed (see the results)");
  return ok ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : error}\n${usage()}`);
    Deno.exitCode = 2;
  } finally {
    killAll();
  }
}
