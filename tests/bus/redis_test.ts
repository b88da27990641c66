/**
 * `RedisBus` against a real redis-server: two schedulers, each with a bus of
 * its own (as two processes would have), on one Redis — signals cross with
 * their counts, a named queue is read in order by offset on the other side,
 * and Redis going away and coming back never hangs nor lies.
 */
import assert from "node:assert/strict";
import {
  BusUnavailable,
  PublishSubscribeQueue,
  type QueueRead,
  Scheduler,
  Signal,
  type Task,
  WaitForSignal,
} from "../../core/mod.ts";
import { RedisBus } from "../../bus/redis.ts";
import { RedisServer } from "./redis_server.ts";

/** Two schedulers on one Redis, each with a bus of its own; stops them and Redis at the end. */
async function twoSides(
  test: (a: Scheduler, b: Scheduler, redis: RedisServer) => Promise<void>,
  options: { replyWait?: number; timeout?: number } = {},
): Promise<void> {
  const redis = await RedisServer.start();
  // Failures the tests expect are read from the tasks; none goes to stderr.
  const a = new Scheduler({ bus: await RedisBus.connect(redis.url, options), onError: () => {} });
  const b = new Scheduler({ bus: await RedisBus.connect(redis.url, options), onError: () => {} });
  try {
    await test(a, b, redis);
  } finally {
    a.stop();
    b.stop();
    await a.bus.close();
    await b.bus.close();
    await redis.stop();
  }
}

/** Adds `coro` to `sched`, runs the scheduler if it is idle, and waits for the task to end. */
async function settle<R>(sched: Scheduler, coro: () => Generator<unknown, R, unknown>): Promise<Task<R>> {
  const task = sched.add(coro as () => Generator<never, R, unknown>);
  if (!sched.running) sched.run();
  await task.done;
  return task;
}

Deno.test("RedisBus: a signal sent on one side wakes the 40 waiters of the other, and counts them", async () => {
  await twoSides(async (a, b) => {
    const woken: string[] = [];
    const waiters = Array.from({ length: 40 }, () =>
      b.add(function* () {
        woken.push(yield* new WaitForSignal<string>("news", { timeout: 5000 }));
      }));
    b.run();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the 40 wait
    const signaller = await settle(a, function* () {
      return yield* new Signal("news", "hello");
    });
    await Promise.all(waiters.map((w) => w.done));
    assert.equal(signaller.result, 40);
    assert.deepEqual(woken, Array(40).fill("hello"));
    // A value that JSON cannot carry fails clearly.
    const bad = await settle(a, function* () {
      return yield* new Signal("news", 10n);
    });
    assert.match(String(bad.error), /woke 0 here, but not the other processes: .*must survive JSON/);
  });
});

Deno.test("RedisBus: 20 messages published on one side are read in order, by offset, on the other; a waiting read is woken", async () => {
  await twoSides(async (a, b) => {
    const room = new PublishSubscribeQueue<{ n: number }>({ name: "room" });
    // A read that waits on b, before anything is published.
    const waiting = b.add(function* () {
      return yield* room.read({ timeout: 5000 });
    });
    b.run();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await settle(a, function* () {
      for (let n = 1; n <= 20; n++) yield room.publish({ n });
    });
    await waiting.done;
    const first = waiting.result as QueueRead<{ n: number }>;
    assert.ok(first.entries.length >= 1, `the waiting read was woken: ${String(waiting.error)}`);
    assert.equal(first.entries[0].message.n, 1);
    // Then everything after, in order, in as many reads as it takes.
    const reader = await settle(b, function* () {
      const seen = first.entries.map((e) => e.message.n);
      let after = first.entries.at(-1)!.offset;
      while (seen.length < 20) {
        const next = yield* room.read({ after, timeout: 2000 });
        assert.equal(next.reset, false);
        assert.equal(next.epoch, first.epoch);
        seen.push(...next.entries.map((e) => e.message.n));
        after = next.entries.at(-1)!.offset;
      }
      return seen;
    });
    assert.deepEqual(reader.result, Array.from({ length: 20 }, (_, i) => i + 1), String(reader.error));
    // Everything kept, from the start, on the other side too.
    const all = await settle(a, function* () {
      return yield* room.read();
    });
    assert.deepEqual((all.result as QueueRead<{ n: number }>).entries.map((e) => e.message.n), reader.result);
  });
});

Deno.test("RedisBus: Redis killed and restarted — publishes fail at once while it is gone, then signals cross again and an old offset is reset to the new epoch", async () => {
  await twoSides(async (a, b, redis) => {
    const room = new PublishSubscribeQueue<string>({ name: "room" });
    const before = await settle(a, function* () {
      yield room.publish("before");
      return yield* room.read();
    });
    const old = before.result as QueueRead<string>;
    assert.deepEqual(old.entries.map((e) => e.message), ["before"]);

    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const failed = await settle(a, function* () {
      yield room.publish("while away");
    });
    assert.equal(failed.state, "failed");
    assert.ok((failed.error as Error).cause instanceof BusUnavailable, String(failed.error));
    assert.match(String(failed.error), /not stored: the bus at redis:\/\/127\.0\.0\.1:\d+ did not answer/);
    assert.ok(Date.now() - started < 5000, `it failed after ${Date.now() - started} ms`);

    await redis.restart();
    // Both sides reconnect and subscribe again: a signal crosses within seconds.
    const deadline = Date.now() + 10_000;
    for (let count = 0; count !== 1;) {
      assert.ok(Date.now() < deadline, "signals cross again after the restart");
      const waiter = b.add(function* () {
        return yield* new WaitForSignal<string>("again", { timeout: 500 });
      });
      if (!b.running) b.run();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const signaller = await settle(a, function* () {
        return yield* new Signal("again", "back");
      });
      count = signaller.state === "finished" ? signaller.result as number : 0;
      await waiter.done;
    }
    // History was lost (no persistence): the old offset gets everything kept, reset, under a new epoch.
    const after = await settle(b, function* () {
      yield room.publish("after");
      return yield* room.read({ after: old.entries[0].offset, timeout: 1000 });
    });
    const fresh = after.result as QueueRead<string>;
    assert.equal(fresh.reset, true, String(after.error));
    assert.notEqual(fresh.epoch, old.epoch);
    assert.deepEqual(fresh.entries.map((e) => e.message), ["after"]);
  });
});

Deno.test("RedisBus: a malformed URL or refused credentials fail at the start, saying what to fix", async () => {
  await assert.rejects(RedisBus.connect("http://127.0.0.1:6379"), /must begin with redis:\/\//);
  await assert.rejects(RedisBus.connect("redis://127.0.0.1:6379/x"), /\/db must be a number/);
  const redis = await RedisServer.start(["--requirepass", "right"]);
  try {
    await assert.rejects(
      RedisBus.connect(`redis://default:wrong@127.0.0.1:${redis.port}`),
      (error: Error) =>
        error instanceof BusUnavailable && /check the user and password in the URL/.test(error.message),
    );
    const bus = await RedisBus.connect(`redis://default:right@127.0.0.1:${redis.port}`);
    assert.equal(bus.url, `redis://default@127.0.0.1:${redis.port}`, "the password is not shown");
    await bus.close();
  } finally {
    await redis.stop();
  }
  const nobody = await RedisServer.start();
  const port = nobody.port;
  await nobody.stop();
  await assert.rejects(
    RedisBus.connect(`redis://127.0.0.1:${port}`),
    (error: Error) =>
      error instanceof BusUnavailable && /is redis-server running there\?/.test(error.message),
  );
});
