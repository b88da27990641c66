/**
 * What the machine says: the CPU time and memory of a process and how busy
 * the whole machine was (from /proc), and its description for the results.
 *
 * @module
 */

/** Ms per clock tick of /proc/PID/stat (USER_HZ, 100 on Linux). */
export const TICK_MS = 10;

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** CPU ms (user + system) process `pid` has used so far, from /proc/PID/stat; NaN when unreadable. */
export function cpuMs(pid: number | "self"): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return NaN;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * CPU ms process `pid` and all its live descendants have used (a server's
 * worker processes included): {@linkcode cpuMs} summed over the process
 * tree, found through the parent pids of /proc/PID/stat.
 */
export function treeCpuMs(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readText(`/proc/${entry.name}/stat`);
    if (stat === null) continue;
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(parent) ?? [];
    list.push(Number(entry.name));
    children.set(parent, list);
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const next = stack.pop()!;
    const ms = cpuMs(next);
    if (Number.isFinite(ms)) total += ms;
    stack.push(...(children.get(next) ?? []));
  }
  return total;
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

async function commandOutput(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null", stdin: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/**
 * A markdown list describing this machine (`nproc`, CPU model, memory, OS,
 * Deno and Node versions) and the date `when`.
 */
export async function machineMarkdown(when: Date): Promise<string> {
  const model = readText("/proc/cpuinfo")?.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? "unknown";
  const memKb = Number(readText("/proc/meminfo")?.match(/^MemTotal:\s*(\d+)\s*kB/m)?.[1]);
  const cpus = (await commandOutput("nproc", [])) ?? String(navigator.hardwareConcurrency);
  return [
    `- Date: ${when.toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- CPU: ${model}, \`nproc\` = ${cpus}`,
    `- Memory: ${Number.isFinite(memKb) ? `${(memKb / 1024 / 1024).toFixed(1)} GiB` : "unknown"}`,
    `- OS: ${Deno.build.os} ${Deno.build.arch}, kernel ${Deno.osRelease()}`,
    `- Deno: ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    `- Node: ${(await commandOutput("node", ["--version"])) ?? "not installed"}`,
  ].join("\n");
}
