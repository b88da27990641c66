/**
 * Run by `reload_test.ts` inside a network namespace of its own (where
 * `net.ipv4.tcp_migrate_req` is 1): the CLI serves an app file with
 * `--workers` N while four client loops make requests on fresh connections,
 * and SIGHUP replaces the workers three times, each time with a new version
 * of the file on disk. Prints one line of JSON: the requests made, those
 * that failed (and how), and the versions that answered.
 *
 * ```sh
 * deno run -A tests/cli/reload_under_load.ts WORKERS
 * ```
 *
 * @module
 */
import { HOST } from "../http.ts";
import { appFolder, fetchText, freePort, RunningCli } from "./run_cli.ts";

const workers = Number(Deno.args[0] ?? 2);
const RELOADS = 3;
const LOOPS = 4;

const version = (n: number) => `
export const app = (_environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["version ${n}"];
};
`;

await using dir = await appFolder({ "app.ts": version(0) });
const port = freePort();
const cli = new RunningCli([`${dir}/app.ts`, "-w", String(workers), "-b", `${HOST}:${port}`]);
const report = {
  workers,
  requests: 0,
  failures: [] as string[],
  versions: {} as Record<string, number>,
  ok: false,
};
try {
  await cli.until(() => cli.announcedPids.length === workers, "the workers to listen");
  let loading = true;
  const loop = async () => {
    while (loading) {
      report.requests++;
      try {
        const { status, body } = await fetchText(port);
        if (status !== 200) report.failures.push(`status ${status}`);
        else report.versions[body] = (report.versions[body] ?? 0) + 1;
      } catch (error) {
        report.failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (let n = 1; n <= RELOADS; n++) {
    await Deno.writeTextFile(`${dir}/app.ts`, version(n));
    const announced = cli.announcedPids.length;
    cli.signal("SIGHUP");
    await cli.until(() => cli.announcedPids.length === announced + workers, `reload ${n}`);
    // The workers replaced drain and exit; load goes on meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  loading = false;
  await Promise.all(loops);
  report.ok = true;
} finally {
  const status = await cli.stop();
  if (status.code !== 0) report.failures.push(`the CLI exited ${status.code}: ${cli.output()}`);
  console.log(JSON.stringify(report));
}
