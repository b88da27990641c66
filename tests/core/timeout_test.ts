/**
 * Timeouts: every waiting operation's timeout path, the scheduler's
 * defaultTimeout, `-1` (never), validation, and the OperationTimeout error.
 */
import assert from "node:assert/strict";
import {
  All,
  Await,
  Join,
  type Operation,
  OperationTimeout,
  PublishSubscribeQueue,
  Queue,
  Race,
  Signal,
  Sleep,
  WaitForSignal,
} from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

/**
 * Operations that wait forever unless they time out; `make(opts)` builds one.
 * (The pub/sub fetch needs a subscription first: it has its own tests below.)
 */
function waiting(): [string, (opts?: { timeout?: number }) => Operation<unknown>][] {
  const full = new Queue<number>(1);
  full.putNowait(0);
  const unfinished = new Queue<number>();
  unfinished.putNowait(0);
  return [
    ["WaitForSignal", (o) => new WaitForSignal("never", o)],
    ["Signal(recipients)", (o) => new Signal("nobody", 1, { recipients: 1, ...o })],
    ["Await", (o) => new Await(new Promise(() => {}), o)],
    ["Queue.get", (o) => new Queue<number>().get(o)],
    ["Queue.put", (o) => full.put(1, o)],
    ["Queue.join", (o) => unfinished.join(o)],
  ];
}

Deno.test("timeouts: each waiting operation throws OperationTimeout after its own timeout", async () => {
  for (const [name, make] of waiting()) {
    for (const kind of ["sync", "async"] as const) {
      const h = harness();
      const op = make({ timeout: 40 });
      const body = function* () {
        try {
          yield op;
        } catch (e) {
          return [e, h.clock.now()];
        }
        return "not timed out";
      };
      const task = kind === "sync" ? h.sched.add(body) : h.sched.add(async function* () {
        return yield* body();
      });
      await driveClean(h);
      const [e, at] = task.result as [OperationTimeout, number];
      assert.ok(e instanceof OperationTimeout, `${name} ${kind}: ${task.result}`);
      assert.equal(at, 40, name);
      assert.equal(e.timeout, 40);
      assert.equal(e.operation, op);
      assert.equal(e.message, `${op} timed out after 40 ms`);
      assert.ok(e.message.startsWith(name.replace("(recipients)", "")), e.message);
    }
  }
});

Deno.test("timeouts: the scheduler's defaultTimeout applies to every wait without its own", async () => {
  for (const [name, make] of waiting()) {
    const h = harness({ defaultTimeout: 25 });
    const op = make();
    const task = h.sched.add(function* () {
      try {
        yield op;
      } catch (e) {
        return [e, h.clock.now()];
      }
    });
    await driveClean(h);
    const [e, at] = task.result as [OperationTimeout, number];
    assert.ok(e instanceof OperationTimeout, name);
    assert.equal(at, 25, name);
    assert.equal(e.message, `${op} timed out after 25 ms`);
  }
});

Deno.test("timeouts: a timeout of 0 means the scheduler's default", async () => {
  const h = harness({ defaultTimeout: 15 });
  const task = h.sched.add(function* () {
    try {
      yield new WaitForSignal("never", { timeout: 0 });
    } catch (e) {
      return [e instanceof OperationTimeout, h.clock.now()];
    }
  });
  await driveClean(h);
  assert.deepEqual(task.result, [true, 15]);
});

Deno.test("timeouts: an explicit timeout overrides the default, longer or shorter", async () => {
  const h = harness({ defaultTimeout: 50 });
  const at = (ms: number) =>
    h.sched.add(function* () {
      try {
        yield new WaitForSignal("never", { timeout: ms });
      } catch {
        return h.clock.now();
      }
    });
  const short = at(10);
  const long = at(200);
  await driveClean(h);
  assert.equal(short.result, 10);
  assert.equal(long.result, 200);
});

Deno.test("timeouts: -1 disables the default timeout per operation", async () => {
  for (const [name, make] of waiting()) {
    const h = harness({ defaultTimeout: 10 });
    const op = make({ timeout: -1 });
    const task = h.sched.add(function* () {
      yield op;
    });
    h.sched.add(function* () {
      yield new Sleep(1000);
      task.cancel(); // still waiting after 100 times the default
    });
    await driveClean(h);
    assert.equal(task.state, "cancelled", name);
    assert.equal(h.clock.now(), 1000);
    assert.deepEqual(h.errors, [], name);
  }
});

Deno.test("timeouts: Join follows the default and -1 too", async () => {
  const h = harness({ defaultTimeout: 10 });
  const target = h.sched.add(function* () {
    yield new Sleep(100);
    return "t";
  });
  const defaulted = h.sched.add(function* () {
    try {
      yield new Join(target);
    } catch (e) {
      return [e instanceof OperationTimeout, h.clock.now()];
    }
  });
  const patient = h.sched.add(function* () {
    return yield* new Join(target, { timeout: -1 });
  });
  await driveClean(h);
  assert.deepEqual(defaulted.result, [true, 10]);
  assert.equal(patient.result, "t");
});

Deno.test("timeouts: pub/sub fetch follows the default", async () => {
  const h = harness({ defaultTimeout: 12 });
  const ps = new PublishSubscribeQueue<number>();
  const task = h.sched.add(function* () {
    yield ps.subscribe();
    try {
      yield ps.fetch();
    } catch (e) {
      return [e instanceof OperationTimeout, h.clock.now()];
    }
  });
  await driveClean(h);
  assert.deepEqual(task.result, [true, 12]);
});

Deno.test("timeouts: each waiting operation's own timeout, pub/sub fetch included (sync and async)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const ps = new PublishSubscribeQueue<number>();
    const body = function* () {
      yield ps.subscribe("k");
      try {
        yield ps.fetch({ key: "k", timeout: 40 });
      } catch (e) {
        return [e instanceof OperationTimeout, h.clock.now(), (e as Error).message];
      }
    };
    const task = kind === "sync" ? h.sched.add(body) : h.sched.add(async function* () {
      return yield* body();
    });
    await driveClean(h);
    assert.deepEqual(task.result, [true, 40, "PublishSubscribeQueue.fetch timed out after 40 ms"], kind);
  }
});

Deno.test("timeouts: Sleep is never cut by defaultTimeout; non-waiting operations ignore it", async () => {
  const h = harness({ defaultTimeout: 5 });
  const task = h.sched.add(function* () {
    yield new Sleep(50);
    yield new Race([new Sleep(20)]);
    yield new All([new Sleep(20), new Sleep(30)]);
    yield new Signal("nobody");
    return h.clock.now();
  });
  await driveClean(h);
  assert.equal(task.result, 100);
  assert.deepEqual(h.errors, []);
});

Deno.test("timeouts: fires exactly at the deadline, not a ms before", async () => {
  const h = harness();
  const task = h.sched.add(function* () {
    try {
      yield new WaitForSignal("never", { timeout: 100 });
    } catch {
      return "timed out";
    }
  });
  const done = h.sched.run();
  await Promise.resolve();
  await Promise.resolve();
  h.clock.advance(99);
  await Promise.resolve();
  assert.equal(task.state, "running");
  h.clock.advance(1);
  await done;
  assert.equal(task.result, "timed out");
  assert.equal(h.clock.pending, 0);
});

Deno.test("timeouts: an uncaught OperationTimeout goes to onError once; the others go on", async () => {
  const h = harness();
  const failing = h.sched.add(async function* () {
    yield new Queue<number>().get({ timeout: 10 });
  });
  const survivor = h.sched.add(function* () {
    yield new Sleep(50);
    return "fine";
  });
  await driveClean(h);
  assert.equal(survivor.result, "fine");
  assert.equal(failing.state, "failed");
  assert.ok(failing.error instanceof OperationTimeout);
  assert.equal(h.errors.length, 1);
  assert.equal(h.errors[0][0], failing.error);
  assert.equal(h.errors[0][1], failing);
});

Deno.test("timeouts: many timeouts, one host timer, none left at the end", async () => {
  const h = harness();
  for (let i = 0; i < 1000; i++) {
    h.sched.add(function* () {
      try {
        yield new WaitForSignal("never", { timeout: 1 + (i * 7919) % 1000 });
      } catch {
        // expected
      }
    });
  }
  await driveClean(h);
  assert.ok(h.clock.maxPending <= 1, `at most one host timer (saw ${h.clock.maxPending})`);
  assert.equal(h.clock.now(), 1000);
});

Deno.test("timeouts: a bad timeout is a RangeError at construction, for every operation", () => {
  const q = new Queue<number>();
  const ps = new PublishSubscribeQueue<number>();
  const h = harness();
  const t = h.sched.add(function* () {});
  const makers: [string, (timeout: number) => unknown][] = [
    ["WaitForSignal", (timeout) => new WaitForSignal("x", { timeout })],
    ["Signal", (timeout) => new Signal("x", 1, { timeout })],
    ["Join", (timeout) => new Join(t, { timeout })],
    ["Await", (timeout) => new Await(Promise.resolve(), { timeout })],
    ["Queue.get", (timeout) => q.get({ timeout })],
    ["Queue.put", (timeout) => q.put(1, { timeout })],
    ["Queue.join", (timeout) => q.join({ timeout })],
    ["PublishSubscribeQueue.fetch", (timeout) => ps.fetch({ timeout })],
  ];
  for (const [name, make] of makers) {
    for (const bad of [-2, -100, NaN, -Infinity, "10"]) {
      assert.throws(
        () => make(bad as number),
        (e: unknown) =>
          e instanceof RangeError && e.message.startsWith(`${name}: timeout must be a number of ms >= -1`) &&
          e.message.includes(typeof bad === "string" ? `"${bad}"` : String(bad)),
        `${name} ${String(bad)}`,
      );
    }
    for (const good of [-1, 0, 1, 2.5, 1e6]) make(good);
  }
});

Deno.test("timeouts: a negative timeout other than -1 (e.g. -0.5) is a RangeError too", () => {
  // DESIGN.md: "Timeouts: a number of ms; `-1` means never; `0`/absent means
  // the scheduler's `defaultTimeout`". The issue: negative timeouts are a
  // RangeError at construction. -0.5 is neither -1 nor a number of ms.
  for (const bad of [-0.5, -0.001]) {
    assert.throws(() => new WaitForSignal("x", { timeout: bad }), RangeError, String(bad));
    assert.throws(() => new Queue<number>().get({ timeout: bad }), RangeError, String(bad));
  }
});
