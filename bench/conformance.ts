/**
 * HTTP/1.1 conformance, side by side: the same raw requests, valid and
 * malformed (`bench/conformance/cases.ts`), sent to three servers on
 * 127.0.0.1 — ours, `Deno.serve` and `node:http` (`bench/conformance/servers.ts`)
 * — each over a fresh TCP connection (`bench/conformance/probe.ts`), and
 * each server compared with what RFC 9112 / RFC 9110 allow.
 *
 * ```sh
 * deno run -A bench/conformance.ts            # prints the table, writes bench/CONFORMANCE.md
 * deno run -A bench/conformance.ts --no-write # prints only
 * ```
 *
 * @module
 */
import { runMain } from "./cli.ts";
import { CASES, expectation } from "./conformance/cases.ts";
import { describe, deviation, IDLE, type Outcome, probe, TIMEOUT } from "./conformance/probe.ts";
import { type Running, startServers } from "./conformance/servers.ts";
import { formatMarkdown } from "./results.ts";

const cell = (s: string) => s.replaceAll("|", "\\|");

/** Every case sent to every server at once; the servers are stopped afterwards, whatever happened. */
async function probeAll(servers: Running[]): Promise<Outcome[][]> {
  try {
    return await Promise.all(
      CASES.map((c) =>
        Promise.all(servers.map((s) =>
          probe(s.port, c).catch((error): Outcome => {
            console.error(`${s.name}, ${c.what}: ${error}`);
            return { statuses: [], closed: true, reset: true, timeout: false };
          })
        ))
      ),
    );
  } finally {
    const stopped = await Promise.race([
      Promise.allSettled(servers.map((s) => s.stop())).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    if (!stopped) console.error("conformance: a server did not stop within 5 s");
  }
}

async function main(args: string[]): Promise<number> {
  const servers = await startServers();
  const results = await probeAll(servers);
  const deviations = new Map<string, string[]>(servers.map((s) => [s.name, []]));
  const rows = CASES.map((c, i) => {
    const cells = results[i].map((o, j) => {
      const why = deviation(c, o);
      if (why !== null) deviations.get(servers[j].name)!.push(`#${i + 1} ${c.what}: ${why}`);
      return why === null ? describe(o) : `**${describe(o)} ✗**`;
    });
    return `| ${i + 1} | ${c.group} | ${cell(c.what)}<br>\`${cell(c.show)}\` | ${cells.join(" | ")} | ${
      cell(expectation(c))
    } |`;
  });
  const counts = servers.map((s) => `${s.name} ${deviations.get(s.name)!.length}`).join(", ");
  const md = [
    "# HTTP/1.1 conformance: ours vs Deno.serve vs node:http",
    "",
    `Written by \`deno run -A bench/conformance.ts\` on ${new Date().toISOString().slice(0, 10)}, Deno ` +
    `${Deno.version.deno} (V8 ${Deno.version.v8}, ${Deno.build.os}/${Deno.build.arch}). The same ` +
    `${CASES.length} raw requests go to each server over a fresh TCP connection on 127.0.0.1: ours (\`serve\` ` +
    "with `examples/echo.ts`), `Deno.serve` and `node:http` (run under Deno) with equivalent echo handlers, " +
    "all with default options.",
    "",
    `A cell gives the statuses received in order (interim ones too), then whether the server closed the ` +
    `connection (\`closed\`; \`reset\` when it was a TCP reset), kept it \`open\` (${IDLE} ms after the last ` +
    `response), or \`timeout\` (no response in ${TIMEOUT} ms). **✗** marks a deviation from the expectation ` +
    '(section numbers are RFC 9112\'s unless another RFC is named; "closed"/"open" in it is a requirement on ' +
    "the connection).",
    "",
    `Deviations: ${counts}.`,
    "",
    "| # | group | request | ours | Deno.serve | node:http | RFC expectation |",
    "| - | ----- | ------- | ---- | ---------- | --------- | --------------- |",
    ...rows,
    "",
    "## Deviations",
    "",
    ...servers.flatMap((s) => {
      const list = deviations.get(s.name)!;
      return [
        `### ${s.name} (${list.length})`,
        "",
        ...(list.length === 0 ? ["None."] : list.map((d) => `- ${d}`)),
        "",
      ];
    }),
  ].join("\n");
  const formatted = await formatMarkdown(md);
  console.log(formatted);
  if (!args.includes("--no-write")) {
    const out = new URL("./CONFORMANCE.md", import.meta.url).pathname;
    await Deno.writeTextFile(out, formatted);
    console.error(`conformance: wrote ${out}`);
  }
  return 0;
}

if (import.meta.main) {
  await runMain("conformance", main);
  // Anything left (a client read, a server's timer) must not keep the process alive.
  Deno.exit();
}
