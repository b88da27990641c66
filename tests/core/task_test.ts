// deno-lint-ignore-file require-yield -- coroutines that end without waiting are part of what is tested
/**
 * Tasks: state, result, error, done, signal, and cancel() in every wait state.
 *
 * Each cancellation test checks that the waiter leaves the wait list at once
 * (the next operation in the same step no longer sees it), that cancel()
 * resolves only after every `finally` ran, that `task.signal` aborted and that
 * the state is "cancelled".
 */
import assert from "node:assert/strict";
import {
  All,
  Await,
  Call,
  CurrentTask,
  Join,
  type Operation,
  OperationTimeout,
  PublishSubscribeQueue,
  Queue,
  Race,
  Signal,
  Sleep,
  type Task,
  WaitForSignal,
  type Yieldable,
} from "../../core/mod.ts";
import { runningTask } from "../../core/scheduler.ts";
import { assertCancelled, driveClean, finishClean, harness, settle, settleN, start } from "./suite.ts";

/** Calls `task.cancel()` and records the log as it was when the promise resolved. */
function cancelWatch(
  task: Task<unknown>,
  log: unknown[],
): { promise: Promise<void>; at: () => unknown[] | null } {
  let at: unknown[] | null = null;
  const promise = task.cancel().then(() => {
    at = [...log];
  });
  return { promise, at: () => at };
}

// ---------------------------------------------------------------- state

Deno.test("task: a finished task has state, result and a resolved done", async () => {
  const h = harness();
  const task = h.sched.add(function* answer() {
    yield new Sleep(5);
    return 42;
  });
  assert.equal(task.state, "running");
  assert.equal(task.result, undefined);
  await driveClean(h);
  await task.done;
  assert.equal(task.state, "finished");
  assert.equal(task.result, 42);
  assert.equal(task.error, undefined);
  assert.equal(task.signal.aborted, false, "signal aborts only on cancel");
});

Deno.test("task: a failed task has state and error; done resolves (never rejects)", async () => {
  const h = harness();
  const boom = new Error("boom");
  const task = h.sched.add(async function* failing() {
    yield new Sleep(1);
    throw boom;
  });
  await driveClean(h);
  await task.done;
  assert.equal(task.state, "failed");
  assert.equal(task.error, boom);
  assert.equal(task.result, undefined);
  assert.equal(task.signal.aborted, false);
  assert.equal(h.errors.length, 1);
});

Deno.test("task: ids increase in the order tasks are added; toString names the function", () => {
  const h = harness();
  const a = h.sched.add(function* alpha() {});
  const b = h.sched.add(function* () {});
  assert.ok(b.id > a.id);
  assert.equal(String(a), `Task#${a.id}(alpha)`);
  assert.equal(String(b), `Task#${b.id}(anonymous)`);
  assert.equal(a.sched, h.sched);
  assert.equal(h.sched.taskCount, 2);
});

Deno.test("task: done taken after the end is already resolved", async () => {
  const h = harness();
  const task = h.sched.add(function* () {});
  await driveClean(h);
  await task.done;
  assert.equal(task.state, "finished");
});

Deno.test("task: CurrentTask and runningTask() give the running task", async () => {
  const h = harness();
  const seen: unknown[] = [];
  const t = h.sched.add(function* () {
    seen.push(yield* new CurrentTask());
    seen.push(runningTask());
  });
  const u = h.sched.add(async function* () {
    // A plain yield: in an async generator `yield*` adds hidden awaits, after
    // which the scheduler no longer knows the running task.
    seen.push(yield new CurrentTask());
    seen.push(runningTask());
  });
  assert.equal(runningTask(), null);
  await driveClean(h);
  assert.deepEqual(seen, [t, t, u, u]);
  assert.equal(runningTask(), null);
});

// ---------------------------------------------------------------- cancel: the easy cases

Deno.test("cancel: an ended task: nothing happens, cancel() resolves, signal stays quiet", async () => {
  const h = harness();
  const ok = h.sched.add(function* () {
    return 1;
  });
  const bad = h.sched.add(function* () {
    throw new Error("x");
  });
  await driveClean(h);
  await ok.cancel();
  await bad.cancel();
  assert.equal(ok.state, "finished");
  assert.equal(ok.result, 1);
  assert.equal(bad.state, "failed");
  assert.equal(ok.signal.aborted, false);
  assert.equal(bad.signal.aborted, false);
});

Deno.test("cancel: in the run queue before it started: the body never runs", async () => {
  const h = harness();
  const log: string[] = [];
  const victim = h.sched.add(function* victim() {
    try {
      log.push("body");
      yield new Sleep(1);
    } finally {
      log.push("finally");
    }
  });
  const cancelled = victim.cancel(); // before run(): the task has not started
  assert.equal(victim.signal.aborted, true, "the signal aborts at once");
  assert.equal(victim.state, "running", "it ends when the scheduler runs");
  await driveClean(h);
  await cancelled;
  assert.deepEqual(log, []);
  assertCancelled(victim);
  assert.equal(h.sched.taskCount, 0);
});

Deno.test("cancel: by another task while it is queued but not started", async () => {
  const h = harness();
  const log: string[] = [];
  const later: Task<unknown>[] = [];
  h.sched.add(function* canceller() {
    later[0].cancel();
    log.push("cancelled");
  });
  const victim = h.sched.add(function* victim() {
    log.push("body");
  });
  later.push(victim);
  await driveClean(h);
  assert.deepEqual(log, ["cancelled"]);
  assertCancelled(victim);
});

Deno.test("cancel: woken (value delivered, in the run queue) but not yet resumed: the value is dropped", async () => {
  const h = harness();
  const log: string[] = [];
  const victim = h.sched.add(function* victim() {
    try {
      const v = yield new WaitForSignal("s");
      log.push(`got ${v}`);
    } finally {
      log.push("finally");
    }
  });
  h.sched.add(function* signaller() {
    // CORO: the signaller goes on before the woken task runs.
    const n = yield new Signal("s", "value", { priority: 1 });
    log.push(`woke ${n}`);
    victim.cancel();
  });
  await driveClean(h);
  assert.deepEqual(log, ["woke 1", "finally"]);
  assertCancelled(victim);
});

// ---------------------------------------------------------------- cancel in each wait state

Deno.test("cancel: parked on WaitForSignal: leaves the wait list at once (a Signal counts only the others)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const log: string[] = [];
    const body = function* () {
      try {
        yield new WaitForSignal("s");
        log.push("victim woke");
      } finally {
        log.push("victim finally");
      }
    };
    const victim = kind === "sync" ? h.sched.add(body) : h.sched.add(async function* () {
      yield* body();
    });
    h.sched.add(function* other() {
      yield new WaitForSignal("s");
      log.push("other woke");
    });
    const { done } = await start(h.sched);
    assert.equal(victim.signal.aborted, false);
    let count = -1;
    h.sched.add(function* canceller() {
      victim.cancel();
      count = yield* new Signal("s"); // in the same step: the victim is already gone
    });
    await finishClean(h, done);
    assert.equal(count, 1, kind);
    assert.deepEqual(log.toSorted(), ["other woke", "victim finally"], kind);
    assertCancelled(victim);
  }
});

Deno.test("cancel: parked on WaitForSignal with a timeout: the timer goes too", async () => {
  const h = harness();
  const victim = h.sched.add(function* () {
    yield new WaitForSignal("s", { timeout: 60_000 });
  });
  const { done } = await start(h.sched);
  assert.equal(h.clock.pending, 1);
  await victim.cancel();
  await done;
  assert.equal(h.clock.pending, 0);
  assertCancelled(victim);
  assert.deepEqual(h.errors, []);
});

Deno.test("cancel: a Signal parked for recipients: the signaller leaves, later waiters do not fire it", async () => {
  const h = harness();
  const log: string[] = [];
  const signaller = h.sched.add(function* () {
    try {
      yield new Signal("s", 1, { recipients: 2 });
      log.push("fired");
    } finally {
      log.push("signaller finally");
    }
  });
  const waiter = (name: string) =>
    function* () {
      try {
        yield new WaitForSignal("s", { timeout: 100 });
        log.push(`${name} woke`);
      } catch (e) {
        if (e instanceof OperationTimeout) log.push(`${name} timed out`);
        else throw e;
      }
    };
  h.sched.add(waiter("w1"));
  const { done } = await start(h.sched);
  const c = cancelWatch(signaller, log);
  await c.promise;
  assert.deepEqual(c.at(), ["signaller finally"]);
  h.sched.add(waiter("w2")); // the count of 2 would be reached now
  await finishClean(h, done);
  assert.deepEqual(log, ["signaller finally", "w1 timed out", "w2 timed out"]);
  assertCancelled(signaller);
  assert.deepEqual(h.errors, []);
});

Deno.test("cancel: parked on Queue.get: the next put goes to the next getter", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const q = new Queue<number>();
    const got: string[] = [];
    const getter = (name: string) =>
      kind === "sync"
        ? function* () {
          got.push(`${name}:${yield* q.get()}`);
        }
        : async function* () {
          got.push(`${name}:${yield* q.get()}`);
        };
    const victim = h.sched.add(getter("victim"));
    h.sched.add(getter("next"));
    const { done } = await start(h.sched);
    h.sched.add(function* () {
      victim.cancel();
      yield q.put(7);
    });
    await finishClean(h, done);
    assert.deepEqual(got, ["next:7"], kind);
    assert.equal(q.qsize(), 0);
    assertCancelled(victim);
  }
});

Deno.test("cancel: parked on Queue.put (full queue): its item never enters the queue", async () => {
  const h = harness();
  const q = new Queue<number>(1);
  q.putNowait(0);
  const victim = h.sched.add(function* () {
    yield q.put(1);
  });
  h.sched.add(function* () {
    yield q.put(2);
  });
  const { done } = await start(h.sched);
  const got: number[] = [];
  h.sched.add(function* () {
    victim.cancel();
    got.push(yield* q.get()); // frees a slot: the next parked putter (2) is admitted
    got.push(q.getNowait());
  });
  await finishClean(h, done);
  assert.deepEqual(got, [0, 2]);
  assert.equal(q.qsize(), 0);
  assert.equal(q.unfinishedTasks, 2, "the cancelled put was never counted");
  assertCancelled(victim);
});

Deno.test("cancel: parked on Queue.join: taskDone later does not resume it", async () => {
  const h = harness();
  const q = new Queue<number>();
  q.putNowait(1);
  const log: string[] = [];
  const victim = h.sched.add(function* () {
    try {
      yield q.join();
      log.push("joined");
    } finally {
      log.push("finally");
    }
  });
  const { done } = await start(h.sched);
  await victim.cancel();
  q.getNowait();
  q.taskDone();
  await finishClean(h, done);
  assert.deepEqual(log, ["finally"]);
  assertCancelled(victim);
});

Deno.test("cancel: parked on Join: the joined task's end does not resume it", async () => {
  const h = harness();
  const log: string[] = [];
  const target = h.sched.add(function* target() {
    yield new WaitForSignal("end");
    return "result";
  });
  const victim = h.sched.add(function* () {
    try {
      log.push(`joined ${yield* new Join(target)}`);
    } finally {
      log.push("victim finally");
    }
  });
  const other = h.sched.add(function* () {
    return yield* new Join(target);
  });
  const { done } = await start(h.sched);
  h.sched.add(function* () {
    victim.cancel();
    yield new Signal("end");
  });
  await finishClean(h, done);
  assert.deepEqual(log, ["victim finally"]);
  assert.equal(other.result, "result");
  assertCancelled(victim);
  assert.equal(target.state, "finished");
});

Deno.test("cancel: parked on Sleep: the timer is removed, nothing resumes it later", async () => {
  const h = harness();
  const log: string[] = [];
  const victim = h.sched.add(function* () {
    try {
      yield new Sleep(1000);
      log.push("woke");
    } finally {
      log.push("finally");
    }
  });
  h.sched.add(function* () {
    yield new Sleep(2000);
    log.push("other woke");
  });
  const { done } = await start(h.sched);
  const c = cancelWatch(victim, log);
  await settle();
  await c.promise;
  assert.deepEqual(c.at(), ["finally"]);
  await finishClean(h, done);
  assert.deepEqual(log, ["finally", "other woke"]);
  assert.equal(h.clock.now(), 2000);
  assertCancelled(victim);
});

Deno.test("cancel: parked on Await: the promise's late outcome is ignored", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const log: string[] = [];
    const gate = Promise.withResolvers<string>();
    const body = function* () {
      try {
        log.push(`got ${yield* new Await(gate.promise)}`);
      } finally {
        log.push("finally");
      }
    };
    const victim = kind === "sync" ? h.sched.add(body) : h.sched.add(async function* () {
      yield* body();
    });
    const { done } = await start(h.sched);
    const c = cancelWatch(victim, log);
    await c.promise;
    assert.deepEqual(c.at(), ["finally"], kind);
    gate.resolve("late");
    await settleN(2);
    await finishClean(h, done);
    assert.deepEqual(log, ["finally"], kind);
    assertCancelled(victim);
  }
});

Deno.test("cancel: inside Race: every branch is withdrawn", async () => {
  const h = harness();
  const q = new Queue<number>();
  const log: string[] = [];
  const victim = h.sched.add(function* () {
    try {
      yield new Race([new WaitForSignal("r"), q.get(), new Sleep(1000), new Await(new Promise(() => {}))]);
      log.push("race ended");
    } finally {
      log.push("finally");
    }
  });
  const { done } = await start(h.sched);
  let count = -1;
  h.sched.add(function* () {
    victim.cancel();
    count = yield* new Signal("r");
    yield q.put(5);
  });
  await finishClean(h, done);
  assert.equal(count, 0, "the WaitForSignal branch left the wait list");
  assert.equal(q.qsize(), 1, "the Queue.get branch left the getters");
  assert.deepEqual(log, ["finally"]);
  assertCancelled(victim);
});

Deno.test("cancel: inside All: every branch is withdrawn", async () => {
  const h = harness();
  const q = new Queue<number>();
  const log: string[] = [];
  const victim = h.sched.add(async function* () {
    try {
      yield new All([new WaitForSignal("a"), q.get(), new Sleep(1000)]);
      log.push("all ended");
    } finally {
      log.push("finally");
    }
  });
  const { done } = await start(h.sched);
  let count = -1;
  h.sched.add(function* () {
    victim.cancel();
    count = yield* new Signal("a");
    yield q.put(5);
  });
  await finishClean(h, done);
  assert.equal(count, 0);
  assert.equal(q.qsize(), 1);
  assert.deepEqual(log, ["finally"]);
  assertCancelled(victim);
});

Deno.test("cancel: parked on a pub/sub fetch: a later publish does not count it", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<string>();
  const victim = h.sched.add(function* () {
    yield ps.subscribe("v");
    yield ps.fetch({ key: "v" });
  });
  const { done } = await start(h.sched);
  let woken = -1;
  h.sched.add(function* () {
    victim.cancel();
    woken = yield* ps.publish("m");
  });
  await finishClean(h, done);
  assert.equal(woken, 0);
  assertCancelled(victim);
});

Deno.test("cancel: while an async generator step is in flight: return() is delivered at its next yield", async () => {
  const h = harness();
  const log: string[] = [];
  const gate = Promise.withResolvers<void>();
  const victim = h.sched.add(async function* () {
    try {
      yield new Sleep(1);
      log.push("awaiting");
      await gate.promise;
      log.push("after await");
      yield new Sleep(1000);
      log.push("not reached");
    } finally {
      log.push("finally");
    }
  });
  const { done } = await start(h.sched);
  h.clock.advance(1);
  await settle();
  assert.deepEqual(log, ["awaiting"]);
  const c = cancelWatch(victim, log);
  assert.equal(victim.signal.aborted, true, "the signal aborts at once, while the step is in flight");
  await settleN(3);
  assert.equal(c.at(), null, "cancel() waits for the step and the finally");
  gate.resolve();
  await c.promise;
  assert.deepEqual(c.at(), ["awaiting", "after await", "finally"]);
  await finishClean(h, done);
  assertCancelled(victim);
});

Deno.test("cancel: while a Call'ed async generator's step is in flight: it and its callers unwind", async () => {
  const h = harness();
  const log: string[] = [];
  const gate = Promise.withResolvers<void>();
  const inner = async function* inner() {
    try {
      await gate.promise;
      log.push("inner after await");
      yield new Sleep(1000);
    } finally {
      log.push("inner finally");
    }
  };
  const victim = h.sched.add(function* outer() {
    try {
      yield new Call(inner);
      log.push("not reached");
    } finally {
      log.push("outer finally");
    }
  });
  const { done } = await start(h.sched);
  const c = cancelWatch(victim, log);
  assert.equal(victim.signal.aborted, true);
  gate.resolve();
  await finishClean(h, done);
  await c.promise;
  assert.deepEqual(c.at(), ["inner after await", "inner finally", "outer finally"]);
  assertCancelled(victim);
});

Deno.test("cancel: an in-flight step that rejects with the task's own abort reason ends as cancelled, not failed", async () => {
  // The documented use of task.signal: pass it to fetch() and the like. When
  // cancel() aborts it, the awaited call rejects with the AbortError; that is
  // the cancellation itself, not an error that escaped the task.
  const h = harness();
  const log: string[] = [];
  const victim = h.sched.add(async function* () {
    const me = yield* new CurrentTask();
    try {
      await new Promise((_resolve, reject) => {
        me.signal.addEventListener("abort", () => reject(me.signal.reason), { once: true });
      });
    } finally {
      log.push("finally");
    }
  });
  const { done } = await start(h.sched);
  await victim.cancel();
  await finishClean(h, done);
  assert.deepEqual(log, ["finally"]);
  assert.deepEqual(h.errors.map(([e]) => String(e)), [], "onError must not see the cancellation");
  assert.equal(victim.state, "cancelled");
});

Deno.test("cancel: self-cancel from a sync coroutine takes effect at its next yield", async () => {
  const h = harness();
  const log: string[] = [];
  let resolvedAt: string[] | null = null;
  const victim = h.sched.add(function* () {
    const me = yield* new CurrentTask();
    try {
      me.cancel().then(() => resolvedAt = [...log]);
      log.push("after cancel()");
      yield new Sleep(1000);
      log.push("not reached");
    } finally {
      log.push("finally");
    }
  });
  await driveClean(h);
  await victim.done;
  await settle();
  assert.deepEqual(log, ["after cancel()", "finally"]);
  assert.deepEqual(resolvedAt, ["after cancel()", "finally"]);
  assertCancelled(victim);
  assert.equal(h.clock.now(), 0, "the Sleep never started");
});

Deno.test("cancel: self-cancel from an async coroutine (via runningTask) takes effect at its next yield", async () => {
  const h = harness();
  const log: string[] = [];
  const victim = h.sched.add(async function* () {
    try {
      const p = runningTask()!.cancel();
      log.push("after cancel()");
      await Promise.resolve();
      yield new WaitForSignal("never");
      log.push("not reached");
      await p;
    } finally {
      log.push("finally");
    }
  });
  await driveClean(h);
  assert.deepEqual(log, ["after cancel()", "finally"]);
  assertCancelled(victim);
});

Deno.test("cancel: finally blocks that yield operations run to the end; cancel() resolves after them", async () => {
  const h = harness();
  const q = new Queue<number>();
  q.putNowait(9);
  const log: unknown[] = [];
  const victim = h.sched.add(function* () {
    try {
      yield new WaitForSignal("never");
    } finally {
      log.push("f1");
      yield new Sleep(50);
      log.push("f2");
      log.push(yield* q.get());
      yield;
      log.push("f3");
    }
  });
  const { done } = await start(h.sched);
  const c1 = cancelWatch(victim, log);
  await settle();
  assert.deepEqual(log, ["f1"]);
  // A second cancel() while the finally waits does not cut it short.
  const c2 = cancelWatch(victim, log);
  await settle();
  assert.equal(victim.state, "running");
  h.clock.advance(50);
  await c1.promise;
  await c2.promise;
  assert.deepEqual(c1.at(), ["f1", "f2", 9, "f3"]);
  assert.deepEqual(c2.at(), ["f1", "f2", 9, "f3"]);
  await finishClean(h, done);
  assertCancelled(victim);
});

Deno.test("cancel: an async finally that yields operations runs to the end", async () => {
  const h = harness();
  const log: string[] = [];
  const victim = h.sched.add(async function* () {
    try {
      yield new Sleep(10_000);
    } finally {
      log.push("f1");
      await Promise.resolve();
      yield new Sleep(5);
      log.push("f2");
    }
  });
  const { done } = await start(h.sched);
  const c = cancelWatch(victim, log);
  await finishClean(h, done);
  await c.promise;
  assert.deepEqual(c.at(), ["f1", "f2"]);
  assertCancelled(victim);
});

Deno.test("cancel: deep in nested Calls: every finally runs, innermost first, some yielding", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const log: string[] = [];
    const DEPTH = 6;
    const levelSync = function* levelSync(n: number): Generator<Yieldable, void, unknown> {
      try {
        if (n === DEPTH) yield new WaitForSignal("never");
        else yield new Call(n % 2 === 0 || kind === "sync" ? levelSync : levelAsync, n + 1);
      } finally {
        if (n === 3) yield new Sleep(10); // a finally in the middle waits
        log.push(`finally ${n}`);
      }
    };
    const levelAsync = async function* levelAsync(
      n: number,
    ): AsyncGenerator<Operation<unknown>, void, unknown> {
      try {
        await Promise.resolve();
        if (n === DEPTH) yield new WaitForSignal("never");
        else yield new Call(levelSync, n + 1);
      } finally {
        await Promise.resolve();
        if (n === 3) yield new Sleep(10);
        log.push(`finally ${n}`);
      }
    };
    const victim = h.sched.add(levelSync, 0);
    const { done } = await start(h.sched);
    const c = cancelWatch(victim, log);
    await finishClean(h, done);
    await c.promise;
    const expected = Array.from({ length: DEPTH + 1 }, (_, i) => `finally ${DEPTH - i}`);
    assert.deepEqual(c.at(), expected, kind);
    assertCancelled(victim);
  }
});

Deno.test("cancel: 10 000 nested Calls: all 10 000 finally blocks run, innermost first, no stack overflow", async () => {
  const h = harness();
  const DEPTH = 10_000;
  const order: number[] = [];
  let bottom = false;
  function* level(n: number): Generator<Yieldable, void, unknown> {
    try {
      if (n === DEPTH) {
        bottom = true;
        yield new WaitForSignal("never");
      } else yield new Call(level, n + 1);
    } finally {
      order.push(n);
    }
  }
  const victim = h.sched.add(level, 0);
  const { done } = await start(h.sched);
  // The descent may take more than one time slice: wait until the innermost waits.
  for (let i = 0; i < 1000 && !bottom; i++) await settle();
  assert.equal(bottom, true);
  await victim.cancel();
  await finishClean(h, done);
  assert.equal(order.length, DEPTH + 1);
  assert.ok(order.every((n, i) => n === DEPTH - i), "innermost first");
  assertCancelled(victim);
});

Deno.test("cancel: a finally that throws during cancel makes the task fail, reported once", async () => {
  const h = harness();
  const victim = h.sched.add(function* () {
    try {
      yield new Sleep(100);
    } finally {
      // deno-lint-ignore no-unsafe-finally -- this is the behaviour under test
      throw new Error("cleanup failed");
    }
  });
  const { done } = await start(h.sched);
  await victim.cancel();
  await finishClean(h, done);
  assert.equal(victim.state, "failed");
  assert.equal((victim.error as Error).message, "cleanup failed");
  assert.equal(h.errors.length, 1);
  assert.equal(h.errors[0][1], victim);
});

Deno.test("cancel: the signal is aborted with an AbortError naming the task; read lazily too", async () => {
  const h = harness();
  const early = h.sched.add(function* early() {
    yield new Sleep(100);
  });
  const late = h.sched.add(function* late() {
    yield new Sleep(100);
  });
  const signal = early.signal; // created before the cancel
  let events = 0;
  signal.addEventListener("abort", () => events++);
  const { done } = await start(h.sched);
  await Promise.all([early.cancel(), late.cancel()]);
  await finishClean(h, done);
  assert.equal(events, 1);
  assert.equal(signal.aborted, true);
  assert.match((signal.reason as DOMException).message, /Task#\d+\(early\) was cancelled/);
  assertCancelled(late); // signal created after the cancel
});

Deno.test("cancel: from outside while the scheduler runs, other tasks carry on", async () => {
  const h = harness();
  const victim = h.sched.add(function* () {
    yield new Sleep(1000);
  });
  const survivor = h.sched.add(function* () {
    yield new Sleep(2000);
    return "ok";
  });
  const { done } = await start(h.sched);
  await victim.cancel();
  assert.equal(h.sched.taskCount, 1);
  await finishClean(h, done);
  assert.equal(survivor.result, "ok");
  assertCancelled(victim);
});

Deno.test("cancel: cancelling a task many times resolves every promise once it ended", async () => {
  const h = harness();
  const victim = h.sched.add(function* () {
    yield new Sleep(1000);
  });
  const { done } = await start(h.sched);
  const promises = [victim.cancel(), victim.cancel(), victim.cancel()];
  await Promise.all(promises);
  await finishClean(h, done);
  assertCancelled(victim);
});
