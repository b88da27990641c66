/**
 * Helpers shared by the benchmark sections: subprocesses that are always
 * stopped, a process's CPU time and memory, medians, the machine
 * description, and number formatting.
 *
 * @module
 */

/** What {@linkcode runCommand} and {@linkcode runDeno} return once the subprocess has ended. */
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

/** Options of {@linkcode runCommand} and {@linkcode runDeno}. */
export interface RunDenoOptions {
  /** Kill the subprocess (SIGKILL) after this many ms. */
  timeoutMs: number;
  /** Working directory of the subprocess. */
  cwd?: string;
  /** Variables added to the environment. */
  env?: Record<string, string>;
}

const children = new Set<Deno.ChildProcess>();

/**
 * Spawns `cmd args` with piped stdout and stderr and remembers the child, so
 * that {@linkcode killAll} (and so an interrupt, see
 * {@linkcode stopChildrenOnInterrupt}) stops it while it runs. The caller
 * must consume both pipes.
 */
export function spawnTracked(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Deno.ChildProcess {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
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
 * to the hard limit (`sh -c 'ulimit -n "$(ulimit -Hn)"; exec …'`): 10 000
 * sockets need more than the usual 1024. `exec` keeps the process id, so the
 * child's pid is the command's own.
 */
export function withOpenFiles(cmd: string, args: string[]): [string, string[]] {
  return ["sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", cmd, ...args]];
}

/**
 * Runs `cmd args` in a subprocess, collecting its output. It is killed after
 * `options.timeoutMs`, and {@linkcode killAll} stops it too.
 */
export async function runCommand(
  cmd: string,
  args: string[],
  options: RunDenoOptions,
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

/**
 * Runs `deno` (this very executable, `Deno.execPath()`) with `args` in a
 * fresh subprocess, collecting its output. It is killed after
 * `options.timeoutMs`, and {@linkcode killAll} stops it too.
 */
export function runDeno(args: string[], options: RunDenoOptions): Promise<SubprocessResult> {
  return runCommand(Deno.execPath(), args, options);
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/** Kills (SIGKILL, by pid) every subprocess started here that is still running; returns how many. */
export function killAll(): number {
  const n = children.size;
  for (const child of children) kill(child);
  return n;
}

/**
 * Until the returned function is called, SIGINT and SIGTERM kill every
 * subprocess started here ({@linkcode spawnTracked}, {@linkcode runCommand},
 * {@linkcode runDeno}) and exit with 130.
 */
export function stopChildrenOnInterrupt(): () => void {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const handler = () => {
    const n = killAll();
    console.error(`bench: interrupted; killed ${n} subprocess(es)`);
    Deno.exit(130);
  };
  for (const s of signals) Deno.addSignalListener(s, handler);
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, handler);
  };
}

/**
 * `text` formatted as `deno fmt` formats markdown (with the settings of the
 * `config` file, e.g. the project's deno.json), so that `deno fmt --check`
 * passes on the files we write. Returns `text` unchanged if formatting fails.
 */
export async function formatMarkdown(text: string, config?: string): Promise<string> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["fmt", ...(config ? ["--config", config] : []), "--ext", "md", "-"],
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

/** Ms per clock tick of /proc/PID/stat (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/** CPU ms (user + system) process `pid` has used so far, from /proc/PID/stat; NaN when unreadable. */
export function cpuMs(pid: number | "self"): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return NaN;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * CPU ms all processors have spent busy (not idle nor waiting for I/O) since
 * boot, from /proc/stat; NaN when unreadable. The difference over a run,
 * minus what the processes measured used, is what other processes took.
 */
export function systemBusyMs(): number {
  const line = readText("/proc/stat")?.split("\n", 1)[0];
  if (line === undefined || !line.startsWith("cpu ")) return NaN;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return (total - ticks[3] - ticks[4]) * TICK_MS;
}

/** The resident memory of process `pid` in bytes (`VmRSS` of /proc/PID/status); NaN when unreadable. */
export function rssBytes(pid: number): number {
  const kb = readText(`/proc/${pid}/status`)?.match(/^VmRSS:\s*(\d+)\s*kB/m)?.[1];
  return kb === undefined ? NaN : Number(kb) * 1024;
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `n` with `digits` significant digits, without exponent (`1.23`, `0.0456`, `10.0`, `1234`). */
export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return "—";
  if (Math.abs(n) >= 10 ** digits) return Math.round(n).toString();
  return n.toPrecision(digits);
}

/** An integer with spaces between thousands: `100 000`. */
export function count(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** The machine a benchmark ran on. */
export interface MachineInfo {
  /** Output of `nproc` (or `navigator.hardwareConcurrency`). */
  cpus: string;
  /** The CPU model from /proc/cpuinfo, when readable. */
  cpuModel: string;
  /** Total memory from /proc/meminfo, when readable. */
  memory: string;
  /** OS, architecture and kernel release. */
  os: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** `node --version`, or "not installed". */
  node: string;
}

async function commandOutput(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null", stdin: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** Describes this machine (`nproc`, CPU model, memory, OS, Deno and Node versions). */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = readText("/proc/cpuinfo");
  const model = cpuinfo?.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? "unknown";
  const memKb = Number(readText("/proc/meminfo")?.match(/^MemTotal:\s*(\d+)\s*kB/m)?.[1]);
  return {
    cpus: (await commandOutput("nproc", [])) ?? String(navigator.hardwareConcurrency),
    cpuModel: model,
    memory: Number.isFinite(memKb) ? `${(memKb / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    os: `${Deno.build.os} ${Deno.build.arch}, kernel ${Deno.osRelease()}`,
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    node: (await commandOutput("node", ["--version"])) ?? "not installed",
  };
}

/** A markdown bullet list describing `info` and the date `when`. */
export function machineMarkdown(info: MachineInfo, when: Date): string {
  return [
    `- Date: ${when.toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- CPU: ${info.cpuModel}, \`nproc\` = ${info.cpus}`,
    `- Memory: ${info.memory}`,
    `- OS: ${info.os}`,
    `- Deno: ${info.deno}`,
    `- Node: ${info.node}`,
  ].join("\n");
}
