/**
 * SIGHUP under continuous load fails no request. Linux drops the queue of a
 * `reusePort` listener that closes unless `net.ipv4.tcp_migrate_req` is 1,
 * a setting of the network namespace: the load and the CLI run in a
 * namespace of their own (`unshare -n`, loopback up, the setting on; this
 * needs root, as the project's machines give).
 */
import assert from "node:assert/strict";

const SCRIPT = new URL("./reload_under_load.ts", import.meta.url).pathname;

interface Report {
  workers: number;
  requests: number;
  failures: string[];
  versions: Record<string, number>;
  ok: boolean;
}

/** Runs `reload_under_load.ts` with `workers` in a fresh network namespace with `tcp_migrate_req=1`. */
async function underLoad(workers: number): Promise<Report> {
  const setup = "ip link set lo up && echo 1 > /proc/sys/net/ipv4/tcp_migrate_req";
  const { code, stdout, stderr } = await new Deno.Command("unshare", {
    args: [
      "-n",
      "sh",
      "-c",
      `${setup} && exec "$0" run -A "$1" "$2"`,
      Deno.execPath(),
      SCRIPT,
      String(workers),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `the namespace's run failed (${code}):\n${out}\n${err}`);
  const line = out.trim().split("\n").at(-1)!;
  return JSON.parse(line) as Report;
}

for (const workers of [2, 1]) {
  Deno.test(`cli: SIGHUP three times under continuous load, ${workers} worker(s): no request fails, the new code answers`, async () => {
    const report = await underLoad(workers);
    assert.ok(report.ok, JSON.stringify(report));
    assert.deepEqual(report.failures, [], JSON.stringify(report));
    assert.ok(report.requests > 100, `only ${report.requests} requests were made`);
    assert.ok(
      (report.versions["version 3"] ?? 0) > 0,
      `the last version answered: ${JSON.stringify(report.versions)}`,
    );
    assert.ok(
      (report.versions["version 0"] ?? 0) > 0,
      `the first version answered: ${JSON.stringify(report.versions)}`,
    );
  });
}
