/**
 * The markdown files the bench writes: `bench/RESULTS.md`, which keeps one
 * block per section between `<!-- bench:begin ID -->` and
 * `<!-- bench:end ID -->` (re-running a section replaces its block only; text
 * outside the blocks is kept), and `bench/CONFORMANCE.md`. Both are written
 * as `deno fmt` would format them, so `deno fmt --check` passes on them.
 *
 * @module
 */

const PREAMBLE = `# Benchmark results

Written by \`deno task bench\` (\`bench/run.ts\`). Each section is replaced when its
benchmark is re-run (\`deno task bench --only ID\`); the others are kept as they were.
Ratios between implementations measured in the same run are what count: absolute
figures depend on the machine (described in each section).
`;

/** What a section produces: markdown for its block of RESULTS.md. */
export interface SectionOutput {
  /** A paragraph with the figures that count (the ratios, the targets). */
  headline: string;
  /** The tables and notes that follow the headline. */
  body: string;
  /** False when a check failed (the run still writes the results, then exits 1). */
  ok: boolean;
}

const BLOCK = /<!-- bench:begin ([\w-]+) -->[\s\S]*?<!-- bench:end \1 -->/g;

/** The block of one section, markers included: its heading, then `parts` separated by blank lines. */
export function sectionBlock(id: string, title: string, parts: string[]): string {
  return [`<!-- bench:begin ${id} -->`, `## ${title}`, ...parts, `<!-- bench:end ${id} -->`].join("\n\n");
}

/** The section blocks of an existing RESULTS.md, by id, markers included. */
export function parseBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(BLOCK)) blocks.set(match[1], match[0]);
  return blocks;
}

/**
 * The new RESULTS.md: `old` with each block of `fresh` replaced in place; a
 * block new to the file goes right after the block of the section before it
 * in `order` (or before the first block, or at the end). An empty `old`
 * starts from the preamble.
 */
export function mergeResults(old: string, fresh: Map<string, string>, order: readonly string[]): string {
  let text = old.trim() === "" ? PREAMBLE.trimEnd() + "\n" : old;
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

const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/**
 * `text` formatted as `deno fmt` formats markdown with the project's
 * settings; `text` unchanged (and a warning) if formatting fails.
 */
export async function formatMarkdown(text: string): Promise<string> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--config", CONFIG, "--ext", "md", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    if (out.success) return new TextDecoder().decode(out.stdout);
    console.error(
      `bench: deno fmt failed, writing unformatted markdown: ${new TextDecoder().decode(out.stderr)}`,
    );
  } catch (error) {
    console.error(`bench: deno fmt failed, writing unformatted markdown: ${error}`);
  }
  return text;
}

/**
 * Replaces the blocks of `fresh` in the RESULTS.md at `path` (made if
 * missing; see {@linkcode mergeResults}) and writes it whole, through a
 * temporary file, formatted.
 */
export async function updateResults(path: string, fresh: Map<string, string>, order: readonly string[]) {
  let old = "";
  try {
    old = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.writeTextFile(`${path}.tmp`, await formatMarkdown(mergeResults(old, fresh, order)));
  await Deno.rename(`${path}.tmp`, path);
}
