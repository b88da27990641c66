/** `Sleep(ms)`: pausing on the scheduler's timer heap. */
import assert from "node:assert/strict";
import { Scheduler, Sleep } from "../../core/mod.ts";
import { driveClean, finishClean, harness, settle, start } from "./suite.ts";

Deno.test("Sleep: resumes once the time has passed, not before", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const log: number[] = [];
    if (kind === "sync") {
      h.sched.add(function* () {
        const r = yield* new Sleep(100);
        log.push(h.clock.now());
        assert.equal(r, undefined);
      });
    } else {
      h.sched.add(async function* () {
        const r = yield* new Sleep(100);
        log.push(h.clock.now());
        assert.equal(r, undefined);
      });
    }
    const { done } = await start(h.sched);
    h.clock.advance(99);
    await settle();
    assert.deepEqual(log, [], kind);
    h.clock.advance(1);
    await settle();
    assert.deepEqual(log, [100], kind);
    await finishClean(h, done);
  }
});

Deno.test("Sleep: sleepers wake in deadline order, ties in the order they slept", async () => {
  const h = harness();
  const log: string[] = [];
  for (const [name, ms] of [["a", 30], ["b", 10], ["c", 20], ["d", 10], ["e", 0], ["f", 30]] as const) {
    h.sched.add(function* () {
      yield new Sleep(ms);
      log.push(`${name}@${h.clock.now()}`);
    });
  }
  await driveClean(h);
  assert.deepEqual(log, ["e@0", "b@10", "d@10", "c@20", "a@30", "f@30"]);
});

Deno.test("Sleep: 1 000 sleepers with random durations wake sorted by deadline", async () => {
  const h = harness();
  const woke: number[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 5000;
  for (let i = 0; i < 1000; i++) {
    const ms = rand();
    h.sched.add(function* () {
      yield new Sleep(ms);
      assert.equal(h.clock.now(), ms);
      woke.push(ms);
    });
  }
  await driveClean(h);
  assert.equal(woke.length, 1000);
  assert.deepEqual(woke, woke.toSorted((a, b) => a - b));
  assert.ok(h.clock.maxPending <= 1);
});

Deno.test("Sleep(0) on the system clock lets a host timer queued before it run first", async () => {
  const sched = new Scheduler();
  const log: string[] = [];
  setTimeout(() => log.push("host timer"), 0);
  sched.add(function* () {
    yield new Sleep(0);
    log.push("slept");
  });
  await sched.run();
  assert.deepEqual(log, ["host timer", "slept"]);
});

Deno.test("Sleep: a short real sleep on the system clock ends and leaves no timer", async () => {
  const sched = new Scheduler();
  const task = sched.add(async function* () {
    yield new Sleep(5);
    return "woke";
  });
  await sched.run();
  assert.equal(task.result, "woke");
});

Deno.test("Sleep: a bad duration is a RangeError saying what it got", () => {
  for (const bad of [-1, -0.5, NaN, "5", undefined, null]) {
    assert.throws(
      () => new Sleep(bad as number),
      (e: unknown) =>
        e instanceof RangeError && /Sleep: ms must be a number >= 0/.test(e.message) &&
        e.message.endsWith(`got ${String(bad)}`),
      String(bad),
    );
  }
  assert.equal(new Sleep(0).ms, 0);
  assert.equal(String(new Sleep(15)), "Sleep(15)");
});

Deno.test("Sleep: never cut short by the scheduler's defaultTimeout", async () => {
  const h = harness({ defaultTimeout: 10 });
  const task = h.sched.add(function* () {
    yield new Sleep(1000);
    return h.clock.now();
  });
  await driveClean(h);
  assert.equal(task.result, 1000);
  assert.deepEqual(h.errors, []);
});

Deno.test("Sleep: typed yield* gives void", async () => {
  const h = harness();
  h.sched.add(function* () {
    const v: void = yield* new Sleep(1);
    // @ts-expect-error: Sleep's result is void, not a number
    const n: number = yield* new Sleep(1);
    return [v, n];
  });
  await driveClean(h);
});
