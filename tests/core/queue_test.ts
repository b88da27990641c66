/** `Queue`: FIFO between coroutines, bounded or not, with join/taskDone. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { OperationTimeout, Queue, QueueEmpty, QueueFull, Sleep } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("Queue: items come out in the order they went in (sync and async)", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const q = new Queue<number>(3);
    if (kind === "sync") {
      h.sched.add(function* () {
        for (let i = 0; i < 10; i++) yield q.put(i);
      });
    } else {
      h.sched.add(async function* () {
        for (let i = 0; i < 10; i++) yield q.put(i);
      });
    }
    const consumer = kind === "sync"
      ? h.sched.add(function* () {
        const got: number[] = [];
        for (let i = 0; i < 10; i++) got.push(yield* q.get());
        return got;
      })
      : h.sched.add(async function* () {
        const got: number[] = [];
        for (let i = 0; i < 10; i++) got.push((yield q.get()) as number);
        return got;
      });
    await driveClean(h);
    assert.deepEqual(consumer.result, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], kind);
  }
});

Deno.test("Queue: qsize, empty, full, maxsize, unfinishedTasks", () => {
  const q = new Queue<string>(2);
  assert.equal(q.maxsize, 2);
  assert.deepEqual([q.qsize(), q.empty(), q.full()], [0, true, false]);
  q.putNowait("a");
  assert.deepEqual([q.qsize(), q.empty(), q.full()], [1, false, false]);
  q.putNowait("b");
  assert.deepEqual([q.qsize(), q.empty(), q.full()], [2, false, true]);
  assert.equal(q.unfinishedTasks, 2);
  assert.equal(q.getNowait(), "a");
  assert.equal(q.getNowait(), "b");
  assert.equal(q.unfinishedTasks, 2, "getting does not mark an item done");
  q.taskDone();
  q.taskDone();
  assert.equal(q.unfinishedTasks, 0);
});

Deno.test("Queue: getNowait on empty throws QueueEmpty; putNowait on full throws QueueFull", () => {
  const q = new Queue<number>(1);
  assert.throws(
    () => q.getNowait(),
    (e: unknown) => e instanceof QueueEmpty && e.name === "QueueEmpty" && /empty/.test(e.message),
  );
  q.putNowait(1);
  assert.throws(
    () => q.putNowait(2),
    (e: unknown) => e instanceof QueueFull && e.name === "QueueFull" && /full/.test(e.message),
  );
  assert.equal(q.qsize(), 1);
  assert.equal(q.unfinishedTasks, 1, "a refused put is not counted");
});

Deno.test("Queue: maxsize 0 is unbounded", () => {
  const q = new Queue<number>();
  for (let i = 0; i < 10_000; i++) q.putNowait(i);
  assert.equal(q.full(), false);
  assert.equal(q.qsize(), 10_000);
});

Deno.test("Queue: maxsize must be an integer >= 0 (RangeError saying what it got)", () => {
  for (const bad of [-1, 1.5, NaN, Infinity, "3"]) {
    assert.throws(
      () => new Queue(bad as number),
      (e: unknown) =>
        e instanceof RangeError && /Queue: maxsize must be an integer >= 0/.test(e.message) &&
        e.message.endsWith(`got ${String(bad)}`),
      String(bad),
    );
  }
});

Deno.test("Queue: get waits for a put; put waits while full", async () => {
  const h = harness();
  const q = new Queue<string>(1);
  const log: string[] = [];
  h.sched.add(function* getter() {
    log.push(`got ${yield* q.get()} at ${h.clock.now()}`);
    yield new Sleep(20);
    log.push(`got ${yield* q.get()} at ${h.clock.now()}`);
    log.push(`got ${yield* q.get()} at ${h.clock.now()}`);
  });
  h.sched.add(function* putter() {
    yield new Sleep(10);
    yield q.put("a");
    yield q.put("b");
    log.push(`put b at ${h.clock.now()}`);
    yield q.put("c"); // full until the getter wakes at 30
    log.push(`put c at ${h.clock.now()}`);
  });
  await driveClean(h);
  assert.ok(log.includes("got a at 10"));
  assert.ok(log.includes("put b at 10"));
  assert.ok(log.includes("put c at 30"));
  assert.ok(log.includes("got b at 30"));
  assert.ok(log.includes("got c at 30"));
});

Deno.test("Queue: putNowait hands the item to a waiting getter", async () => {
  const h = harness();
  const q = new Queue<number>(1);
  const getter = h.sched.add(function* () {
    return yield* q.get();
  });
  h.sched.add(function* () {
    yield new Sleep(1);
    q.putNowait(5);
    assert.equal(q.qsize(), 0);
    q.putNowait(6); // the getter has the first: room for this one
    assert.equal(q.qsize(), 1);
  });
  await driveClean(h);
  assert.equal(getter.result, 5);
  assert.equal(q.getNowait(), 6);
});

Deno.test("Queue: getNowait admits a parked putter", async () => {
  const h = harness();
  const q = new Queue<number>(1);
  const log: string[] = [];
  h.sched.add(function* () {
    yield q.put(1);
    yield q.put(2);
    log.push("second put done");
  });
  h.sched.add(function* () {
    yield new Sleep(1);
    log.push(`took ${q.getNowait()}`);
    assert.equal(q.qsize(), 1, "the parked item moved in");
  });
  await driveClean(h);
  assert.deepEqual(log, ["took 1", "second put done"]);
  assert.equal(q.getNowait(), 2);
});

Deno.test("Queue.get: a timeout throws OperationTimeout; the next put goes to the next getter", async () => {
  const h = harness();
  const q = new Queue<number>();
  const op = q.get({ timeout: 50 });
  const early = h.sched.add(function* () {
    try {
      yield op;
    } catch (e) {
      return e;
    }
  });
  const patient = h.sched.add(function* () {
    return yield* q.get({ timeout: 1000 });
  });
  h.sched.add(function* () {
    yield new Sleep(60);
    yield q.put(9);
  });
  await driveClean(h);
  const e = early.result as OperationTimeout;
  assert.ok(e instanceof OperationTimeout);
  assert.equal(e.message, "Queue.get timed out after 50 ms");
  assert.equal(e.operation, op);
  assert.equal(patient.result, 9);
  assert.equal(q.qsize(), 0);
});

Deno.test("Queue.put: a timeout throws OperationTimeout; its item never enters the queue", async () => {
  const h = harness();
  const q = new Queue<string>(1);
  q.putNowait("first");
  const putter = h.sched.add(function* () {
    try {
      yield q.put("timed out", { timeout: 50 });
    } catch (e) {
      return e;
    }
  });
  const getter = h.sched.add(function* () {
    yield new Sleep(60);
    const got = [yield* q.get()];
    yield q.put("later");
    got.push(yield* q.get());
    return got;
  });
  await driveClean(h);
  assert.ok(putter.result instanceof OperationTimeout);
  assert.equal((putter.result as Error).message, "Queue.put timed out after 50 ms");
  assert.deepEqual(getter.result, ["first", "later"]);
  assert.equal(q.unfinishedTasks, 2);
});

Deno.test("Queue.join: waits until every item had its taskDone; at once when none is pending", async () => {
  const h = harness();
  const q = new Queue<number>();
  const log: string[] = [];
  h.sched.add(function* boss() {
    yield q.join();
    log.push(`empty join at ${h.clock.now()}`);
    for (let i = 0; i < 3; i++) yield q.put(i);
    yield q.join();
    log.push(`joined at ${h.clock.now()}`);
  });
  h.sched.add(function* worker() {
    for (let i = 0; i < 3; i++) {
      yield q.get();
      yield new Sleep(10);
      q.taskDone();
    }
  });
  await driveClean(h);
  assert.deepEqual(log, ["empty join at 0", "joined at 30"]);
});

Deno.test("Queue.join: a timeout throws OperationTimeout", async () => {
  const h = harness();
  const q = new Queue<number>();
  q.putNowait(1);
  const task = h.sched.add(function* () {
    try {
      yield q.join({ timeout: 25 });
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  assert.ok(task.result instanceof OperationTimeout);
  assert.equal((task.result as Error).message, "Queue.join timed out after 25 ms");
});

Deno.test("Queue.taskDone: called too many times is an Error saying so", () => {
  const q = new Queue<number>();
  assert.throws(
    () => q.taskDone(),
    (e: unknown) =>
      e instanceof Error && /Queue\.taskDone: called more times than items were put/.test(e.message),
  );
  q.putNowait(1);
  q.getNowait();
  q.taskDone();
  assert.throws(() => q.taskDone(), /more times than items were put/);
});

Deno.test("Queue: a bad timeout is a RangeError at construction of get/put/join", () => {
  const q = new Queue<number>();
  assert.throws(
    () => q.get({ timeout: -2 }),
    (e: unknown) => e instanceof RangeError && /Queue\.get: timeout/.test(e.message),
  );
  assert.throws(
    () => q.put(1, { timeout: NaN }),
    (e: unknown) => e instanceof RangeError && /Queue\.put: timeout/.test(e.message),
  );
  assert.throws(
    () => q.join({ timeout: -7 }),
    (e: unknown) => e instanceof RangeError && /Queue\.join: timeout/.test(e.message),
  );
});

Deno.test("Queue: 100 000 immediate puts then gets in one task do not overflow the stack", async () => {
  const h = harness();
  const q = new Queue<number>();
  const task = h.sched.add(function* () {
    for (let i = 0; i < 100_000; i++) yield q.put(i);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += yield* q.get();
    return sum;
  });
  await driveClean(h);
  assert.equal(task.result, (100_000 * 99_999) / 2);
});

Deno.test("Queue: 100 000 hand-offs between two tasks through maxsize 1", async () => {
  const h = harness();
  const q = new Queue<number>(1);
  const N = 100_000;
  h.sched.add(function* () {
    for (let i = 0; i < N; i++) yield q.put(i);
  });
  const consumer = h.sched.add(function* () {
    let expected = 0;
    for (let i = 0; i < N; i++) if ((yield* q.get()) === expected) expected++;
    return expected;
  });
  await driveClean(h);
  assert.equal(consumer.result, N);
});

Deno.test("Queue: typed results with yield*", async () => {
  const h = harness();
  const q = new Queue<string>();
  const task = h.sched.add(function* () {
    const v: void = yield* q.put("s");
    const s: string = yield* q.get();
    // @ts-expect-error: the items are strings
    const n: number = yield* q.get({ timeout: 5 });
    return [v, s, n];
  });
  await driveClean(h);
  assert.ok(task.error instanceof OperationTimeout);
});

// ---------------------------------------------------------------- property

type Pause = "none" | "yield" | "sleep0" | "sleep";
const pause = fc.constantFrom<Pause>("none", "yield", "sleep0", "sleep");

function* doPause(p: Pause, ms: number) {
  if (p === "yield") yield;
  else if (p === "sleep0") yield new Sleep(0);
  else if (p === "sleep") yield new Sleep(ms);
}

const STOP = -1;

Deno.test("Queue property: random producers/consumers on a bounded queue lose and duplicate nothing", async () => {
  const producer = fc.record({
    items: fc.integer({ min: 0, max: 8 }),
    pauses: fc.array(pause, { minLength: 9, maxLength: 9 }),
    sleepMs: fc.integer({ min: 1, max: 5 }),
    putTimeout: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    onTimeout: fc.constantFrom("retry", "skip"),
    async: fc.boolean(),
  });
  const consumer = fc.record({
    pauses: fc.array(pause, { minLength: 5, maxLength: 5 }),
    sleepMs: fc.integer({ min: 1, max: 5 }),
    getTimeout: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    async: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(producer, { minLength: 1, maxLength: 4 }),
      fc.array(consumer, { minLength: 1, maxLength: 4 }),
      async (maxsize, producers, consumers) => {
        const h = harness();
        const q = new Queue<number>(maxsize);
        const put: number[] = [];
        const seen: number[][] = consumers.map(() => []);
        let producing = producers.length;
        const encode = (p: number, i: number) => p * 100 + i;

        producers.forEach((cfg, p) => {
          function* body() {
            for (let i = 0; i < cfg.items; i++) {
              yield* doPause(cfg.pauses[i], cfg.sleepMs);
              for (;;) {
                try {
                  yield q.put(
                    encode(p, i),
                    cfg.putTimeout === undefined ? undefined : { timeout: cfg.putTimeout },
                  );
                  put.push(encode(p, i));
                  break;
                } catch (e) {
                  if (!(e instanceof OperationTimeout)) throw e;
                  if (cfg.onTimeout === "skip") break;
                }
              }
            }
            if (--producing === 0) { for (let c = 0; c < consumers.length; c++) yield q.put(STOP); }
          }
          if (cfg.async) {
            h.sched.add(async function* () {
              yield* body();
            });
          } else h.sched.add(body);
        });

        consumers.forEach((cfg, c) => {
          function* body() {
            for (let n = 0;; n++) {
              yield* doPause(cfg.pauses[n % cfg.pauses.length], cfg.sleepMs);
              let item: number;
              try {
                item = yield* q.get(cfg.getTimeout === undefined ? undefined : { timeout: cfg.getTimeout });
              } catch (e) {
                if (!(e instanceof OperationTimeout)) throw e;
                continue;
              }
              q.taskDone();
              if (item === STOP) return;
              seen[c].push(item);
            }
          }
          if (cfg.async) {
            h.sched.add(async function* () {
              yield* body();
            });
          } else h.sched.add(body);
        });

        await driveClean(h, 20_000);
        assert.deepEqual(h.errors, []);
        const got = seen.flat();
        assert.deepEqual(got.toSorted((a, b) => a - b), put.toSorted((a, b) => a - b), "same multiset");
        for (const list of seen) {
          for (let p = 0; p < producers.length; p++) {
            const mine = list.filter((x) => Math.floor(x / 100) === p);
            assert.deepEqual(mine, mine.toSorted((a, b) => a - b), "a producer's items in order");
          }
        }
        assert.equal(q.qsize(), 0);
        assert.equal(q.unfinishedTasks, 0);
      },
    ),
    { numRuns: 100 },
  );
});
