/** `Await` and yielding a bare promise. */
import assert from "node:assert/strict";
import { Await, OperationTimeout } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("Await: the resolved value is sent back (sync and async generators)", async () => {
  const h = harness();
  const a = h.sched.add(function* () {
    const n: number = yield* new Await(Promise.resolve(7));
    return n;
  });
  const b = h.sched.add(async function* () {
    const n: number = yield new Await(Promise.resolve(8));
    return n;
  });
  await driveClean(h);
  assert.equal(a.result, 7);
  assert.equal(b.result, 8);
});

Deno.test("Await: a bare promise yielded from a sync generator is awaited", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    const v = yield new Promise<string>((resolve) => queueMicrotask(() => resolve("later")));
    return v;
  });
  await driveClean(h);
  assert.equal(task.result, "later");
});

Deno.test("Await: any thenable works", async () => {
  const h = harness();
  const thenable: PromiseLike<number> = {
    then(onFulfilled) {
      onFulfilled?.(11);
      return undefined as never;
    },
  };
  const task = h.sched.add(function* () {
    return [yield* new Await(thenable), yield thenable];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [11, 11]);
});

Deno.test("Await: a rejection is thrown in", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const boom = new Error("rejected");
    const task = kind === "sync"
      ? h.sched.add(function* () {
        try {
          yield Promise.reject(boom);
        } catch (e) {
          return e;
        }
      })
      : h.sched.add(async function* () {
        try {
          yield new Await(Promise.reject(boom));
        } catch (e) {
          return e;
        }
      });
    await driveClean(h);
    assert.equal(task.result, boom, kind);
  }
});

Deno.test("Await: an uncaught rejection fails the task, reported once", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    yield Promise.reject(new Error("unhandled"));
  });
  await driveClean(h);
  assert.equal(task.state, "failed");
  assert.equal(h.errors.length, 1);
});

Deno.test("Await: a timeout throws OperationTimeout; the late outcome is ignored", async () => {
  const h = harness();
  const gate = Promise.withResolvers<string>();
  const op = new Await(gate.promise, { timeout: 100 });
  const task = h.sched.add(function* () {
    try {
      yield op;
    } catch (e) {
      return [e, h.clock.now()];
    }
  });
  await driveClean(h);
  const [e, at] = task.result as [OperationTimeout, number];
  assert.ok(e instanceof OperationTimeout);
  assert.equal(e.message, "Await timed out after 100 ms");
  assert.equal(e.operation, op);
  assert.equal(at, 100);
  gate.resolve("too late"); // nothing left to resume: no error, no effect
  await Promise.resolve();
  assert.equal(task.state, "finished");
});

Deno.test("Await: a late rejection after a timeout is ignored too (no unhandled rejection)", async () => {
  const h = harness();
  const gate = Promise.withResolvers<string>();
  const task = h.sched.add(function* () {
    try {
      yield new Await(gate.promise, { timeout: 10 });
    } catch (e) {
      return e instanceof OperationTimeout;
    }
  });
  await driveClean(h);
  gate.reject(new Error("late failure"));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(task.result, true);
});

Deno.test("Await: something that is not a promise is a TypeError saying what it got", () => {
  for (const bad of [42, null, undefined, {}, "p"]) {
    assert.throws(
      () => new Await(bad as never),
      (e: unknown) =>
        e instanceof TypeError && /Await: expected a promise/.test(e.message) &&
        e.message.includes(String(bad)),
    );
  }
  assert.throws(() => new Await(Promise.resolve(1), { timeout: NaN }), RangeError);
});
