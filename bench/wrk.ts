/**
 * Runs `wrk` (https://github.com/wg/wrk) with `bench/wrk/bench.lua` and reads
 * its figures: the script prints the totals, the latency percentiles and the
 * CPU time wrk itself used (to tell when the load generator, not the server,
 * is the limit) as one line of JSON.
 *
 * @module
 */
import { TICK_MS } from "./machine.ts";
import { runCommand } from "./subprocess.ts";

/** What one wrk run measured. */
export interface WrkResult {
  /** Responses wrk parsed completely. */
  requests: number;
  /** Seconds the run lasted. */
  seconds: number;
  /** `requests / seconds`. */
  reqPerSec: number;
  /** Latency percentiles in ms (per batch when pipelining: wrk times a request() call). */
  latencyMs: { p50: number; p99: number };
  /** Socket errors and responses with status ≥ 400 (`status`), and non-2xx/3xx responses. */
  errors: {
    connect: number;
    read: number;
    write: number;
    timeout: number;
    status: number;
    non2xx3xx: number;
  };
  /** CPU ms (user + system) wrk used. */
  cpuMs: number;
}

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  /** Open connections (`-c`). */
  connections: number;
  /** Seconds (`-d`). */
  seconds: number;
  /** What each request is: a plain GET, `depth` pipelined GETs, or a POST of `size` bytes. */
  mode: { kind: "get" } | { kind: "pipeline"; depth: number } | { kind: "upload"; size: number };
  /** Header lines every request carries (`-H`), such as `Connection: close`. */
  headers?: string[];
}

const SCRIPT = new URL("./wrk/bench.lua", import.meta.url).pathname;

/** How to get wrk, for the error when it is missing. */
export const WRK_MISSING: string = "wrk is not installed (or not on PATH): the HTTP sections need it. " +
  "Install it with `apt-get install wrk` (Debian/Ubuntu), `brew install wrk` (macOS), " +
  "or build it from https://github.com/wg/wrk; the bench installs nothing itself.";

/** wrk's version line, or `null` when wrk cannot be run. */
export async function wrkVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("wrk", { args: ["--version"], stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return /^wrk \S+/m.exec(text)?.[0] ?? "wrk (unknown version)";
  } catch {
    return null;
  }
}

/**
 * Runs wrk against `url` and returns its figures. Throws (with wrk's output)
 * when wrk fails or prints no figures.
 */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const mode = options.mode;
  const scriptArgs = mode.kind === "get"
    ? ["get"]
    : mode.kind === "pipeline"
    ? ["pipeline", String(mode.depth)]
    : ["upload", String(mode.size)];
  const args = [
    "-t1", // one thread: the other core is the server's
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "10s",
    ...(options.headers ?? []).flatMap((line) => ["-H", line]),
    "-s",
    SCRIPT,
    url,
    "--",
    ...scriptArgs,
  ];
  const out = await runCommand("wrk", args, { timeoutMs: (options.seconds + 30) * 1000 });
  const line = /^WRK_JSON (.*)$/m.exec(out.stdout)?.[1];
  if (out.code !== 0 || line === undefined) {
    const why = out.timedOut ? "killed: over its time limit" : `exit code ${out.code}`;
    const text = (out.stderr + out.stdout).trim().split("\n").slice(-5).join(" | ");
    throw new Error(`wrk ${args.join(" ")}: ${why}${text ? `: ${text}` : ""}`);
  }
  const raw = JSON.parse(line) as {
    requests: number;
    durationUs: number;
    errors: { connect: number; read: number; write: number; status: number; timeout: number };
    latencyUs: { p50: number; p99: number };
    cpuTicks: number;
  };
  const seconds = raw.durationUs / 1e6;
  return {
    requests: raw.requests,
    seconds,
    reqPerSec: raw.requests / seconds,
    latencyMs: { p50: raw.latencyUs.p50 / 1000, p99: raw.latencyUs.p99 / 1000 },
    errors: {
      ...raw.errors,
      non2xx3xx: Number(/^\s*Non-2xx or 3xx responses:\s*(\d+)/m.exec(out.stdout)?.[1] ?? 0),
    },
    cpuMs: raw.cpuTicks < 0 ? NaN : raw.cpuTicks * TICK_MS,
  };
}

/** A short description of what went wrong in a run (socket errors, bad statuses), or `null`. */
export function wrkProblem(r: WrkResult): string | null {
  const e = r.errors;
  const parts = [
    e.connect && `${e.connect} connect errors`,
    e.read && `${e.read} read errors`,
    e.write && `${e.write} write errors`,
    e.timeout && `${e.timeout} timeouts`,
    e.non2xx3xx && `${e.non2xx3xx} non-2xx/3xx responses`,
    r.requests === 0 && "no responses",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(", ") : null;
}
