// deno-lint-ignore-file require-yield -- coroutines that end without waiting are part of what is tested
/**
 * The scheduler: add, run, stop, what may be yielded, error reporting, and
 * resumption in a loop (no stack growth).
 */
import assert from "node:assert/strict";
import {
  Await,
  OperationTimeout,
  Scheduler,
  Signal,
  Sleep,
  type Task,
  WaitForSignal,
} from "../../core/mod.ts";
import { driveClean, finishClean, harness, settle, start } from "./suite.ts";

Deno.test('scheduler: the design\'s example (async waiter added first, sync signaller) gives "hello"', async () => {
  // DESIGN.md, "core/": the waiter is an async generator added before the
  // signaller; `task.result; // "hello"`. (A manual clock, so that a lost
  // signal fails at once instead of after the 1 s timeout.)
  const h = harness({ defaultTimeout: 0 });
  const task = h.sched.add(async function* () {
    const value: string = yield new WaitForSignal("abc", { timeout: 1000 });
    return value;
  });
  const signaller = h.sched.add(function* () {
    return yield* new Signal("abc", "hello");
  });
  await driveClean(h);
  assert.equal(signaller.result, 1, "the signal must reach the waiter added before it");
  assert.equal(task.result, "hello");
  assert.deepEqual(h.errors, []);
});

Deno.test("scheduler: the same example with a sync waiter, on the system clock", async () => {
  const sched = new Scheduler({ defaultTimeout: 0 });
  const task = sched.add(function* () {
    const value: string = yield new WaitForSignal("abc", { timeout: 1000 });
    return value;
  });
  sched.add(function* () {
    yield new Signal("abc", "hello");
  });
  await sched.run(); // the 1 s host timer is cleared: the sanitizers would catch a leak
  assert.equal(task.result, "hello");
  assert.equal(sched.running, false);
  assert.equal(sched.taskCount, 0);
});

Deno.test("scheduler: run() with no task resolves at once", async () => {
  const sched = new Scheduler();
  await sched.run();
  assert.equal(sched.running, false);
});

Deno.test("scheduler: run() while running throws an Error that says so; the first run goes on", async () => {
  const h = harness();
  h.sched.add(function* () {
    yield new Sleep(10);
  });
  const done = h.sched.run();
  assert.equal(h.sched.running, true);
  assert.throws(() => h.sched.run(), (e: unknown) => e instanceof Error && /already running/.test(e.message));
  await finishClean(h, done);
  assert.equal(h.sched.running, false);
});

Deno.test("scheduler: run() from inside a coroutine throws into it", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    try {
      h.sched.run();
    } catch (e) {
      return (e as Error).message;
    }
  });
  await driveClean(h);
  assert.match(task.result as string, /Scheduler\.run: already running/);
});

Deno.test("scheduler: add() takes a generator function with arguments, or a generator", async () => {
  const h = harness();
  const a = h.sched.add(
    function* (x: number, y: string) {
      return `${x}${y}`;
    },
    1,
    "a",
  );
  const gen = (function* () {
    return "gen";
  })();
  const b = h.sched.add(gen);
  const c = h.sched.add(async function* (n: number) {
    return n * 2;
  }, 21);
  await driveClean(h);
  assert.deepEqual([a.result, b.result, c.result], ["1a", "gen", 42]);
});

Deno.test("scheduler: add() of something that is not a coroutine is a TypeError saying what it got", () => {
  const sched = new Scheduler();
  assert.throws(
    () => sched.add(42 as never),
    (e: unknown) =>
      e instanceof TypeError && /Scheduler\.add: expected a generator function/.test(e.message) &&
      /42/.test(e.message),
  );
  function notAGenerator() {
    return 5;
  }
  assert.throws(
    () => sched.add(notAGenerator as never),
    (e: unknown) => e instanceof TypeError && /got 5 returned by function notAGenerator/.test(e.message),
  );
  assert.throws(() => sched.add({} as never), TypeError);
  assert.equal(sched.taskCount, 0);
});

Deno.test("scheduler: tasks added while running (from outside) run too", async () => {
  const h = harness();
  const log: string[] = [];
  h.sched.add(function* () {
    yield new Sleep(100);
    log.push("first");
  });
  const { done } = await start(h.sched);
  const late = h.sched.add(function* () {
    log.push("late");
    return "ok";
  });
  await finishClean(h, done);
  assert.deepEqual(log, ["late", "first"]);
  assert.equal(late.result, "ok");
});

Deno.test("scheduler: stop() from inside a coroutine parks it at its next yield, even when it is the only task", async () => {
  // "stop(): run() resolves; tasks stay where they are until the next run()".
  // With another task queued the coroutine stops at its next bare yield; alone,
  // it must not carry on either.
  for (const others of [1, 0]) {
    const h = harness();
    const log: string[] = [];
    h.sched.add(function* stopper() {
      log.push("a1");
      h.sched.stop();
      yield;
      log.push("a2");
      yield new Signal("nobody"); // completes at once
      log.push("a3");
    });
    if (others) {
      h.sched.add(function* other() {
        log.push("b1");
      });
    }
    await h.sched.run();
    assert.deepEqual(log, ["a1"], `${others} other task(s): nothing runs after stop()`);
    await driveClean(h);
    assert.ok(log.includes("a3"));
  }
});

Deno.test("scheduler: stop() resolves run(); tasks stay and the next run() finishes them", async () => {
  const h = harness();
  const log: string[] = [];
  const sleeper = h.sched.add(function* () {
    yield new Sleep(100);
    log.push("woke");
  });
  h.sched.add(function* () {
    yield new Sleep(10);
    h.sched.stop();
    log.push("stopped");
  });
  const done = h.sched.run();
  await settle();
  h.clock.advance(10);
  await done;
  assert.equal(h.sched.running, false);
  assert.equal(h.clock.pending, 0, "stop() disarms the host timer");
  assert.deepEqual(log, ["stopped"]);
  assert.equal(h.sched.taskCount, 1);
  assert.equal(sleeper.state, "running");
  await driveClean(h);
  assert.deepEqual(log, ["stopped", "woke"]);
  assert.equal(h.clock.now(), 100);
});

Deno.test("scheduler: yielding a non-operation throws a TypeError into the coroutine, naming the value and the task", async () => {
  const bad: [unknown, RegExp][] = [
    [42, /yielded 42/],
    ["text", /yielded "text"/],
    [{ a: 1 }, /yielded an object/],
    [[1, 2], /yielded an array of 2/],
    [new Map(), /yielded a Map/],
    [null, /yielded null/],
    [true, /yielded true/],
    [function helper() {}, /yielded function helper/],
  ];
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const results: Task<unknown>[] = [];
    for (const [value] of bad) {
      const body = function* offender() {
        try {
          yield value as undefined;
        } catch (e) {
          return e;
        }
        return "not thrown";
      };
      results.push(
        kind === "sync" ? h.sched.add(body) : h.sched.add(async function* offender() {
          try {
            yield value as undefined;
          } catch (e) {
            return e;
          }
          return "not thrown";
        }),
      );
    }
    await driveClean(h);
    results.forEach((task, i) => {
      const e = task.result;
      assert.ok(e instanceof TypeError, `${kind} ${String(bad[i][0])}: ${e}`);
      assert.match(e.message, bad[i][1]);
      assert.ok(e.message.includes(String(task)), `names the task: ${e.message}`);
      assert.match(e.message, /yield an Operation/);
    });
    assert.deepEqual(h.errors, []);
  }
});

Deno.test("scheduler: the TypeError hints at await when an async generator yields a promise (yield awaits it)", async () => {
  const h = harness();
  const task = h.sched.add(async function* () {
    try {
      yield Promise.resolve(5) as unknown as undefined; // `yield` in an async generator awaits: 5 is yielded
    } catch (e) {
      return (e as Error).message;
    }
  });
  await driveClean(h);
  assert.match(task.result as string, /yielded 5/);
  assert.match(task.result as string, /use `await` for promises/);
});

Deno.test("scheduler: an uncaught bad yield fails the task, reported once", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    yield 7 as unknown as undefined;
  });
  await driveClean(h);
  assert.equal(task.state, "failed");
  assert.ok(task.error instanceof TypeError);
  assert.equal(h.errors.length, 1);
  assert.equal(h.errors[0][0], task.error);
  assert.equal(h.errors[0][1], task);
});

Deno.test("scheduler: a bare yield gives up control (round robin)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const log: string[] = [];
    for (const name of ["a", "b", "c"]) {
      if (kind === "sync") {
        h.sched.add(function* () {
          for (let i = 1; i <= 3; i++) {
            log.push(`${name}${i}`);
            yield;
          }
        });
      } else {
        h.sched.add(async function* () {
          for (let i = 1; i <= 3; i++) {
            log.push(`${name}${i}`);
            yield;
          }
        });
      }
    }
    await driveClean(h);
    assert.deepEqual(log, ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"], kind);
  }
});

Deno.test("scheduler: errors escaping tasks go to onError once each and stop nothing", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const boom = new Error(`boom ${kind}`);
    const failing = kind === "sync"
      ? h.sched.add(function* () {
        yield new Sleep(5);
        throw boom;
      })
      : h.sched.add(async function* () {
        yield new Sleep(5);
        throw boom;
      });
    const immediate = h.sched.add(function* () {
      throw new TypeError("at once");
    });
    const survivor = h.sched.add(function* () {
      yield new Sleep(10);
      return "still here";
    });
    await driveClean(h);
    assert.equal(survivor.result, "still here");
    assert.equal(h.errors.length, 2);
    assert.deepEqual(h.errors.map(([, t]) => t).toSorted((a, b) => a.id - b.id), [failing, immediate]);
    assert.equal(h.errors.find(([, t]) => t === failing)![0], boom);
    assert.equal(failing.state, "failed");
    assert.equal(immediate.state, "failed");
  }
});

Deno.test("scheduler: an uncaught OperationTimeout goes to onError too", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    yield new WaitForSignal("never", { timeout: 50 });
  });
  await driveClean(h);
  assert.equal(h.errors.length, 1);
  assert.ok(h.errors[0][0] instanceof OperationTimeout);
  assert.equal(h.errors[0][1], task);
});

Deno.test("scheduler: an onError hook that throws is logged; the scheduler goes on", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    let calls = 0;
    const sched = new Scheduler({
      onError: () => {
        calls++;
        throw new Error("hook broke");
      },
    });
    sched.add(function* () {
      throw new Error("first");
    });
    const after = sched.add(function* () {
      yield;
      return "after";
    });
    await sched.run();
    assert.equal(calls, 1);
    assert.equal(after.result, "after");
    assert.equal(logged.length, 1);
    assert.ok(logged[0].some((a) => a instanceof Error && a.message === "hook broke"));
    assert.ok(logged[0].some((a) => a instanceof Error && a.message === "first"));
  } finally {
    console.error = original;
  }
});

Deno.test("scheduler: the default onError logs the task and the error to stderr", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const sched = new Scheduler();
    const task = sched.add(function* named() {
      throw new Error("visible");
    });
    await sched.run();
    assert.equal(logged.length, 1);
    assert.ok(logged[0].some((a) => typeof a === "string" && a.includes(String(task))));
    assert.ok(logged[0].some((a) => a instanceof Error && a.message === "visible"));
  } finally {
    console.error = original;
  }
});

Deno.test("scheduler: 100 000 synchronous steps (bare yields) do not overflow the stack", async () => {
  const h = harness();
  const N = 100_000;
  const task = h.sched.add(function* () {
    let i = 0;
    for (; i < N; i++) yield;
    return i;
  });
  await driveClean(h);
  assert.equal(task.result, N);
});

Deno.test("scheduler: 100 000 steps of two interleaved tasks do not overflow the stack", async () => {
  const h = harness();
  let last = "";
  let switches = 0;
  for (const name of ["a", "b"]) {
    h.sched.add(function* () {
      for (let i = 0; i < 50_000; i++) {
        if (last !== name) switches++;
        last = name;
        yield;
      }
    });
  }
  await driveClean(h);
  assert.equal(switches, 100_000);
});

Deno.test("scheduler: 100 000 operations that complete at once (Signal with no waiter) in one task", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    let total = 0;
    for (let i = 0; i < 100_000; i++) total += yield* new Signal("nobody");
    return total;
  });
  await driveClean(h);
  assert.equal(task.result, 0);
});

Deno.test("scheduler: 10 000 async generator steps", async () => {
  const h = harness();
  const task = h.sched.add(async function* () {
    let i = 0;
    for (; i < 10_000; i++) yield;
    return i;
  });
  await driveClean(h);
  assert.equal(task.result, 10_000);
});

Deno.test("scheduler: a busy task does not starve the event loop (time slices)", async () => {
  const sched = new Scheduler();
  let steps = 0;
  const busy = sched.add(function* busy() {
    for (;;) {
      steps++;
      yield;
    }
  });
  let fired = false;
  // A host timer must get its turn although the busy task never waits.
  const id = setTimeout(() => {
    fired = true;
    sched.stop();
  }, 5);
  try {
    await sched.run();
  } finally {
    clearTimeout(id);
  }
  assert.equal(fired, true);
  assert.ok(steps > 0);
  // Let it finish: cancel and run again.
  const cancelled = busy.cancel();
  await sched.run();
  await cancelled;
  assert.equal(busy.state, "cancelled");
});

Deno.test("scheduler: busy async tasks do not starve the event loop either (a slice spans their microtasks)", async () => {
  // Each step of an async task settles in a microtask; the next drain starts from there. Those drains
  // belong to the same time slice, or a chain of async steps would keep I/O and timers waiting forever.
  const sched = new Scheduler();
  let steps = 0;
  let fired = false;
  const started = performance.now();
  const busy = async function* () {
    while (!fired && performance.now() - started < 2000) {
      steps++;
      await null;
      yield;
    }
  };
  sched.add(busy);
  sched.add(busy);
  const id = setTimeout(() => fired = true, 1);
  try {
    await sched.run();
  } finally {
    clearTimeout(id);
  }
  const elapsed = performance.now() - started;
  assert.equal(fired, true, "the host timer had its turn");
  assert.ok(elapsed < 1000, `the timer fired after ${elapsed.toFixed(0)} ms of busy async steps`);
  assert.ok(steps > 2);
});

Deno.test("scheduler: yieldToEventLoop ends the slice: the tasks still ready run after the event loop's turn", async () => {
  const sched = new Scheduler();
  const order: string[] = [];
  const twoTasks = (yieldToEventLoop: boolean) => {
    sched.add(function* () {
      order.push("a");
      // Runs once the slice's synchronous run of tasks is over: before b only if a's slice ended with a.
      queueMicrotask(() => order.push("after a's slice"));
      if (yieldToEventLoop) sched.yieldToEventLoop();
    });
    sched.add(function* () {
      order.push("b");
    });
  };
  twoTasks(true);
  await sched.run();
  assert.deepEqual(order, ["a", "after a's slice", "b"]);
  order.length = 0;
  twoTasks(false);
  await sched.run();
  assert.deepEqual(order, ["a", "b", "after a's slice"]);
});

Deno.test("scheduler: a sleeper and a busy task: the sleeper wakes on time slices (system clock)", async () => {
  const sched = new Scheduler();
  let stop = false;
  sched.add(function* busy() {
    while (!stop) yield;
  });
  const sleeper = sched.add(function* () {
    yield new Sleep(5);
    stop = true;
    return "woke";
  });
  await sched.run();
  assert.equal(sleeper.result, "woke");
});

Deno.test("scheduler: bad options are RangeErrors naming the option", () => {
  for (const bad of [-2, NaN, "5"]) {
    assert.throws(
      () => new Scheduler({ defaultTimeout: bad as number }),
      (e: unknown) => e instanceof RangeError && /Scheduler: defaultTimeout/.test(e.message),
    );
  }
  assert.equal(new Scheduler({ defaultTimeout: -1 }).defaultTimeout, 0, "-1: never");
});

Deno.test("scheduler: now() is the clock's time", () => {
  const h = harness();
  h.clock.advance(1234);
  assert.equal(h.sched.now(), 1234);
});

Deno.test("scheduler: a yielded promise (sync generator) is awaited; run() waits for it", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const a = yield Promise.resolve(1);
    const b = yield* new Await(Promise.resolve(2));
    return (a as number) + b;
  });
  await driveClean(h);
  assert.equal(task.result, 3);
});
