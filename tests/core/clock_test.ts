/**
 * Clocks and the one host timer: `ManualClock`, `systemClock`, and how the
 * scheduler drives its timer heap through `clock.setTimer`.
 */
import assert from "node:assert/strict";
import { type Clock, ManualClock, Scheduler, Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { systemClock } from "../../core/clock.ts";
import { driveClean, finishClean, harness, settle, start } from "./suite.ts";

Deno.test("ManualClock: time moves only on advance(); timers fire in due order, synchronously", () => {
  const clock = new ManualClock(1000);
  assert.equal(clock.now(), 1000);
  const fired: string[] = [];
  clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimer(() => fired.push(`a@${clock.now()}`), 10);
  const c = clock.setTimer(() => fired.push("c"), 15);
  clock.setTimer(() => fired.push(`d@${clock.now()}`), 20);
  assert.equal(clock.pending, 4);
  clock.clearTimer(c);
  assert.equal(clock.pending, 3);
  clock.advance(9);
  assert.deepEqual(fired, []);
  assert.equal(clock.now(), 1009);
  clock.advance(100);
  assert.deepEqual(fired, ["a@1010", "b@1020", "d@1020"]);
  assert.equal(clock.now(), 1109);
  assert.equal(clock.pending, 0);
});

Deno.test("ManualClock: timers set while firing are included when they fall due", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  clock.setTimer(() => {
    fired.push(clock.now());
    clock.setTimer(() => fired.push(clock.now()), 5);
    clock.setTimer(() => fired.push(clock.now()), 500);
  }, 10);
  clock.advance(20);
  assert.deepEqual(fired, [10, 15]);
  assert.equal(clock.pending, 1);
});

Deno.test("ManualClock: a negative delay fires at once on the next advance; advance(<0) is a RangeError", () => {
  const clock = new ManualClock();
  let fired = false;
  clock.setTimer(() => fired = true, -5);
  clock.advance(0);
  assert.equal(fired, true);
  assert.throws(
    () => clock.advance(-1),
    (e: unknown) => e instanceof RangeError && /ManualClock\.advance/.test(e.message),
  );
  assert.throws(() => clock.advance(NaN), RangeError);
});

Deno.test("systemClock: now() does not go backwards; setTimer fires; clearTimer cancels", async () => {
  const t0 = systemClock.now();
  assert.ok(systemClock.now() >= t0);
  const fired = Promise.withResolvers<void>();
  systemClock.setTimer(() => fired.resolve(), 1);
  let cancelledFired = false;
  const id = systemClock.setTimer(() => cancelledFired = true, 1);
  systemClock.clearTimer(id);
  await fired.promise;
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(cancelledFired, false);
});

Deno.test("timers: at most one host timer while 1 000 tasks sleep", async () => {
  const h = harness();
  const woke: number[] = [];
  for (let i = 0; i < 1000; i++) {
    h.sched.add(function* () {
      yield new Sleep(1000 - i); // later tasks sleep less: the host timer must move earlier
      woke.push(h.clock.now());
    });
  }
  const { done } = await start(h.sched);
  assert.equal(h.clock.pending, 1);
  assert.ok(h.clock.maxPending <= 1, `max pending ${h.clock.maxPending}`);
  await finishClean(h, done);
  assert.equal(woke.length, 1000);
  assert.ok(h.clock.maxPending <= 1, `max pending ${h.clock.maxPending}`);
});

Deno.test("timers: 100 000 waiting operations with timeouts share the one host timer", async () => {
  const h = harness();
  let timedOut = 0;
  for (let i = 0; i < 100_000; i++) {
    h.sched.add(function* () {
      try {
        yield new WaitForSignal("never", { timeout: 1 + (i % 100) });
      } catch {
        timedOut++;
      }
    });
  }
  await driveClean(h);
  assert.equal(timedOut, 100_000);
  assert.ok(h.clock.maxPending <= 1);
  // Starting 100 000 tasks takes several time slices, between which the
  // driver may move the manual clock: the last deadline is 100 ms or a bit later.
  assert.ok(h.clock.now() >= 100);
});

Deno.test("timers: the host timer is re-armed for an earlier deadline, and disarmed when run() ends", async () => {
  const h = harness();
  const long = h.sched.add(function* () {
    yield new WaitForSignal("x", { timeout: 60_000 });
  });
  const { done } = await start(h.sched);
  assert.equal(h.clock.nextDue(), 60_000);
  h.sched.add(function* () {
    yield new Sleep(10);
    yield new Signal("x", "early");
  });
  await settle();
  assert.equal(h.clock.nextDue(), 10);
  assert.equal(h.clock.pending, 1);
  await finishClean(h, done);
  assert.equal(long.state, "finished");
  assert.equal(h.clock.now(), 10, "the 60 s timeout never had to fire");
  assert.equal(h.clock.pending, 0);
});

Deno.test("timers: run() resolves with no host timer left after waits were settled early or cancelled", async () => {
  const h = harness();
  const waiters = Array.from({ length: 10 }, (_, i) =>
    h.sched.add(function* () {
      yield new WaitForSignal(`s${i}`, { timeout: 100_000 });
    }));
  const sleepers = Array.from({ length: 10 }, () =>
    h.sched.add(function* () {
      yield new Sleep(100_000);
    }));
  const { done } = await start(h.sched);
  for (const s of sleepers) s.cancel();
  h.sched.add(function* () {
    for (let i = 0; i < 10; i++) yield new Signal(`s${i}`);
  });
  await finishClean(h, done);
  assert.equal(h.clock.now(), 0);
  assert.ok(waiters.every((w) => w.state === "finished"));
  assert.ok(sleepers.every((s) => s.state === "cancelled"));
});

Deno.test("timers: stop() disarms the host timer; the next run() re-arms it", async () => {
  const h = harness();
  const sleeper = h.sched.add(function* () {
    yield new Sleep(100);
    return h.clock.now();
  });
  const { done } = await start(h.sched);
  assert.equal(h.clock.pending, 1);
  h.sched.stop();
  await done;
  assert.equal(h.clock.pending, 0);
  await driveClean(h);
  assert.equal(sleeper.result, 100);
});

Deno.test("timers: a real-clock run with a long timeout signalled early leaves no host timer (sanitizers)", async () => {
  const sched = new Scheduler();
  const waiter = sched.add(async function* () {
    return yield* new WaitForSignal("x", { timeout: 60_000 });
  });
  sched.add(function* () {
    yield new Sleep(2);
    yield new Signal("x", "ok");
  });
  await sched.run();
  assert.equal(waiter.result, "ok");
});

Deno.test("timers: a real-clock stop() with sleepers pending leaves no host timer (sanitizers)", async () => {
  const sched = new Scheduler();
  const sleeper = sched.add(function* () {
    yield new Sleep(60_000);
  });
  sched.add(function* () {
    yield new Sleep(1);
    sched.stop();
  });
  await sched.run();
  assert.equal(sleeper.state, "running");
  // finish it for a clean end: cancel, and run to completion
  const cancelled = sleeper.cancel();
  await sched.run();
  await cancelled;
  assert.equal(sleeper.state, "cancelled");
});

/** A clock on the system timers that counts how often the scheduler arms it. */
function countingClock(): Clock & { calls: number } {
  const clock = {
    calls: 0,
    now: () => performance.now(),
    setTimer(callback: () => void, delay: number) {
      clock.calls++;
      return systemClock.setTimer(callback, delay);
    },
    clearTimer: (id: unknown) => systemClock.clearTimer(id),
  };
  return clock;
}

Deno.test("timers: a timeout longer than 2^31-1 ms does not wake the host every ms", async () => {
  // setTimeout clamps delays above 2^31-1 ms (~24.8 days) to 1 ms: a 35-day
  // timeout must not turn into a timer that fires, re-arms and fires again.
  const clock = countingClock();
  const sched = new Scheduler({ clock });
  const waiter = sched.add(function* () {
    return yield* new WaitForSignal("x", { timeout: 3e9 });
  });
  sched.add(function* () {
    yield new Promise((resolve) => setTimeout(resolve, 30)); // 30 ms of real time, no scheduler timer
    yield new Signal("x", "ok");
  });
  await sched.run();
  assert.equal(waiter.result, "ok");
  assert.ok(clock.calls <= 2, `the host timer was armed ${clock.calls} times in 30 ms`);
});

Deno.test("timers: a timeout of Infinity left as the earliest timer does not wake the host every ms", async () => {
  // Infinity passes the timeout check (a number >= -1). Once an earlier timer
  // has fired, the Infinity deadline is the heap's top and gets armed.
  const clock = countingClock();
  const sched = new Scheduler({ clock });
  const waiter = sched.add(function* () {
    return yield* new WaitForSignal("x", { timeout: Infinity });
  });
  sched.add(function* () {
    yield new Sleep(2);
    yield new Promise((resolve) => setTimeout(resolve, 30));
    yield new Signal("x", "ok");
  });
  await sched.run();
  assert.equal(waiter.result, "ok");
  assert.ok(clock.calls <= 3, `the host timer was armed ${clock.calls} times in about 30 ms`);
});

Deno.test("systemClock: setTimer with a delay above 2^31-1 ms does not fire early", async () => {
  let fired = false;
  const id = systemClock.setTimer(() => fired = true, 3e9);
  await new Promise((resolve) => setTimeout(resolve, 20));
  systemClock.clearTimer(id);
  assert.equal(fired, false, "a 35-day timer fired within 20 ms");
});

Deno.test("timers: a custom Clock receives the scheduler's timer and time", async () => {
  const clock = new ManualClock(5000);
  const sched = new Scheduler({ clock });
  assert.equal(sched.clock, clock);
  const task = sched.add(function* () {
    const t0 = sched.now();
    yield new Sleep(250);
    return sched.now() - t0;
  });
  const done = sched.run();
  await settle();
  assert.equal(clock.pending, 1);
  clock.advance(250);
  await done;
  assert.equal(task.result, 250);
});
