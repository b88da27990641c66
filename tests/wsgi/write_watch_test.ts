/** `WriteWatch`: one coarse timer bounds how long any connection's write may move nothing. */
import assert from "node:assert/strict";
import { Sleep } from "../../core/mod.ts";
import { WriteWatch } from "../../wsgi/mod.ts";
import { finishClean, harness, settle, start } from "../core/suite.ts";

/** A watch of `timeout` ms in a scheduler kept running by a long sleeper, and a writer that logs its stall. */
async function setup(timeout: number) {
  const h = harness();
  const watch = new WriteWatch(h.sched, timeout);
  const stalledAt: number[] = [];
  const writer = { writeStalled: () => stalledAt.push(h.clock.now()) };
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
  return { h, watch, writer, stalledAt, advance, finish: () => finishClean(h, done) };
}

Deno.test("WriteWatch: checks every quarter of a short timeout, every second of a long one", () => {
  const h = harness();
  assert.equal(new WriteWatch(h.sched, 400).period, 100);
  assert.equal(new WriteWatch(h.sched, 60_000).period, 1000);
  assert.equal(new WriteWatch(h.sched, 2500).period, 2500 / 4);
  assert.throws(() => new WriteWatch(h.sched, 0), /WriteWatch: timeout must be > 0 ms, got 0/);
});

Deno.test("WriteWatch: a write that moves nothing is reported after more than the timeout, within a period more", async () => {
  const { watch, writer, stalledAt, advance, finish } = await setup(400);
  watch.started(writer);
  await advance(400);
  assert.deepEqual(stalledAt, [], "not before the timeout");
  await advance(100);
  assert.deepEqual(stalledAt, [500]);
  assert.equal(watch.size, 0, "reported once, then forgotten");
  await advance(1000);
  assert.deepEqual(stalledAt, [500]);
  await finish();
});

Deno.test("WriteWatch: progress starts the stall time over; an ended write is never reported", async () => {
  const { watch, writer, stalledAt, advance, finish } = await setup(400);
  const other = { writeStalled: () => stalledAt.push(-1) };
  watch.started(writer);
  watch.started(other);
  for (let i = 0; i < 10; i++) {
    await advance(250);
    watch.started(writer); // bytes moved: 2.5 s in all, never 400 ms without progress
    if (i === 0) watch.ended(other); // written in time
  }
  assert.deepEqual(stalledAt, []);
  await advance(250);
  assert.deepEqual(stalledAt, []);
  await advance(250);
  assert.deepEqual(
    stalledAt,
    [3000],
    "reported 500 ms after its last progress (checks fall on whole periods)",
  );
  await finish();
});

Deno.test("WriteWatch: the timer stops with the last write and starts again with the next", async () => {
  const { watch, writer, stalledAt, advance, finish } = await setup(400);
  watch.started(writer);
  await advance(50);
  watch.ended(writer);
  await advance(2000); // nothing watched: the check at 100 ms finds nothing and does not re-arm
  assert.deepEqual(stalledAt, []);
  watch.started(writer);
  await advance(500);
  assert.deepEqual(stalledAt, [2550]);
  await finish();
});
