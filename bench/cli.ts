/**
 * What the bench's programs share on the command line: integer options, and
 * a `main` that never leaves a subprocess behind.
 *
 * @module
 */
import { killAll } from "./subprocess.ts";

/** `value` as an integer ≥ `min` (`fallback` when absent); throws naming the option otherwise. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got ${value}`);
  }
  return n;
}

/**
 * Runs `main(Deno.args)` as the program: what it returns is the exit code; an
 * error is printed as `label: message` (then `usage`) and exits 2. Ctrl-C
 * (or SIGTERM) and the end alike kill every subprocess still running.
 */
export async function runMain(
  label: string,
  main: (args: string[]) => Promise<number>,
  usage = "",
): Promise<void> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const interrupted = () => {
    console.error(`${label}: interrupted; killed ${killAll()} subprocess(es)`);
    Deno.exit(130);
  };
  for (const s of signals) Deno.addSignalListener(s, interrupted);
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`${label}: ${error instanceof Error ? error.message : error}${usage ? `\n${usage}` : ""}`);
    Deno.exitCode = 2;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, interrupted);
    killAll();
  }
}
