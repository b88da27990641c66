// deno-lint-ignore-file require-yield -- coroutines that end without waiting are part of what is tested
/** `Join`: wait for another task to end. */
import assert from "node:assert/strict";
import {
  AddCoro,
  CoroutineError,
  CurrentTask,
  Join,
  OperationTimeout,
  Scheduler,
  Signal,
  Sleep,
  type Task,
  WaitForSignal,
} from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("cogen test_join (sched): results, undefined, and a failure seen through CoroutineError", async () => {
  const h = harness();
  const msgs: number[] = [];
  let c!: Task<unknown>;
  h.sched.add(function* caller() {
    msgs.push(1);
    let ret = yield* new Join(h.sched.add(function* callee_1() {
      return 2;
    }));
    msgs.push(ret);
    const r2 = yield* new Join(h.sched.add(function* callee_2() {}));
    msgs.push(r2 === undefined ? 3 : -1);
    c = h.sched.add(function* callee_3() {
      yield;
      throw new Error("some_message");
    });
    try {
      ret = (yield new Join(c)) as number;
      msgs.push(-1);
    } catch (e) {
      msgs.push(e instanceof CoroutineError && (c.error as Error).message === "some_message" ? 4 : -1);
    }
  });
  await driveClean(h);
  assert.deepEqual(msgs, [1, 2, 3, 4]);
  assert.equal(h.errors.length, 1, "callee_3's error is still reported once");
  assert.equal(h.errors[0][1], c);
});

Deno.test("Join: waits for the task and returns its result (sync and async)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const target = h.sched.add(function* () {
      yield new Sleep(50);
      return "value";
    });
    const joiner = kind === "sync"
      ? h.sched.add(function* () {
        const v: string = yield* new Join(target);
        return [v, h.clock.now()];
      })
      : h.sched.add(async function* () {
        const v: string = yield new Join(target);
        return [v, h.clock.now()];
      });
    await driveClean(h);
    assert.deepEqual(joiner.result, ["value", 50], kind);
  }
});

Deno.test("Join: a task already ended completes at once", async () => {
  const h = harness();
  const target = h.sched.add(function* () {
    return 1;
  });
  const joiner = h.sched.add(function* () {
    yield new Sleep(10);
    const v = yield* new Join(target);
    return [v, h.clock.now()];
  });
  await driveClean(h);
  assert.deepEqual(joiner.result, [1, 10]);
});

Deno.test("Join: every joiner is resumed", async () => {
  const h = harness();
  const target = h.sched.add(function* () {
    yield new Sleep(5);
    return "x";
  });
  const joiners = Array.from({ length: 5 }, () =>
    h.sched.add(function* () {
      return yield* new Join(target);
    }));
  await driveClean(h);
  assert.deepEqual(joiners.map((j) => j.result), ["x", "x", "x", "x", "x"]);
});

Deno.test("Join: a chain of 10 000 tasks, each joining the one before, unwinds without recursion", async () => {
  const h = harness();
  let prev: Task<number> = h.sched.add(function* () {
    yield new Sleep(1);
    return 0;
  });
  for (let i = 0; i < 10_000; i++) {
    const before = prev;
    prev = h.sched.add(function* () {
      return (yield* new Join(before)) + 1;
    });
  }
  await driveClean(h);
  assert.equal(prev.result, 10_000);
});

Deno.test("Join: a task that threw a non-Error: the message and cause carry it", async () => {
  const h = harness();
  const target = h.sched.add(function* () {
    yield;
    throw "plain string";
  });
  const joiner = h.sched.add(function* () {
    try {
      yield new Join(target);
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = joiner.result as CoroutineError;
  assert.ok(e instanceof CoroutineError);
  assert.equal(e.cause, "plain string");
  assert.match(e.message, /failed: plain string$/);
});

Deno.test("Join: a failed task: CoroutineError whose cause is the task's error", async () => {
  for (const when of ["before", "after"] as const) {
    const h = harness();
    const boom = new Error("boom");
    const target = h.sched.add(function* failing() {
      if (when === "after") yield new Sleep(10);
      throw boom;
    });
    const joiner = h.sched.add(function* () {
      if (when === "before") yield new Sleep(10);
      try {
        yield new Join(target);
      } catch (e) {
        return e;
      }
    });
    await driveClean(h);
    const e = joiner.result as CoroutineError;
    assert.ok(e instanceof CoroutineError, when);
    assert.equal(e.name, "CoroutineError");
    assert.equal(e.cause, boom);
    assert.equal(e.task, target);
    assert.equal(e.message, `${target} failed: boom`);
    assert.equal(h.errors.length, 1, "the failure is reported once, joined or not");
  }
});

Deno.test("Join: a cancelled task: CoroutineError saying so, without a cause", async () => {
  const h = harness();
  const target = h.sched.add(function* () {
    yield new WaitForSignal("never");
  });
  const joiner = h.sched.add(function* () {
    try {
      yield new Join(target);
    } catch (e) {
      return e;
    }
  });
  h.sched.add(function* () {
    yield new Sleep(5);
    target.cancel();
  });
  await driveClean(h);
  const e = joiner.result as CoroutineError;
  assert.ok(e instanceof CoroutineError);
  assert.equal(e.cause, undefined);
  assert.match(e.message, /was cancelled/);
  assert.deepEqual(h.errors, []);
});

Deno.test("Join: a timeout throws OperationTimeout and leaves the task's joiners", async () => {
  const h = harness();
  const target = h.sched.add(function* () {
    yield new Sleep(100);
    return "late";
  });
  const joiner = h.sched.add(function* () {
    try {
      yield new Join(target, { timeout: 10 });
    } catch (e) {
      return [e, h.clock.now()];
    }
  });
  await driveClean(h);
  const [e, at] = joiner.result as [OperationTimeout, number];
  assert.ok(e instanceof OperationTimeout);
  assert.match(e.message, /^Join\(Task#\d+\(anonymous\)\) timed out after 10 ms$/);
  assert.equal(at, 10);
  assert.equal(target.result, "late");
  assert.deepEqual(h.errors, []);
});

Deno.test("Join: a task of another scheduler is an Error thrown in, saying so", async () => {
  const other = new Scheduler();
  const foreign = other.add(function* foreign() {});
  const h = harness();
  const joiner = h.sched.add(function* () {
    try {
      yield new Join(foreign);
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = joiner.result as Error;
  assert.ok(e instanceof Error);
  assert.match(e.message, /Join: Task#\d+\(foreign\) belongs to another scheduler/);
  await other.run();
});

Deno.test("Join: a task joining itself is an Error thrown in, saying so", async () => {
  const h = harness();
  const self = h.sched.add(function* selfish() {
    const me = yield* new CurrentTask();
    try {
      yield new Join(me);
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = self.result as Error;
  assert.ok(e instanceof Error);
  assert.match(e.message, /Join: Task#\d+\(selfish\) cannot join itself/);
});

Deno.test("Join: a bad timeout is a RangeError at construction", () => {
  const h = harness();
  const t = h.sched.add(function* () {});
  assert.throws(
    () => new Join(t, { timeout: -3 }),
    (e: unknown) => e instanceof RangeError && /Join: timeout/.test(e.message),
  );
});

Deno.test("Join: typed result with yield*", async () => {
  const h = harness();
  const main = h.sched.add(function* () {
    const child = yield* new AddCoro(function* () {
      yield new Signal("nobody");
      return "typed";
    });
    const s: string = yield* new Join(child);
    // @ts-expect-error: the child returns a string
    const n: number = yield* new Join(child);
    return [s, n];
  });
  await driveClean(h);
  assert.deepEqual(main.result, ["typed", "typed"]);
});
