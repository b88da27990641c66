/**
 * The bus in one process (`MemoryBus`, the default): named queues read by
 * offset, waiting reads, resets, and signals that stay in the process.
 */
import assert from "node:assert/strict";
import {
  MemoryBus,
  OperationTimeout,
  PublishSubscribeQueue,
  type QueueRead,
  Scheduler,
  Signal,
  Sleep,
  WaitForSignal,
} from "../../core/mod.ts";

Deno.test("MemoryBus: a named queue is read by offset; a read waits for the next message, within its timeout", async () => {
  const sched = new Scheduler();
  const room = new PublishSubscribeQueue<string>({ name: "room" });
  const reader = sched.add(function* () {
    const first = yield* room.read({ timeout: 1000 }); // waits: nothing yet
    const second = yield* room.read({ after: first.entries.at(-1)!.offset, timeout: 1000 });
    try {
      yield room.read({ after: second.entries.at(-1)!.offset, timeout: 50 });
      return { first, second, timedOut: false };
    } catch (error) {
      return { first, second, timedOut: error instanceof OperationTimeout };
    }
  });
  sched.add(function* () {
    yield new Sleep(10);
    yield room.publish("a");
    yield new Sleep(10);
    yield room.publish("b");
  });
  await sched.run();
  const { first, second, timedOut } = reader.result as {
    first: QueueRead<string>;
    second: QueueRead<string>;
    timedOut: boolean;
  };
  assert.deepEqual(first.entries.map((e) => e.message), ["a"]);
  assert.deepEqual(second.entries.map((e) => e.message), ["b"]);
  assert.equal(second.epoch, first.epoch);
  assert.equal(first.reset || second.reset, false);
  assert.ok(timedOut, "nothing after the last offset: the read waits, then times out");
});

Deno.test("MemoryBus: an offset of another epoch, or older than what is kept, answers everything kept with reset", async () => {
  const sched = new Scheduler();
  const small = new PublishSubscribeQueue<number>({ name: "small", maxLength: 3 });
  const task = sched.add(function* () {
    const offsets: string[] = [];
    for (let n = 1; n <= 5; n++) yield small.publish(n);
    const all = yield* small.read();
    for (const e of all.entries) offsets.push(e.offset);
    const stale = yield* small.read({ after: `${all.epoch}:0` }); // message 1, dropped
    const foreign = yield* small.read({ after: "another:3" });
    return { all, stale, foreign };
  });
  await sched.run();
  const { all, stale, foreign } = task.result as Record<string, QueueRead<number>>;
  assert.deepEqual(all.entries.map((e) => e.message), [3, 4, 5]);
  assert.equal(all.reset, false);
  assert.equal(stale.reset, true);
  assert.deepEqual(stale.entries.map((e) => e.message), [3, 4, 5]);
  assert.equal(foreign.reset, true);
  assert.deepEqual(foreign.entries.map((e) => e.message), [3, 4, 5]);
});

Deno.test("MemoryBus: reading right after the last message dropped is no reset; a named queue's fetch still works", async () => {
  const sched = new Scheduler();
  const q = new PublishSubscribeQueue<number>({ name: "q", maxLength: 2 });
  const task = sched.add(function* () {
    yield q.subscribe("me");
    yield q.publish(1);
    const one = yield* q.read();
    yield q.publish(2);
    yield q.publish(3); // drops 1: reading after it misses nothing
    const after = yield* q.read({ after: one.entries[0].offset });
    const fetched = yield* q.fetch({ key: "me" });
    return { after, fetched };
  });
  await sched.run();
  const { after, fetched } = task.result as { after: QueueRead<number>; fetched: number[] };
  assert.equal(after.reset, false);
  assert.deepEqual(after.entries.map((e) => e.message), [2, 3]);
  assert.deepEqual(fetched, [2, 3], "the process keeps maxLength for fetch too");
});

Deno.test("MemoryBus: a named queue that is only read keeps nothing in the process: its history is the bus's", async () => {
  const sched = new Scheduler();
  const q = new PublishSubscribeQueue<number>({ name: "only-read", maxLength: 3 });
  const task = sched.add(function* () {
    for (let i = 1; i <= 1000; i++) yield q.publish(i);
    const kept = yield* q.read();
    return { kept: kept.entries.map((e) => e.message), size: q.size };
  });
  await sched.run();
  const { kept, size } = task.result as { kept: number[]; size: number };
  assert.deepEqual(kept, [998, 999, 1000]);
  assert.equal(size, 0);
});

Deno.test("MemoryBus: a named queue's fetch: what came after subscribing, at most maxLength kept, nothing once alone", async () => {
  const sched = new Scheduler();
  const q = new PublishSubscribeQueue<string>({ name: "fetched", maxLength: 3 });
  const task = sched.add(function* () {
    yield q.subscribe("a");
    yield q.publish("m1");
    yield q.unsubscribe("a"); // the last subscriber left: nothing is kept for anyone
    const afterLeaving = q.size;
    yield q.publish("m2");
    yield q.subscribe("b");
    yield q.publish("m3");
    const b = yield* q.fetch({ key: "b" });
    for (let i = 4; i <= 9; i++) yield q.publish(`m${i}`);
    const slow = yield* q.fetch({ key: "b" }); // fell behind by more than maxLength: the last 3
    return { afterLeaving, b, slow, size: q.size };
  });
  await sched.run();
  const { afterLeaving, b, slow, size } = task.result as {
    afterLeaving: number;
    b: string[];
    slow: string[];
    size: number;
  };
  assert.equal(afterLeaving, 0);
  assert.deepEqual(b, ["m3"]);
  assert.deepEqual(slow, ["m7", "m8", "m9"]);
  assert.ok(size <= 3, `size ${size}`);
});

Deno.test("MemoryBus: a read of a queue without a name, or a bad name or length, is a clear error", () => {
  assert.throws(
    () => new PublishSubscribeQueue().read(),
    /the queue has no name; make it with new PublishSubscribeQueue\(\{ name \}\)/,
  );
  assert.throws(() => new PublishSubscribeQueue({ name: "" }), /name must be a non-empty string/);
  assert.throws(
    () => new PublishSubscribeQueue({ name: "x", maxLength: 0 }),
    /maxLength must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => new PublishSubscribeQueue({ name: "x" }).read({ after: 5 as unknown as string }),
    /after must be an offset string, got 5/,
  );
});

Deno.test("MemoryBus: a signal stays in the process; the default bus is not shared", async () => {
  const sched = new Scheduler();
  assert.ok(sched.bus instanceof MemoryBus);
  assert.equal(sched.bus.shared, false);
  sched.add(function* () {
    yield new WaitForSignal("x", { timeout: 1000 });
  });
  const signaller = sched.add(function* () {
    return yield* new Signal("x", 1);
  });
  await sched.run();
  assert.equal(signaller.result, 1);
});
