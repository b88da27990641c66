/**
 * The command line, run for real as a child process against small app
 * files, over raw HTTP: what it serves, its workers, their replacement, the
 * signals, and its answers to mistakes.
 */
import assert from "node:assert/strict";
import { Client, HOST } from "../http.ts";
import { alive, appFolder, CORE, fetchText, freePort, RunningCli } from "./run_cli.ts";

/** Answers the worker's pid, `/wait` holds until the server stops (or 20 s). */
const PID_APP = `
import { WaitForSignal } from "${CORE}";
export const app = [
  ["/wait", async function* (_environ, startResponse) {
    try {
      yield new WaitForSignal("never", { timeout: 20000 });
    } catch (error) {
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      yield "woken: " + error.name;
      return;
    }
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "timed out";
  }],
  ["/", (_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [String(Deno.pid)];
  }],
];
`;

/** The pids that answer `n` fresh requests. */
async function pidsAnswering(port: number, n: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < n; i++) pids.add(Number((await fetchText(port)).body));
  return pids;
}

Deno.test("cli: a fetch handler (a function, or an object with fetch); -b HOST:PORT; the supervisor names each worker's pid and address", async () => {
  await using dir = await appFolder({
    "app.ts": PID_APP,
    "fetch.ts": `export default (request) => new Response("fetched " + new URL(request.url).pathname);`,
    "hono_like.ts": `export const api = { fetch: (request) => new Response("object " + request.method) };`,
  });
  for (
    const [spec, path, body] of [
      [`${dir}/fetch.ts`, "/x", "fetched /x"],
      [`${dir}/hono_like.ts:api`, "/", "object GET"],
    ]
  ) {
    const port = freePort();
    const cli = new RunningCli([spec, "-b", `${HOST}:${port}`]);
    try {
      await cli.until(() => cli.announcedPids.length === 1, "the worker to listen");
      assert.match(
        cli.stdout[0],
        new RegExp(`^cogen: worker 1 \\(pid \\d+\\) listening on http://${HOST}:${port}/$`),
      );
      assert.deepEqual(await fetchText(port, path), { status: 200, body });
    } finally {
      assert.equal((await cli.stop()).code, 0, cli.output());
    }
  }
});

Deno.test("cli: two workers answer from two pids on one port; one killed with SIGKILL is replaced", async () => {
  await using dir = await appFolder({ "app.ts": PID_APP });
  const port = freePort();
  const cli = new RunningCli([`${dir}/app.ts`, "--workers", "2", "--bind", `${HOST}:${port}`]);
  try {
    await cli.until(() => cli.announcedPids.length === 2, "two workers to listen");
    const [first, second] = cli.announcedPids;
    assert.notEqual(first, second);
    // Several workers, and reloads that would drop queued connections: the supervisor says how to fix it.
    const migrate = Deno.readTextFileSync("/proc/sys/net/ipv4/tcp_migrate_req").trim();
    assert.equal(
      cli.stderr.some((line) => line.includes("sysctl -w net.ipv4.tcp_migrate_req=1")),
      migrate === "0",
      cli.output(),
    );
    // The kernel spreads connections over the two listeners: both answer within a few hundred requests.
    const pids = new Set<number>();
    for (let i = 0; i < 400 && pids.size < 2; i++) pids.add(Number((await fetchText(port)).body));
    assert.deepEqual([...pids].sort(), [first, second].sort());
    Deno.kill(first, "SIGKILL");
    await cli.until(() => cli.announcedPids.length === 3, "the killed worker's replacement");
    const replacement = cli.announcedPids[2];
    assert.ok(
      cli.stderr.some((line) => line.includes(`worker 1 (pid ${first}) died (signal SIGKILL)`)),
      cli.output(),
    );
    assert.ok(!alive(first));
    const now = await pidsAnswering(port, 50);
    assert.ok(!now.has(first), "the dead worker answers no more");
    assert.ok([...now].every((pid) => pid === second || pid === replacement), [...now].join(","));
  } finally {
    assert.equal((await cli.stop()).code, 0, cli.output());
  }
});

Deno.test("cli: SIGTERM gives a held long poll a complete answer, and exits 0 long before --graceful-timeout", async () => {
  await using dir = await appFolder({ "app.ts": PID_APP });
  const port = freePort();
  const cli = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${port}`, "--graceful-timeout", "20"]);
  try {
    await cli.until(() => cli.announcedPids.length === 1, "the worker to listen");
    const held = await Client.connect(port);
    assert.ok(await held.write(`GET /wait HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(held.received, "", "the poll is held");
    const sent = Date.now();
    cli.signal("SIGTERM");
    const answer = await held.response("GET", 5000);
    assert.equal(answer.status, 200);
    assert.equal(answer.text, "woken: ServerShutdown");
    const status = await cli.exited();
    assert.equal(status.code, 0, cli.output());
    assert.ok(Date.now() - sent < 5000, `it exited ${Date.now() - sent} ms after SIGTERM`);
    assert.ok(!alive(cli.announcedPids[0]), "the worker is gone");
    await held.close();
  } finally {
    await cli.stop();
  }
});

Deno.test("cli: SIGTTIN adds a worker, SIGTTOU removes one", async () => {
  await using dir = await appFolder({ "app.ts": PID_APP });
  const port = freePort();
  const cli = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${port}`]);
  try {
    await cli.until(() => cli.announcedPids.length === 1, "the worker to listen");
    cli.signal("SIGTTIN");
    await cli.until(() => cli.announcedPids.length === 2, "a second worker");
    const [first, second] = cli.announcedPids;
    cli.signal("SIGTTOU");
    await cli.until(() => !alive(second), "the second worker to stop");
    assert.ok(alive(first));
    assert.deepEqual([...await pidsAnswering(port, 20)], [first]);
  } finally {
    assert.equal((await cli.stop()).code, 0, cli.output());
  }
});

Deno.test("cli: --max-requests replaces a worker after that many requests; --access-log writes Combined Log Format", async () => {
  await using dir = await appFolder({ "app.ts": PID_APP });
  const port = freePort();
  const log = `${dir}/access.log`;
  const cli = new RunningCli([
    `${dir}/app.ts`,
    "-b",
    `${HOST}:${port}`,
    "--max-requests",
    "5",
    "--access-log",
    log,
  ]);
  try {
    await cli.until(() => cli.announcedPids.length === 1, "the worker to listen");
    const first = cli.announcedPids[0];
    const answered: number[] = [];
    for (let i = 0; i < 5; i++) answered.push(Number((await fetchText(port, `/n${i}`)).body));
    assert.deepEqual(answered, Array(5).fill(first));
    await cli.until(() => cli.announcedPids.length === 2, "the replacement");
    await cli.until(() => !alive(first), "the first worker to stop");
    assert.equal(Number((await fetchText(port)).body), cli.announcedPids[1]);
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    assert.equal(lines.length, 6);
    assert.match(lines[0], /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/n0 HTTP\/1\.1" 200 \d+ "-" "-"$/);
  } finally {
    assert.equal((await cli.stop()).code, 0, cli.output());
  }
});

Deno.test("cli: an unknown export or a missing file exits 1, naming what was asked for and what the module exports", async () => {
  await using dir = await appFolder({ "app.ts": "export const hello = 1;\nexport const world = 2;\n" });
  const port = freePort();
  let cli = new RunningCli([`${dir}/app.ts:nope`, "-b", `${HOST}:${port}`]);
  assert.equal((await cli.exited()).code, 1);
  assert.ok(
    cli.stderr.some((line) => line.includes(`has no export named "nope"; it exports: hello, world`)),
    cli.output(),
  );
  cli = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${port}`]);
  assert.equal((await cli.exited()).code, 1);
  assert.ok(
    cli.stderr.some((line) => line.includes(`has no export named "app" and no default export`)),
    cli.output(),
  );
  cli = new RunningCli([`${dir}/missing.ts`, "-b", `${HOST}:${port}`]);
  assert.equal((await cli.exited()).code, 1);
  assert.ok(cli.stderr.some((line) => line.includes("missing.ts: no such file")), cli.output());
});

Deno.test("cli: a port in use is one line and exit 1; a bad flag or value is usage and exit 2, naming it", async () => {
  await using dir = await appFolder({ "app.ts": PID_APP });
  const taken = Deno.listen({ hostname: HOST, port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const cli = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${port}`]);
    assert.equal((await cli.exited()).code, 1);
    assert.deepEqual(cli.stderr, [
      `cogen: cannot listen on http://${HOST}:${port}/: the address is in use ` +
      "(another server listens there; choose another port with --bind)",
    ]);
  } finally {
    taken.close();
  }
  const mistakes: [string[], string][] = [
    [["--wokers", "2", "app.ts"], "unknown option --wokers"],
    [["app.ts", "--workers", "many"], `--workers wants an integer >= 1, got "many"`],
    [["app.ts", "--bind", "localhost"], "--bind wants HOST:PORT, [IPv6]:PORT or unix:PATH"],
    [["app.ts", "--graceful-timeout", "soon"], `--graceful-timeout wants a duration`],
    [["--workers", "2"], "APP is missing"],
    [["app.ts", "-w", "2", "-b", "unix:/tmp/x.sock"], "unix: sockets are served by one worker only"],
  ];
  for (const [args, said] of mistakes) {
    const cli = new RunningCli(args, { cwd: dir.path });
    assert.equal((await cli.exited()).code, 2, `${args.join(" ")}: ${cli.output()}`);
    assert.ok(cli.stderr[0].startsWith(`cogen: ${said}`), `${args.join(" ")}: ${cli.output()}`);
    assert.ok(cli.stderr.some((line) => line.startsWith("usage: deno run -A cli.ts APP [options]")));
  }
  const help = new RunningCli(["--help"]);
  assert.equal((await help.exited()).code, 0);
  assert.ok(help.stdout[0].startsWith("usage: deno run -A cli.ts APP [options]"));
});

Deno.test("cli: a worker that keeps dying is replaced after pauses that double, each logged", async () => {
  // Each worker serves, then dies 50 ms after it started.
  await using dir = await appFolder({
    "app.ts":
      `setTimeout(() => Deno.exit(3), 50);\nexport const app = (_e, sr) => { sr("200 OK", []); return ["up"]; };\n`,
  });
  const port = freePort();
  const cli = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${port}`]);
  try {
    await cli.until(
      () => cli.stderr.filter((line) => line.includes("died (exit code 3)")).length >= 3,
      "three deaths",
      20_000,
    );
    const pauses = cli.stderr.flatMap((line) => {
      const match = line.match(/died \(exit code 3\); starting another in (\d+) ms$/);
      return match ? [Number(match[1])] : [];
    });
    assert.deepEqual(pauses.slice(0, 3), [100, 200, 400], cli.output());
  } finally {
    assert.equal((await cli.stop()).code, 0, cli.output());
  }
});

Deno.test("cli: --reload replaces the workers when a source file changes", async () => {
  const version = (n: number) =>
    `export const app = (_e, sr) => { sr("200 OK", [["Content-Type", "text/plain"]]); return ["v${n}"]; };\n`;
  await using dir = await appFolder({ "app.ts": version(1) });
  const port = freePort();
  const cli = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${port}`, "--reload"]);
  try {
    await cli.until(() => cli.announcedPids.length === 1, "the worker to listen");
    assert.equal((await fetchText(port)).body, "v1");
    await Deno.writeTextFile(`${dir}/app.ts`, version(2));
    await cli.until(() => cli.announcedPids.length === 2, "the worker's replacement");
    assert.ok(cli.stderr.some((line) => line.includes("a source file changed")), cli.output());
    const [old] = cli.announcedPids;
    await cli.until(() => !alive(old), "the old worker to stop");
    assert.equal((await fetchText(port)).body, "v2");
  } finally {
    assert.equal((await cli.stop()).code, 0, cli.output());
  }
});
