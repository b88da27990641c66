/** `Deadline`: a restartable timer on the scheduler's heap, re-armed on every request of a connection. */
import assert from "node:assert/strict";
import { Sleep } from "../../core/mod.ts";
import { Deadline } from "../../core/deadline.ts";
import { finishClean, harness, settle, start } from "./suite.ts";

/** A scheduler kept running by a long sleeper, a deadline that logs when it fires, and the clock. */
async function setup() {
  const h = harness();
  const fired: number[] = [];
  const deadline = new Deadline(h.sched, () => fired.push(h.clock.now()));
  h.sched.add(function* () {
    yield new Sleep(10_000);
  });
  const { done } = await start(h.sched);
  const advance = async (ms: number) => {
    h.clock.advance(ms);
    await settle();
  };
  return { h, fired, deadline, advance, finish: () => finishClean(h, done) };
}

Deno.test("Deadline: fires once, when its time has passed", async () => {
  const { fired, deadline, advance, finish } = await setup();
  deadline.arm(100);
  assert.equal(deadline.armed, true);
  await advance(99);
  assert.deepEqual(fired, []);
  await advance(1);
  assert.deepEqual(fired, [100]);
  assert.equal(deadline.armed, false);
  await advance(500);
  assert.deepEqual(fired, [100], "not again");
  await finish();
});

Deno.test("Deadline: re-arming later postpones it, re-arming earlier brings it forward", async () => {
  const { fired, deadline, advance, finish } = await setup();
  deadline.arm(100);
  await advance(50);
  deadline.arm(100); // now due at 150: the heap entry at 100 fires early and moves
  await advance(60);
  assert.deepEqual(fired, [], "not at the first time");
  await advance(40);
  assert.deepEqual(fired, [150]);
  deadline.arm(1000);
  deadline.arm(10); // earlier than the entry in the heap: moved at once
  await advance(10);
  assert.deepEqual(fired, [150, 160]);
  await finish();
});

Deno.test("Deadline: disarm stops it, restart re-arms for the last timeout, clear leaves the heap", async () => {
  const { h, fired, deadline, advance, finish } = await setup();
  deadline.arm(100);
  deadline.disarm();
  assert.equal(deadline.armed, false);
  await advance(200);
  assert.deepEqual(fired, [], "a disarmed deadline does not fire");
  deadline.restart();
  assert.equal(deadline.armed, false, "restart does not arm a disarmed deadline");
  deadline.arm(100);
  await advance(80);
  deadline.restart(); // due 100 ms from now
  await advance(80);
  assert.deepEqual(fired, []);
  await advance(20);
  assert.deepEqual(fired, [h.clock.now()]);
  deadline.arm(100);
  deadline.clear();
  assert.equal(deadline.armed, false);
  assert.equal(deadline.heapIndex, -1, "out of the heap");
  await advance(200);
  assert.equal(fired.length, 1);
  await finish();
});

Deno.test("Deadline: a subclass may override passed() instead of passing a function", async () => {
  const h = harness();
  const fired: number[] = [];
  class Logged extends Deadline {
    protected override passed(): void {
      fired.push(h.clock.now());
    }
  }
  const deadline = new Logged(h.sched);
  h.sched.add(function* () {
    yield new Sleep(1000);
  });
  const { done } = await start(h.sched);
  deadline.arm(30);
  h.clock.advance(30);
  await settle();
  assert.deepEqual(fired, [30]);
  await finishClean(h, done);
});
