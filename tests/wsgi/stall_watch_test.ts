/** `StallWatch`: one coarse timer bounds how long any wait of a server's connections may make no progress. */
import assert from "node:assert/strict";
import { Sleep } from "../../core/mod.ts";
import { StallWatch } from "../../wsgi/stall_watch.ts";
import { finishClean, harness, settle, start } from "../core/suite.ts";

/** A wait whose progress the test sets, and the times it was reported. */
class Wait {
  stallTimeout = 0;
  stallMark = 0;
  watchSlot = -1;
  seenMark = 0;
  seenChecks = 0;
  stalledAt: number[] = [];
  constructor(readonly now: () => number) {}
  /** A wait of `timeout` ms begins, or makes progress. */
  progress(timeout = 400): void {
    this.stallTimeout = timeout;
    this.stallMark++;
  }
  /** Nothing is waited for any more. */
  done(): void {
    this.stallTimeout = 0;
  }
  stalled(): void {
    this.stalledAt.push(this.now());
  }
}

/** A watch in a scheduler kept running by a long sleeper, with a clock moved 1 ms at a time. */
async function setup(shortestTimeout = 400) {
  const h = harness();
  const watch = new StallWatch(h.sched, shortestTimeout);
  h.sched.add(function* () {
    yield new Sleep(100_000);
  });
  const { done } = await start(h.sched);
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      h.clock.advance(1);
      await settle();
    }
  };
  const wait = () => new Wait(() => h.clock.now());
  return { watch, wait, advance, finish: () => finishClean(h, done) };
}

Deno.test("StallWatch: looks every quarter of a short timeout, every second of a long one", () => {
  const h = harness();
  assert.equal(new StallWatch(h.sched, 400).period, 100);
  assert.equal(new StallWatch(h.sched, 60_000).period, 1000);
  assert.equal(new StallWatch(h.sched, 2500).period, 2500 / 4);
  assert.throws(() => new StallWatch(h.sched, 0), /StallWatch: shortestTimeout must be > 0 ms, got 0/);
});

Deno.test("StallWatch: a wait without progress is reported at its timeout, within a period more, once", async () => {
  const { watch, wait, advance, finish } = await setup();
  const w = wait();
  w.progress();
  watch.add(w);
  await advance(399);
  assert.deepEqual(w.stalledAt, [], "not before the timeout");
  await advance(1);
  assert.deepEqual(w.stalledAt, [400]);
  await advance(1000);
  assert.deepEqual(w.stalledAt, [400], "once, though the wait goes on");
  w.progress(); // a new wait, just after a check: seen at the next one, reported 400 ms after that
  await advance(500);
  assert.deepEqual(w.stalledAt, [400, 1900]);
  await finish();
});

Deno.test("StallWatch: a timeout that is not a whole number of periods is never reported early", async () => {
  const { watch, wait, advance, finish } = await setup(3000); // a check every 750 ms
  const w = wait();
  watch.add(w);
  await advance(749);
  w.progress(5000); // a 5 s wait begins just before the check at 750
  await advance(5000);
  assert.deepEqual(w.stalledAt, [], "not before 5 s");
  await advance(1000);
  assert.equal(w.stalledAt.length, 1);
  assert.ok(w.stalledAt[0] >= 749 + 5000 && w.stalledAt[0] <= 749 + 5000 + 2 * 750, `at ${w.stalledAt[0]}`);
  await finish();
});

Deno.test("StallWatch: progress starts the count over; nothing waited for is never reported; each wait its own timeout", async () => {
  const { watch, wait, advance, finish } = await setup();
  const busy = wait();
  const idle = wait();
  const slow = wait();
  busy.progress();
  idle.progress();
  slow.progress(2000);
  watch.add(busy);
  watch.add(idle);
  watch.add(slow);
  for (let i = 0; i < 10; i++) {
    await advance(250);
    busy.progress(); // 2.5 s in all, never 400 ms without progress
    if (i === 0) idle.done(); // done in time, and nothing more to wait for
  }
  assert.deepEqual(busy.stalledAt, []);
  assert.deepEqual(idle.stalledAt, []);
  assert.equal(slow.stalledAt.length, 1);
  assert.ok(
    slow.stalledAt[0] >= 2000 && slow.stalledAt[0] <= 2100,
    `its own 2 s timeout: ${slow.stalledAt[0]}`,
  );
  await advance(399);
  assert.deepEqual(busy.stalledAt, [], "not before 400 ms without progress");
  await advance(101);
  assert.equal(busy.stalledAt.length, 1);
  assert.ok(busy.stalledAt[0] >= 2900 && busy.stalledAt[0] <= 3000, `reported at ${busy.stalledAt[0]}`);
  idle.progress(); // a new wait that never progresses
  await advance(500);
  assert.equal(idle.stalledAt.length, 1);
  await finish();
});

Deno.test("StallWatch: the timer stops with the last wait removed and starts again with the next", async () => {
  const { watch, wait, advance, finish } = await setup();
  const w = wait();
  w.progress();
  watch.add(w);
  watch.add(w); // once is enough
  assert.equal(watch.size, 1);
  await advance(50);
  watch.remove(w);
  await advance(2000); // nothing watched: the check at 100 ms finds nobody and does not re-arm
  assert.deepEqual(w.stalledAt, []);
  watch.add(w);
  await advance(500);
  assert.deepEqual(w.stalledAt, [2450]);
  await finish();
});

Deno.test("StallWatch: waits that leave while the watch looks (the stalled one, or another it closes) are each told once, never early", async () => {
  const { watch, wait, advance, finish } = await setup();
  const waits = Array.from({ length: 12 }, () => wait());
  waits.forEach((w, i) => {
    w.progress(400 + (i % 3) * 100); // three timeouts: 400, 500, 600 ms
    watch.add(w);
  });
  // A stalled wait leaves the watch, and takes the next one with it (as a connection that closes its writes too).
  for (let i = 0; i < waits.length; i++) {
    const w = waits[i];
    const partner = waits[(i + 5) % waits.length];
    w.stalled = () => {
      w.stalledAt.push(w.now());
      watch.remove(w);
      watch.remove(partner);
    };
  }
  await advance(1500);
  for (const [i, w] of waits.entries()) {
    assert.ok(w.stalledAt.length <= 1, `wait ${i} told ${w.stalledAt.length} times`);
    for (const at of w.stalledAt) assert.ok(at >= 400 + (i % 3) * 100, `wait ${i} told early, at ${at}`);
  }
  assert.equal(watch.size, 0);
  await finish();
});
