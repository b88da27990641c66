/** `WaitForSignal` and `Signal`: named wake-ups, recipients, timeouts. */
import assert from "node:assert/strict";
import { OperationTimeout, Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("Signal: wakes every waiter with the value and returns how many", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const got: string[] = [];
    for (const name of ["a", "b", "c"]) {
      if (kind === "sync") {
        h.sched.add(function* () {
          got.push(`${name}:${yield* new WaitForSignal<string>("go")}`);
        });
      } else {
        h.sched.add(async function* () {
          const v: string = yield new WaitForSignal<string>("go");
          got.push(`${name}:${v}`);
        });
      }
    }
    const signaller = h.sched.add(function* () {
      yield new Sleep(1); // every waiter (async ones too) has parked by now
      return yield* new Signal("go", "v");
    });
    await driveClean(h);
    assert.equal(signaller.result, 3, kind);
    assert.deepEqual(got, ["a:v", "b:v", "c:v"], kind);
  }
});

Deno.test("Signal: an async signaller wakes sync waiters", async () => {
  const h = harness();
  const waiter = h.sched.add(function* () {
    return yield* new WaitForSignal<number>("n");
  });
  const signaller = h.sched.add(async function* () {
    await Promise.resolve();
    return (yield new Signal("n", 5)) as number;
  });
  await driveClean(h);
  assert.equal(waiter.result, 5);
  assert.equal(signaller.result, 1);
});

Deno.test("Signal: with nobody waiting it returns 0 and does not pause", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const n = yield* new Signal("nobody", 1);
    return [n, h.clock.now()];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [0, 0]);
});

Deno.test("Signal: names: strings equal by value, objects by identity", async () => {
  const h = harness();
  const key = { k: 1 };
  const sym = Symbol("s");
  const got: unknown[] = [];
  for (const name of ["s" + "tr", key, 7, sym]) {
    h.sched.add(function* () {
      got.push(yield new WaitForSignal(name, { timeout: 100 }));
    });
  }
  const counts = h.sched.add(function* () {
    return [
      yield* new Signal("st" + "r", "string"),
      yield* new Signal({ k: 1 }, "other object"), // a different object: nobody
      yield* new Signal(key, "object"),
      yield* new Signal(7, "number"),
      yield* new Signal(Symbol("s"), "other symbol"),
      yield* new Signal(sym, "symbol"),
    ];
  });
  await driveClean(h);
  assert.deepEqual(counts.result, [1, 0, 1, 1, 0, 1]);
  assert.deepEqual(got, ["string", "object", "number", "symbol"]);
});

Deno.test("WaitForSignal: a timeout throws OperationTimeout in and removes the waiter", async () => {
  const h = harness();
  const op = new WaitForSignal("x", { timeout: 100 });
  const waiter = h.sched.add(function* () {
    try {
      yield op;
    } catch (e) {
      return e;
    }
  });
  const later = h.sched.add(function* () {
    yield new Sleep(150);
    return yield* new Signal("x");
  });
  await driveClean(h);
  const e = waiter.result as OperationTimeout;
  assert.ok(e instanceof OperationTimeout);
  assert.equal(e.name, "OperationTimeout");
  assert.equal(e.operation, op);
  assert.equal(e.timeout, 100);
  assert.equal(e.message, 'WaitForSignal("x") timed out after 100 ms');
  assert.equal(later.result, 0, "the timed-out waiter is no longer on the list");
  assert.equal(h.clock.now(), 150);
});

Deno.test("WaitForSignal: a signal just before the deadline wins; the timer is cleared", async () => {
  const h = harness();
  const waiter = h.sched.add(function* () {
    return yield* new WaitForSignal("x", { timeout: 100 });
  });
  h.sched.add(function* () {
    yield new Sleep(99);
    yield new Signal("x", "in time");
  });
  await driveClean(h);
  assert.equal(waiter.result, "in time");
  assert.deepEqual(h.errors, []);
});

Deno.test("Signal with recipients: waits until n waiters are there, then wakes them all", async () => {
  const h = harness();
  const woke: string[] = [];
  const signaller = h.sched.add(function* () {
    const n = yield* new Signal("s", "go", { recipients: 3 });
    return [n, h.clock.now()];
  });
  for (const [name, ms] of [["a", 10], ["b", 20], ["c", 30], ["d", 30]] as const) {
    h.sched.add(function* () {
      yield new Sleep(ms);
      woke.push(`${name}:${yield* new WaitForSignal("s", { timeout: 1000 })}`);
    });
  }
  await driveClean(h);
  assert.deepEqual(signaller.result, [3, 30], "fired when the third waiter came");
  assert.deepEqual(woke.toSorted(), ["a:go", "b:go", "c:go"]);
  assert.equal(h.errors.length, 1, "d came after the signal and timed out");
  assert.ok(h.errors[0][0] instanceof OperationTimeout);
});

Deno.test("Signal with recipients: enough waiters already there: fires at once", async () => {
  const h = harness();
  for (let i = 0; i < 3; i++) {
    h.sched.add(function* () {
      yield new WaitForSignal("s");
    });
  }
  const signaller = h.sched.add(function* () {
    return yield* new Signal("s", undefined, { recipients: 2 });
  });
  await driveClean(h);
  assert.equal(signaller.result, 3);
});

Deno.test("Signal with recipients: a timeout throws OperationTimeout; the signaller is withdrawn", async () => {
  const h = harness();
  const op = new Signal("s", 1, { recipients: 2, timeout: 50 });
  const signaller = h.sched.add(function* () {
    try {
      yield op;
    } catch (e) {
      return e;
    }
  });
  const w1 = h.sched.add(function* () {
    try {
      return yield* new WaitForSignal("s", { timeout: 200 });
    } catch (e) {
      return e;
    }
  });
  const w2 = h.sched.add(function* () {
    yield new Sleep(100);
    try {
      return yield* new WaitForSignal("s", { timeout: 100 });
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = signaller.result as OperationTimeout;
  assert.ok(e instanceof OperationTimeout);
  assert.equal(e.message, 'Signal("s") timed out after 50 ms');
  assert.ok(w1.result instanceof OperationTimeout, "the withdrawn signaller never fires");
  assert.ok(w2.result instanceof OperationTimeout);
});

Deno.test("Signal with recipients: a counted waiter that is cancelled no longer counts", async () => {
  const h = harness();
  const signaller = h.sched.add(function* () {
    try {
      return yield* new Signal("s", 1, { recipients: 2, timeout: 100 });
    } catch (e) {
      return e;
    }
  });
  const first = h.sched.add(function* () {
    yield new WaitForSignal("s");
  });
  h.sched.add(function* () {
    yield new Sleep(10);
    first.cancel();
    yield new Sleep(10);
    yield new WaitForSignal("s", { timeout: 200 }); // one waiter again: not enough
  });
  await driveClean(h);
  assert.ok(signaller.result instanceof OperationTimeout, `fired with ${signaller.result}`);
  assert.equal(first.state, "cancelled");
  assert.equal(h.errors.length, 1, "the lone waiter timed out too");
});

Deno.test("Signal: recipients must be an integer >= 0 (RangeError saying what it got)", () => {
  for (const bad of [-1, 1.5, NaN, Infinity, "2"]) {
    assert.throws(
      () => new Signal("s", 1, { recipients: bad as number }),
      (e: unknown) =>
        e instanceof RangeError && /Signal: recipients must be an integer >= 0/.test(e.message) &&
        e.message.endsWith(`got ${String(bad)}`),
      String(bad),
    );
  }
  assert.equal(new Signal("s", 1, { recipients: 0 }).recipients, 0);
  assert.equal(new Signal("s").recipients, 0);
});

Deno.test("WaitForSignal/Signal: a bad timeout is a RangeError at construction", () => {
  for (const bad of [-2, NaN, "10", -Infinity]) {
    assert.throws(
      () => new WaitForSignal("s", { timeout: bad as number }),
      (e: unknown) =>
        e instanceof RangeError && /WaitForSignal: timeout must be a number of ms >= -1/.test(e.message),
    );
    assert.throws(
      () => new Signal("s", 1, { timeout: bad as number, recipients: 1 }),
      (e: unknown) => e instanceof RangeError && /Signal: timeout/.test(e.message),
    );
  }
});

Deno.test("Signal: toString names the signal", () => {
  assert.equal(String(new Signal("abc")), 'Signal("abc")');
  assert.equal(String(new WaitForSignal({})), "WaitForSignal(an object)");
});

Deno.test("WaitForSignal: typed results with yield*", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const v: string = yield* new WaitForSignal<string>("x");
    const n: number = yield* new Signal("y", 1);
    let wrong = 0;
    try {
      // @ts-expect-error: the signalled value is a string, not a number
      wrong = yield* new WaitForSignal<string>("never", { timeout: 5 });
    } catch (e) {
      if (!(e instanceof OperationTimeout)) throw e;
    }
    return [v, n, wrong];
  });
  h.sched.add(function* () {
    yield new Signal("x", "typed");
  });
  await driveClean(h);
  assert.deepEqual(task.result, ["typed", 0, 0]);
});
