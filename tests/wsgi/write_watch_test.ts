/** `WriteWatch`: one coarse timer bounds how long any connection's write may move nothing. */
import assert from "node:assert/strict";
import { Sleep } from "../../core/mod.ts";
import { WriteWatch } from "../../wsgi/mod.ts";
import { finishClean, harness, settle, start } from "../core/suite.ts";

/** A writer whose progress the test sets: `writeMark` as a writer shows it, and when it was reported. */
class Writer {
  writeMark = -1;
  stalledAt: number[] = [];
  constructor(readonly now: () => number) {}
  /** A write begins, or moves bytes. */
  progress(): void {
    this.writeMark = this.writeMark < 0 ? 1 : this.writeMark + 1;
  }
  /** Everything is written. */
  done(): void {
    this.writeMark = -1;
  }
  writeStalled(): void {
    this.stalledAt.push(this.now());
  }
}

/** A watch of `timeout` ms in a scheduler kept running by a long sleeper, with a clock moved 1 ms at a time. */
async function setup(timeout: number) {
  const h = harness();
  const watch = new WriteWatch(h.sched, timeout);
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
  const writer = () => new Writer(() => h.clock.now());
  return { h, watch, writer, advance, finish: () => finishClean(h, done) };
}

Deno.test("WriteWatch: checks every quarter of a short timeout, every second of a long one", () => {
  const h = harness();
  assert.equal(new WriteWatch(h.sched, 400).period, 100);
  assert.equal(new WriteWatch(h.sched, 60_000).period, 1000);
  assert.equal(new WriteWatch(h.sched, 2500).period, 2500 / 4);
  assert.throws(() => new WriteWatch(h.sched, 0), /WriteWatch: timeout must be > 0 ms, got 0/);
});

Deno.test("WriteWatch: a write that moves nothing is reported after the timeout, within a period more, once", async () => {
  const { watch, writer, advance, finish } = await setup(400);
  const w = writer();
  w.progress();
  watch.add(w);
  await advance(400);
  assert.deepEqual(w.stalledAt, [], "not before the timeout");
  await advance(100);
  assert.deepEqual(w.stalledAt, [500]);
  assert.equal(watch.size, 0, "reported, then forgotten");
  await advance(1000);
  assert.deepEqual(w.stalledAt, [500]);
  await finish();
});

Deno.test("WriteWatch: progress starts the stall time over; a writer with nothing to write is never reported", async () => {
  const { watch, writer, advance, finish } = await setup(400);
  const busy = writer();
  const idle = writer();
  busy.progress();
  idle.progress();
  watch.add(busy);
  watch.add(idle);
  for (let i = 0; i < 10; i++) {
    await advance(250);
    busy.progress(); // bytes moved: 2.5 s in all, never 400 ms without progress
    if (i === 0) idle.done(); // written in time, and nothing more to write
  }
  assert.deepEqual(busy.stalledAt, []);
  await advance(399);
  assert.deepEqual(busy.stalledAt, [], "not before 400 ms without progress");
  await advance(101);
  assert.equal(busy.stalledAt.length, 1);
  assert.ok(busy.stalledAt[0] > 2900 && busy.stalledAt[0] <= 3000, `reported at ${busy.stalledAt[0]}`);
  assert.deepEqual(idle.stalledAt, []);
  assert.equal(watch.size, 1, "the idle writer stays watched for its next write");
  idle.progress(); // a new write that never progresses
  await advance(500);
  assert.equal(idle.stalledAt.length, 1);
  await finish();
});

Deno.test("WriteWatch: the timer stops with the last writer removed and starts again with the next", async () => {
  const { watch, writer, advance, finish } = await setup(400);
  const w = writer();
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
  assert.deepEqual(w.stalledAt, [2550]);
  await finish();
});
