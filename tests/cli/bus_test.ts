/**
 * `--bus redis://…`: two CLI supervisors, two workers each, on one real
 * Redis. Long polls held by one are woken by a signal sent through the
 * other, which counts them all; a named queue written through one is read,
 * in order by offset, through the other, and a read waiting on one is woken
 * by a publish on the other.
 */
import assert from "node:assert/strict";
import { Client, HOST } from "../http.ts";
import { RedisServer } from "../bus/redis_server.ts";
import { appFolder, CORE, fetchText, freePort, RunningCli } from "./run_cli.ts";

const APP = `
import { PublishSubscribeQueue, Signal, WaitForSignal } from "${CORE}";
const room = new PublishSubscribeQueue({ name: "room" });
const text = (startResponse, body) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return body;
};
export const app = [
  ["/wait", async function* (_environ, startResponse) {
    const value = yield new WaitForSignal("news", { timeout: 20000 });
    yield text(startResponse, String(value));
  }],
  ["/signal", async function* (environ, startResponse) {
    const woken = yield new Signal("news", new URLSearchParams(environ.QUERY_STRING).get("value"));
    yield text(startResponse, String(woken));
  }],
  ["/publish", async function* (environ, startResponse) {
    yield room.publish(new URLSearchParams(environ.QUERY_STRING).get("m"));
    yield text(startResponse, "stored");
  }],
  ["/read", async function* (environ, startResponse) {
    const after = new URLSearchParams(environ.QUERY_STRING).get("after") ?? undefined;
    const got = yield room.read({ after, timeout: 10000 });
    yield text(startResponse, JSON.stringify(got));
  }],
  ["/pid", (_environ, startResponse) => [text(startResponse, String(Deno.pid))]],
];
`;

Deno.test("cli --bus redis: two supervisors × two workers on one Redis — signals and a named queue cross them all", async () => {
  const redis = await RedisServer.start();
  await using dir = await appFolder({ "app.ts": APP });
  const [portA, portB] = [freePort(), freePort()];
  const one = new RunningCli([`${dir}/app.ts`, "-w", "2", "-b", `${HOST}:${portA}`, "--bus", redis.url]);
  const two = new RunningCli([`${dir}/app.ts`, "-w", "2", "-b", `${HOST}:${portB}`, "--bus", redis.url]);
  const held: Client[] = [];
  try {
    await one.until(() => one.announcedPids.length === 2, "the first supervisor's workers");
    await two.until(() => two.announcedPids.length === 2, "the second supervisor's workers");
    // 40 long polls held by the first supervisor's workers.
    for (let i = 0; i < 40; i++) {
      const client = await Client.connect(portA);
      assert.ok(await client.write(`GET /wait HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      held.push(client);
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // all 40 wait
    // One signal through the second supervisor wakes them all, and counts them.
    assert.deepEqual(await fetchText(portB, "/signal?value=hi"), { status: 200, body: "40" });
    for (const client of held) assert.equal((await client.response("GET", 5000)).text, "hi");

    // A read waiting on the second supervisor, woken by a publish through the first.
    const waiting = fetchText(portB, "/read");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await fetchText(portA, "/publish?m=1"), { status: 200, body: "stored" });
    const first = JSON.parse((await waiting).body);
    assert.deepEqual(first.entries.map((e: { message: string }) => e.message), ["1"]);
    // 19 more through the first; read in order, by offset, through the second.
    for (let n = 2; n <= 20; n++) await fetchText(portA, `/publish?m=${n}`);
    const seen = ["1"];
    let after: string = first.entries.at(-1).offset;
    while (seen.length < 20) {
      const next = JSON.parse((await fetchText(portB, `/read?after=${encodeURIComponent(after)}`)).body);
      assert.equal(next.reset, false);
      assert.equal(next.epoch, first.epoch);
      seen.push(...next.entries.map((e: { message: string }) => e.message));
      after = next.entries.at(-1).offset;
    }
    assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => String(i + 1)));
  } finally {
    for (const client of held) await client.close();
    assert.equal((await one.stop()).code, 0, one.output());
    assert.equal((await two.stop()).code, 0, two.output());
    await redis.stop();
  }
});

Deno.test("cli --bus: a malformed URL is a usage error (exit 2); an unreachable Redis fails at start (exit 1), saying what to fix", async () => {
  await using dir = await appFolder({ "app.ts": APP });
  const bad = new RunningCli([`${dir}/app.ts`, "--bus", "redis:/nowhere"]);
  assert.equal((await bad.exited()).code, 2, bad.output());
  assert.match(bad.stderr[0], /^cogen: --bus: the bus URL (has no host|must look like)/);
  const nobody = await RedisServer.start();
  await nobody.stop();
  const away = new RunningCli([`${dir}/app.ts`, "-b", `${HOST}:${freePort()}`, "--bus", nobody.url]);
  assert.equal((await away.exited()).code, 1, away.output());
  assert.ok(
    away.stderr.some((line) =>
      /cannot use the bus at redis:\/\/127\.0\.0\.1:\d+: .*is redis-server running there\?/.test(line)
    ),
    away.output(),
  );
});
