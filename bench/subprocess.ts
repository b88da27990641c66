/**
 * Subprocesses that are always stopped: every one started here is
 * remembered until it exits, so that {@linkcode killAll} (run by
 * `bench/cli.ts` when a program ends, and on Ctrl-C) can stop it by pid.
 *
 * @module
 */

/** What {@linkcode runCommand} returns once the subprocess has ended. */
export interface SubprocessResult {
  /** The exit code (137 or similar when it was killed). */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
  /** Wall-clock ms from spawn to exit. */
  ms: number;
  /** Whether it was killed for running longer than its time limit. */
  timedOut: boolean;
}

/** How a subprocess runs. */
export interface SpawnOptions {
  /** Variables added to the environment. */
  env?: Record<string, string>;
}

/** The repository's root: every subprocess runs there, so paths in its command line are relative to it. */
const ROOT = new URL("..", import.meta.url).pathname;

const children = new Set<Deno.ChildProcess>();

/**
 * Spawns `cmd args` in the repository's root with piped stdout and stderr
 * and remembers the child until it exits. The caller must consume both pipes.
 */
export function spawnTracked(cmd: string, args: string[], options: SpawnOptions = {}): Deno.ChildProcess {
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

/**
 * `[cmd, args]` that run `cmd args` with the soft limit of open files raised
 * to the hard limit: 10 000 sockets need more than the usual 1024. `exec`
 * keeps the process id, so the child's pid is the command's own.
 */
export function withOpenFiles(cmd: string, args: string[]): [string, string[]] {
  return ["sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", cmd, ...args]];
}

/** Runs `cmd args` to its end, collecting its output; it is killed after `timeoutMs`. */
export async function runCommand(
  cmd: string,
  args: string[],
  options: SpawnOptions & { timeoutMs: number },
): Promise<SubprocessResult> {
  const start = performance.now();
  const child = spawnTracked(cmd, args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child);
  }, options.timeoutMs);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      ms: performance.now() - start,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The last line a subprocess printed on stdout, parsed as JSON; throws with the end of its stderr when there is none. */
export function jsonReport<T>(out: SubprocessResult, what: string): T {
  const line = out.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    const why = out.timedOut ? "killed: over its time limit" : `exit code ${out.code}`;
    const tail = out.stderr.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${what} printed no report (${why})${tail ? `: ${tail}` : ""}`);
  }
}

/** Sends `signal` to `child`; nothing when it has exited already. */
export function signalChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

function kill(child: Deno.ChildProcess): void {
  signalChild(child, "SIGKILL");
}

/**
 * Stops `child`: SIGTERM, then SIGKILL if it still runs after `graceMs`;
 * resolves with its status (at once when it has exited already).
 */
export async function stopChild(child: Deno.ChildProcess, graceMs: number): Promise<Deno.CommandStatus> {
  signalChild(child, "SIGTERM");
  const timer = setTimeout(() => kill(child), graceMs);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills (SIGKILL, by pid) every subprocess started here that is still running; returns how many. */
export function killAll(): number {
  const n = children.size;
  for (const child of children) kill(child);
  return n;
}

/** An npm package the Node servers need, and where to find it once installed. */
export interface NodePackage {
  /** What `npm install` is given: `ws@8.23.0`. */
  spec: string;
  /** Its folder in the cache: `ws-8.23.0`. */
  folder: string;
  /** The file to import, under `node_modules`: `ws/wrapper.mjs`. */
  entry: string;
}

/**
 * `pkg` for Node, installed once with npm into `~/.cache/cogen-bench/`
 * (`$XDG_CACHE_HOME` if set): the path of its entry file, or why it could
 * not be installed.
 */
export async function nodePackage(
  pkg: NodePackage,
  log: (line: string) => void,
): Promise<string | { error: string }> {
  const home = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  const prefix = `${home}/cogen-bench/${pkg.folder}`;
  const entry = `${prefix}/node_modules/${pkg.entry}`;
  try {
    await Deno.stat(entry);
    return entry;
  } catch {
    // Not installed yet.
  }
  log(`installing ${pkg.spec} for Node into ${prefix}`);
  const out = await runCommand("npm", [
    "install",
    "--silent",
    "--no-audit",
    "--no-fund",
    "--prefix",
    prefix,
    pkg.spec,
  ], {
    timeoutMs: 120_000,
  });
  return out.code === 0
    ? entry
    : { error: out.stderr.trim().split("\n").slice(-2).join(" | ") || `npm exit ${out.code}` };
}
