// deno-lint-ignore-file require-yield -- coroutines that end without waiting are part of what is tested
/** `Call`: run a sub-coroutine to completion in the same task. */
import assert from "node:assert/strict";
import { All, Call, CurrentTask, Local, Race, Sleep, type Task, type Yieldable } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("cogen test_call: return values, errors and arguments through Call", async () => {
  const h = harness();
  const msgs: number[] = [];
  let exc: Error | undefined;
  function* callee_1() {
    return 2;
  }
  function* callee_2() {}
  function* callee_3(): Generator<Yieldable, void> {
    yield;
    throw new Error("some_message");
  }
  function* callee_4(): Generator<Yieldable, number> {
    return yield* new Call(callee_4_1);
  }
  function* callee_4_1(): Generator<Yieldable, number> {
    return yield* new Call(callee_4_2);
  }
  function* callee_4_2() {
    return 5;
  }
  function* callee_5(): Generator<Yieldable, never> {
    return yield* new Call(callee_5_1);
  }
  function* callee_5_1(): Generator<Yieldable, never> {
    return yield* new Call(callee_5_2);
  }
  function* callee_5_2(): Generator<Yieldable, never> {
    throw new Error("long_one");
  }
  function* callee_6(x: number) {
    return x;
  }
  h.sched.add(function* caller() {
    msgs.push(1);
    let ret: number = yield* new Call(callee_1);
    msgs.push(ret);
    const r2 = yield* new Call(callee_2);
    msgs.push(r2 === undefined ? 3 : -1);
    try {
      yield new Call(callee_3);
    } catch (e) {
      msgs.push((e as Error).message === "some_message" ? 4 : -1);
    }
    ret = yield* new Call(callee_4);
    msgs.push(ret);
    try {
      yield new Call(callee_5);
    } catch (e) {
      exc = e as Error;
    }
    ret = yield* new Call(callee_6, 6);
    msgs.push(ret);
  });
  await driveClean(h);
  assert.deepEqual(msgs, [1, 2, 3, 4, 5, 6]);
  assert.equal(exc?.message, "long_one");
  // the stack trace of the innermost error goes through its own frame
  assert.match(exc!.stack ?? "", /callee_5_2/);
  assert.deepEqual(h.errors, []);
});

Deno.test("Call: sync calls async and async calls sync; results and errors cross both ways", async () => {
  const h = harness();
  async function* asyncAdd(a: number, b: number) {
    await Promise.resolve();
    yield new Sleep(5);
    return a + b;
  }
  function* syncFail(): Generator<Yieldable, never> {
    yield new Sleep(1);
    throw new RangeError("sync fail");
  }
  async function* asyncMiddle() {
    const s = (yield new Call(asyncAdd, 1, 2)) as number;
    try {
      yield new Call(syncFail);
    } catch (e) {
      return [s, (e as Error).message];
    }
  }
  const task = h.sched.add(function* () {
    return yield* new Call(asyncMiddle);
  });
  await driveClean(h);
  assert.deepEqual(task.result, [3, "sync fail"]);
});

Deno.test("Call: a generator object works", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    return yield* new Call((function* () {
      yield;
      return "gen";
    })());
  });
  await driveClean(h);
  assert.equal(task.result, "gen");
});

Deno.test("Call: 10 000 nested calls (sync) do not overflow the stack", async () => {
  const h = harness();
  const DEPTH = 10_000;
  function* nest(n: number): Generator<Yieldable, number> {
    if (n === 0) {
      yield new Sleep(1);
      return 0;
    }
    return 1 + (yield* new Call(nest, n - 1));
  }
  const task = h.sched.add(nest, DEPTH);
  await driveClean(h);
  assert.equal(task.result, DEPTH);
});

Deno.test("Call: 10 000 nested calls that each throw through do not overflow the stack", async () => {
  const h = harness();
  const DEPTH = 10_000;
  let unwound = 0;
  function* nest(n: number): Generator<Yieldable, number> {
    if (n === 0) throw new Error("bottom");
    try {
      return yield* new Call(nest, n - 1);
    } finally {
      unwound++;
    }
  }
  const task = h.sched.add(function* () {
    try {
      yield new Call(nest, DEPTH);
    } catch (e) {
      return (e as Error).message;
    }
  });
  await driveClean(h);
  assert.equal(task.result, "bottom");
  assert.equal(unwound, DEPTH);
});

Deno.test("Call: 2 000 nested async calls", async () => {
  const h = harness();
  async function* nest(n: number): AsyncGenerator<Call<number>, number> {
    if (n === 0) return 0;
    return 1 + ((yield new Call(nest, n - 1)) as number);
  }
  const task = h.sched.add(nest, 2000);
  await driveClean(h);
  assert.equal(task.result, 2000);
});

Deno.test("Call: the callee shares the task (CurrentTask, Local)", async () => {
  const h = harness();
  const local = new Local<string>();
  function* inner() {
    const t = yield* new CurrentTask();
    const seen = local.get();
    local.set("set by callee");
    return [t, seen];
  }
  const outer: Task<unknown> = h.sched.add(function* () {
    local.set("set by caller");
    const [t, seen] = yield* new Call(inner);
    return [t === outer, seen, local.get()];
  });
  await driveClean(h);
  assert.deepEqual(outer.result, [true, "set by caller", "set by callee"]);
});

Deno.test("Call: inside Race or All is a TypeError thrown in, naming the way out", async () => {
  const h = harness();
  function* sub() {
    return 1;
  }
  const results = [
    h.sched.add(function* () {
      try {
        yield new Race([new Sleep(10), new Call(sub)]);
      } catch (e) {
        return e;
      }
    }),
    h.sched.add(function* () {
      try {
        yield new All([new Call(sub), new Sleep(10)]);
      } catch (e) {
        return e;
      }
    }),
  ];
  await driveClean(h);
  for (const t of results) {
    const e = t.result as TypeError;
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /Call cannot be a branch of Race or All/);
    assert.match(e.message, /AddCoro/);
  }
  assert.equal(h.clock.pending, 0, "the Sleep branch was withdrawn");
});

Deno.test("Call: a function that does not return a generator: TypeError thrown in", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    try {
      yield new Call((() => 42) as never);
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = task.result as TypeError;
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /Call: expected a generator function or a generator, got 42/);
});

Deno.test("Call: toString names the function", () => {
  assert.equal(String(new Call(function* helper() {})), "Call(helper)");
});
