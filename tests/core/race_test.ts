/** `Race`: the first of several operations wins; the others are withdrawn. */
import assert from "node:assert/strict";
import { All, Join, OperationTimeout, Queue, Race, Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("Race: the first to finish wins (sync and async generators)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const ops = () =>
      [new WaitForSignal<string>("slow"), new WaitForSignal<string>("fast"), new Sleep(100)] as const;
    const racer = kind === "sync"
      ? h.sched.add(function* () {
        const v = yield* new Race(ops());
        return [v, h.clock.now()];
      })
      : h.sched.add(async function* () {
        const v: string | void = yield new Race(ops());
        return [v, h.clock.now()];
      });
    const counts = h.sched.add(function* () {
      yield new Sleep(10);
      const fast = yield* new Signal("fast", "won");
      const slow = yield* new Signal("slow", "lost");
      return [fast, slow];
    });
    await driveClean(h);
    assert.deepEqual(racer.result, ["won", 10], kind);
    assert.deepEqual(counts.result, [1, 0], `${kind}: the loser left the wait list at once`);
  }
});

Deno.test("Race: a Sleep as the timeout (the design's example)", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const value = yield* new Race([new WaitForSignal<string>("ready"), new Sleep(50)]);
    return [value ?? "gave up", h.clock.now()];
  });
  const late = h.sched.add(function* () {
    yield new Sleep(60);
    return yield* new Signal("ready", "too late");
  });
  await driveClean(h);
  assert.deepEqual(task.result, ["gave up", 50]);
  assert.equal(late.result, 0);
});

Deno.test("Race: losers are withdrawn: a losing Queue.get takes no item, a losing Queue.put puts none", async () => {
  const h = harness();
  const q1 = new Queue<number>();
  const q2 = new Queue<number>(1);
  q2.putNowait(0); // full: a put waits
  const racer = h.sched.add(function* () {
    return yield* new Race([q1.get(), q2.put(99), new WaitForSignal<string>("go")]);
  });
  h.sched.add(function* () {
    yield new Sleep(5);
    yield new Signal("go", "signal won");
    yield q1.put(1);
  });
  await driveClean(h);
  assert.equal(racer.result, "signal won");
  assert.equal(q1.qsize(), 1, "the losing get is no longer a getter");
  assert.equal(q2.qsize(), 1);
  assert.equal(q2.getNowait(), 0);
  assert.equal(q2.qsize(), 0, "the losing put's item never went in");
  assert.equal(h.clock.pending, 0);
});

Deno.test("Race: a branch ready at once wins; branches before it are withdrawn, after it never start", async () => {
  const h = harness();
  const ready = new Queue<string>();
  ready.putNowait("ready");
  const later = new Queue<string>();
  later.putNowait("untouched");
  const racer = h.sched.add(function* () {
    return yield* new Race([new WaitForSignal<string>("before"), ready.get(), later.get(), new Sleep(1000)]);
  });
  const count = h.sched.add(function* () {
    yield;
    return yield* new Signal("before");
  });
  await driveClean(h);
  assert.equal(racer.result, "ready");
  assert.equal(count.result, 0);
  assert.equal(later.qsize(), 1, "a branch after the winner never started");
  assert.equal(h.clock.now(), 0, "the Sleep branch never armed a timer that was waited for");
});

Deno.test("Race: an error that comes first is thrown in; the others are withdrawn", async () => {
  const h = harness();
  const boom = new Error("branch failed");
  const racer = h.sched.add(function* () {
    try {
      yield new Race([new WaitForSignal("x"), Promise.reject(boom), new Sleep(100)]);
    } catch (e) {
      return e;
    }
  });
  const count = h.sched.add(function* () {
    yield new Sleep(1);
    return yield* new Signal("x");
  });
  await driveClean(h);
  assert.equal(racer.result, boom);
  assert.equal(count.result, 0);
  assert.equal(h.clock.now(), 1);
});

Deno.test("Race: a branch's own timeout throws OperationTimeout in", async () => {
  const h = harness();
  const racer = h.sched.add(function* () {
    try {
      yield new Race([new WaitForSignal("x", { timeout: 20 }), new Sleep(100)]);
    } catch (e) {
      return [e, h.clock.now()];
    }
  });
  await driveClean(h);
  const [e, at] = racer.result as [OperationTimeout, number];
  assert.ok(e instanceof OperationTimeout);
  assert.equal(at, 20);
  assert.equal(h.clock.pending, 0);
});

Deno.test("Race: promises race too; the late one is ignored", async () => {
  const h = harness();
  const slow = Promise.withResolvers<string>();
  const racer = h.sched.add(function* () {
    return yield* new Race([slow.promise, Promise.resolve("quick")]);
  });
  await driveClean(h);
  slow.resolve("slow");
  await Promise.resolve();
  assert.equal(racer.result, "quick");
});

Deno.test("Race: a losing Join is withdrawn from the task's joiners", async () => {
  const h = harness();
  const target = h.sched.add(function* () {
    yield new Sleep(50);
    return "target";
  });
  const racer = h.sched.add(function* () {
    return yield* new Race([new Join(target), new Sleep(10)]);
  });
  await driveClean(h);
  assert.equal(racer.result, undefined);
  assert.equal(target.result, "target");
  assert.deepEqual(h.errors, []);
});

Deno.test("Race: nested Race and All", async () => {
  const h = harness();
  const racer = h.sched.add(function* () {
    return yield* new Race([
      new Race([new WaitForSignal<string>("a"), new WaitForSignal<string>("b")]),
      new All([new Sleep(10), Promise.resolve("all")]),
    ]);
  });
  const counts = h.sched.add(function* () {
    yield new Sleep(5);
    return [yield* new Signal("b", "inner b"), yield* new Signal("a", "too late")];
  });
  await driveClean(h);
  assert.equal(racer.result, "inner b");
  assert.deepEqual(counts.result, [1, 0]);
  assert.equal(h.clock.pending, 0);
});

Deno.test("Race: of none is a TypeError saying why", () => {
  assert.throws(
    () => new Race([]),
    (e: unknown) => e instanceof TypeError && /Race: needs at least one operation/.test(e.message),
  );
});

Deno.test("Race: an item that is not an operation or a promise is a TypeError naming it", () => {
  assert.throws(
    () => new Race([new Sleep(1), 42 as never]),
    (e: unknown) =>
      e instanceof TypeError && /Race: item 1 is 42; expected an Operation or a promise/.test(e.message),
  );
  assert.throws(
    () => new Race(5 as never),
    (e: unknown) =>
      e instanceof TypeError && /Race: expected an array of operations or promises, got 5/.test(e.message),
  );
  assert.throws(() => new Race([undefined]), TypeError);
});

Deno.test("Race: typed result is the union of the branches' results", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const v: string | number | void = yield* new Race([
      new WaitForSignal<string>("s"),
      Promise.resolve(3),
      new Sleep(10),
    ]);
    // @ts-expect-error: the result may be a number or undefined
    const s: string = yield* new Race([new WaitForSignal<string>("s"), Promise.resolve(4)]);
    return [v, s];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [3, 4]);
});
