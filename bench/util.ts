/**
 * Helpers shared by the benchmark sections: subprocesses that are always
 * stopped, medians, the machine description, and number formatting.
 *
 * @module
 */

/** What {@linkcode runDeno} returns once the subprocess has ended. */
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

/** Options of {@linkcode runDeno}. */
export interface RunDenoOptions {
  /** Kill the subprocess (SIGKILL) after this many ms. */
  timeoutMs: number;
  /** Working directory of the subprocess. */
  cwd?: string;
}

const children = new Set<Deno.ChildProcess>();

/**
 * Runs `deno` (this very executable, `Deno.execPath()`) with `args` in a
 * fresh subprocess, collecting its output. It is killed after
 * `options.timeoutMs`, and {@linkcode killAll} stops it too.
 */
export async function runDeno(args: string[], options: RunDenoOptions): Promise<SubprocessResult> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  children.add(child);
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
    children.delete(child);
  }
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/** Kills every subprocess started by {@linkcode runDeno} that is still running; returns how many. */
export function killAll(): number {
  const n = children.size;
  for (const child of children) kill(child);
  return n;
}

/**
 * Until the returned function is called, SIGINT and SIGTERM kill every
 * subprocess started by {@linkcode runDeno} and exit with 130.
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
