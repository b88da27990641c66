/**
 * The command line: run any app module the way gunicorn and uvicorn users
 * expect, in worker processes that share the port.
 *
 * ```sh
 * deno run -A cli.ts examples/demo.ts                # http://127.0.0.1:8000/
 * deno run -A cli.ts examples/hello.ts:hello -w auto -b 0.0.0.0:8080
 * ```
 *
 * `APP` is `path/to/app.ts[:export]` (default export name `app`, else the
 * default export): an `App`, a list of `[prefix, app]` routes, or a fetch
 * handler. A supervisor process starts `--workers` workers, each a full
 * server listening with `reusePort`, restarts one that dies, and handles
 * signals as gunicorn does: TERM and INT drain every worker within
 * `--graceful-timeout` and exit 0, HUP replaces the workers one by one with
 * the code on disk, TTIN and TTOU add or remove a worker. `--help` lists
 * every option. Exit codes: 0 after a graceful stop, 1 when the workers
 * cannot start (the app does not load, the port is in use), 2 for a mistake
 * on the command line.
 *
 * @module
 */
import { WORKER_ENV, type WorkerSettings } from "./cli/control.ts";
import { parseCli, USAGE } from "./cli/options.ts";
import { Supervisor } from "./cli/supervisor.ts";
import { UsageError } from "./cli/usage_error.ts";
import { runWorker } from "./cli/worker.ts";

export type { Bind } from "./cli/bind.ts";
export type { CliOptions } from "./cli/options.ts";
export { parseCli, UsageError };

/**
 * Runs the command line `args`: the supervisor, or (with `COGEN_WORKER` in
 * the environment, as the supervisor starts them) a worker. Resolves with
 * the exit code.
 *
 * @example
 * ```ts
 * import { main } from "@cogen/cogen/cli";
 * await main(["--help"]); // 0, after printing the usage
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const worker = Deno.env.get(WORKER_ENV);
  if (worker !== undefined) {
    await runWorker(JSON.parse(worker) as WorkerSettings);
    return 0;
  }
  let options;
  try {
    options = parseCli(args, Deno.env.toObject(), navigator.hardwareConcurrency);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message === "") {
      console.log(USAGE);
      return 0;
    }
    console.error(`cogen: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  return await new Supervisor(options, new URL(import.meta.url)).run();
}

if (import.meta.main) {
  const code = await main(Deno.args);
  // A worker keeps serving: it exits on its own when told to stop.
  if (Deno.env.get(WORKER_ENV) === undefined) Deno.exit(code);
}
