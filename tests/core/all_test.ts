/** `All`: every one of several operations at once. */
import assert from "node:assert/strict";
import {
  All,
  Join,
  OperationTimeout,
  Queue,
  Scheduler,
  Signal,
  Sleep,
  WaitForSignal,
} from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("All: every result, in order, once the last is in (sync and async)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const ops = () => [new Sleep(20), new WaitForSignal<string>("s"), Promise.resolve(1)] as const;
    const task = kind === "sync"
      ? h.sched.add(function* () {
        const r = yield* new All(ops());
        return [r, h.clock.now()];
      })
      : h.sched.add(async function* () {
        const r: unknown = yield new All(ops());
        return [r, h.clock.now()];
      });
    h.sched.add(function* () {
      yield new Sleep(10);
      yield new Signal("s", "sig");
    });
    await driveClean(h);
    assert.deepEqual(task.result, [[undefined, "sig", 1], 20], kind);
  }
});

Deno.test("All: of none completes at once with []", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    return yield* new All([]);
  });
  await driveClean(h);
  assert.deepEqual(task.result, []);
});

Deno.test("All: operations that all complete at once", async () => {
  const h = harness();
  const q = new Queue<number>();
  q.putNowait(1);
  q.putNowait(2);
  const task = h.sched.add(function* () {
    return yield* new All([q.get(), q.get(), new Signal("nobody")]);
  });
  await driveClean(h);
  assert.deepEqual(task.result, [1, 2, 0]);
});

Deno.test("All: the first error is thrown in; the others are withdrawn", async () => {
  const h = harness();
  const q = new Queue<number>();
  const task = h.sched.add(function* () {
    try {
      yield new All([
        new WaitForSignal("x"),
        q.get(),
        new WaitForSignal("fail", { timeout: 10 }),
        new Sleep(1000),
      ]);
    } catch (e) {
      return [e, h.clock.now()];
    }
  });
  const after = h.sched.add(function* () {
    yield new Sleep(20);
    const n = yield* new Signal("x");
    yield q.put(1);
    return n;
  });
  await driveClean(h);
  const [e, at] = task.result as [OperationTimeout, number];
  assert.ok(e instanceof OperationTimeout);
  assert.equal(at, 10);
  assert.equal(after.result, 0);
  assert.equal(q.qsize(), 1);
  assert.equal(h.clock.now(), 20, "the Sleep(1000) branch was withdrawn");
});

Deno.test("All: an error while starting a branch withdraws the ones started and skips the rest", async () => {
  const h = harness();
  const later = new Queue<number>();
  later.putNowait(5);
  const foreign = new Scheduler().add(function* foreign() {});
  const task = h.sched.add(function* () {
    try {
      // Joining another scheduler's task fails when that branch starts.
      yield new All([new WaitForSignal("x"), new Join(foreign), later.get()]);
    } catch (e) {
      return e;
    }
  });
  const count = h.sched.add(function* () {
    yield new Sleep(1);
    return yield* new Signal("x");
  });
  await driveClean(h);
  assert.match((task.result as Error).message, /belongs to another scheduler/);
  assert.equal(count.result, 0, "the branch started before was withdrawn");
  assert.equal(later.qsize(), 1, "the branch after never started");
  await foreign.sched.run();
});

Deno.test("All: the scheduler's defaultTimeout applies to each branch", async () => {
  const h = harness({ defaultTimeout: 30 });
  const task = h.sched.add(function* () {
    try {
      yield new All([new Sleep(100), new WaitForSignal("never")]);
    } catch (e) {
      return [e instanceof OperationTimeout, h.clock.now()];
    }
  });
  await driveClean(h);
  assert.deepEqual(task.result, [true, 30]);
});

Deno.test("All: an item that is not an operation or a promise is a TypeError naming it", () => {
  assert.throws(
    () => new All([new Sleep(1), "x" as never]),
    (e: unknown) =>
      e instanceof TypeError && /All: item 1 is "x"; expected an Operation or a promise/.test(e.message),
  );
  assert.throws(
    () => new All(null as never),
    (e: unknown) => e instanceof TypeError && /All: expected an array/.test(e.message),
  );
});

Deno.test("All: typed results, position by position", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const [a, b, c]: [string, number, void] = yield* new All([
      Promise.resolve("s"),
      new Signal("nobody"),
      new Sleep(1),
    ]);
    // @ts-expect-error: the first result is a string
    const [n]: [number] = yield* new All([Promise.resolve("s")]);
    return [a, b, c, n];
  });
  await driveClean(h);
  assert.deepEqual(task.result, ["s", 0, undefined, "s"]);
});
