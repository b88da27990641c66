/** `PublishSubscribeQueue`: every subscriber fetches every message since its last fetch. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { OperationTimeout, PublishSubscribeQueue, Sleep } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("pubsub: a fetch waits for a message; publish returns how many fetches it woke", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const ps = new PublishSubscribeQueue<string>();
    const reader = kind === "sync"
      ? h.sched.add(function* () {
        yield ps.subscribe();
        const first: string[] = yield* ps.fetch();
        return [first, h.clock.now()];
      })
      : h.sched.add(async function* () {
        yield ps.subscribe();
        const first: string[] = yield ps.fetch();
        return [first, h.clock.now()];
      });
    const publisher = h.sched.add(function* () {
      yield new Sleep(10);
      return yield* ps.publish("hello");
    });
    await driveClean(h);
    assert.deepEqual(reader.result, [["hello"], 10], kind);
    assert.equal(publisher.result, 1, kind);
  }
});

Deno.test("pubsub: fetch returns every message since the last fetch, at once when there are some", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const reader = h.sched.add(function* () {
    yield ps.subscribe();
    yield new Sleep(10);
    const a = yield* ps.fetch();
    const b = yield* ps.fetch();
    return [a, b];
  });
  h.sched.add(function* () {
    yield ps.publish(1);
    yield ps.publish(2);
    yield new Sleep(20);
    yield ps.publish(3);
  });
  await driveClean(h);
  assert.deepEqual(reader.result, [[1, 2], [3]]);
});

Deno.test("pubsub: a new subscriber's first fetch gets every message kept so far (as cogen)", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<string>();
  const late = h.sched.add(function* () {
    yield new Sleep(10);
    yield ps.subscribe("late");
    return yield* ps.fetch({ key: "late" });
  });
  h.sched.add(function* () {
    yield ps.publish("a");
    yield ps.publish("b");
  });
  await driveClean(h);
  assert.deepEqual(late.result, ["a", "b"]);
  assert.equal(ps.size, 2);
});

Deno.test("pubsub: a key lets one subscriber span many tasks", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const results: number[][] = [];
  h.sched.add(function* () {
    yield ps.subscribe("client-1");
    yield ps.publish(1);
    yield ps.publish(2);
  });
  for (let i = 0; i < 2; i++) {
    h.sched.add(function* poll() {
      yield new Sleep(10 + i * 10);
      results.push(yield* ps.fetch({ key: "client-1", timeout: 100 }));
    });
  }
  h.sched.add(function* () {
    yield new Sleep(15);
    yield ps.publish(3);
  });
  await driveClean(h);
  assert.deepEqual(results, [[1, 2], [3]]);
});

Deno.test("pubsub: subscribe twice changes nothing; unsubscribe says whether it was subscribed", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const task = h.sched.add(function* () {
    yield ps.subscribe("k");
    yield ps.publish(1);
    yield ps.subscribe("k");
    const got = yield* ps.fetch({ key: "k" });
    const subs = ps.subscribers;
    const first = yield* ps.unsubscribe("k");
    const second = yield* ps.unsubscribe("k");
    return [got, subs, first, second, ps.subscribers];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [[1], 1, true, false, 0]);
});

Deno.test("pubsub: fetch of a key that is not subscribed is an Error thrown in, saying so", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const byTask = h.sched.add(function* () {
    try {
      yield ps.fetch();
    } catch (e) {
      return e;
    }
  });
  const byKey = h.sched.add(function* () {
    try {
      yield ps.fetch({ key: "ghost" });
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e1 = byTask.result as Error;
  assert.ok(e1 instanceof Error);
  assert.match(
    e1.message,
    /PublishSubscribeQueue\.fetch: a Task is not subscribed; yield q\.subscribe\(\) first/,
  );
  const e2 = byKey.result as Error;
  assert.match(e2.message, /"ghost" is not subscribed; yield q\.subscribe\(key\) first/);
});

Deno.test("pubsub: a second fetch of the same key while one waits is an Error thrown in", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const first = h.sched.add(function* () {
    yield ps.subscribe("k");
    return yield* ps.fetch({ key: "k" });
  });
  const second = h.sched.add(function* () {
    yield;
    try {
      yield ps.fetch({ key: "k" });
    } catch (e) {
      return e;
    }
  });
  h.sched.add(function* () {
    yield new Sleep(5);
    yield ps.publish(1);
  });
  await driveClean(h);
  assert.deepEqual(first.result, [1]);
  assert.match((second.result as Error).message, /"k" already has a fetch waiting/);
});

Deno.test("pubsub: unsubscribing a key with a fetch waiting throws an Error into that fetch", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const reader = h.sched.add(function* () {
    yield ps.subscribe("k");
    try {
      yield ps.fetch({ key: "k" });
    } catch (e) {
      return e;
    }
  });
  h.sched.add(function* () {
    yield new Sleep(5);
    yield ps.unsubscribe("k");
  });
  await driveClean(h);
  assert.match((reader.result as Error).message, /"k" was unsubscribed while fetching/);
});

Deno.test("pubsub: a fetch timeout throws OperationTimeout; a later publish does not count it", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const reader = h.sched.add(function* () {
    yield ps.subscribe("k");
    try {
      yield ps.fetch({ key: "k", timeout: 50 });
    } catch (e) {
      return e;
    }
  });
  const publisher = h.sched.add(function* () {
    yield new Sleep(60);
    return yield* ps.publish(1);
  });
  await driveClean(h);
  const e = reader.result as OperationTimeout;
  assert.ok(e instanceof OperationTimeout);
  assert.equal(e.message, "PublishSubscribeQueue.fetch timed out after 50 ms");
  assert.equal(publisher.result, 0);
});

Deno.test("pubsub: fetch follows the scheduler's defaultTimeout; -1 disables it", async () => {
  const h = harness({ defaultTimeout: 30 });
  const ps = new PublishSubscribeQueue<number>();
  const short = h.sched.add(function* () {
    yield ps.subscribe("a");
    try {
      yield ps.fetch({ key: "a" });
    } catch (e) {
      return [e instanceof OperationTimeout, h.clock.now()];
    }
  });
  const forever = h.sched.add(function* () {
    yield ps.subscribe("b");
    return [yield* ps.fetch({ key: "b", timeout: -1 }), h.clock.now()];
  });
  h.sched.add(function* () {
    yield new Sleep(100);
    yield ps.publish(1);
  });
  await driveClean(h);
  assert.deepEqual(short.result, [true, 30]);
  assert.deepEqual(forever.result, [[1], 100]);
});

Deno.test("pubsub: compact drops what every subscriber fetched, all when nobody is subscribed", async () => {
  const h = harness();
  const ps = new PublishSubscribeQueue<number>();
  const counts: number[] = [];
  h.sched.add(function* () {
    yield ps.subscribe("a");
    yield ps.subscribe("b");
    yield ps.publish(1);
    yield ps.publish(2);
    counts.push(ps.compact()); // nobody fetched: 0
    yield ps.fetch({ key: "a" });
    counts.push(ps.compact()); // b has not fetched: 0
    yield ps.fetch({ key: "b" });
    yield ps.publish(3);
    counts.push(ps.compact()); // both fetched 1 and 2: 2 dropped
    counts.push(ps.size); // 3 is kept
    yield ps.unsubscribe("a");
    yield ps.unsubscribe("b");
    counts.push(ps.compact()); // nobody subscribed: all dropped
    counts.push(ps.size);
  });
  await driveClean(h);
  assert.deepEqual(counts, [0, 0, 2, 1, 1, 0]);
});

Deno.test("pubsub: a bad fetch timeout is a RangeError at construction", () => {
  const ps = new PublishSubscribeQueue<number>();
  assert.throws(
    () => ps.fetch({ timeout: -5 }),
    (e: unknown) => e instanceof RangeError && /PublishSubscribeQueue\.fetch: timeout/.test(e.message),
  );
});

Deno.test("pubsub: publish's priority orders the woken fetches and the publisher", async () => {
  const order = async (p: number) => {
    const h = harness();
    const ps = new PublishSubscribeQueue<number>();
    const log: string[] = [];
    for (const name of ["r1", "r2"]) {
      h.sched.add(function* () {
        yield ps.subscribe(name);
        yield ps.fetch({ key: name });
        log.push(name);
      });
    }
    h.sched.add(function* () {
      yield new Sleep(1);
      yield ps.publish(1, { priority: p });
      log.push("publisher");
    });
    await driveClean(h);
    return log;
  };
  assert.deepEqual(await order(0), ["r1", "r2", "publisher"]);
  assert.deepEqual(await order(3), ["publisher", "r2", "r1"]);
});

// ---------------------------------------------------------------- property

type Cmd =
  | { t: "publish" }
  | { t: "compact" }
  | { t: "subscribe"; async: boolean; pauses: number[] }
  | { t: "unsubscribe"; which: number }
  | { t: "pause"; ms: number };

const END = -1;

Deno.test("pubsub property: each subscriber sees every message published after it subscribed, once, in order", async () => {
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ t: "publish" as const }) },
    { weight: 2, arbitrary: fc.constant({ t: "compact" as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("subscribe" as const),
        async: fc.boolean(),
        pauses: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 1, maxLength: 4 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("unsubscribe" as const), which: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({ t: fc.constant("pause" as const), ms: fc.integer({ min: -1, max: 3 }) }),
    },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), async (cmds) => {
      const h = harness();
      const ps = new PublishSubscribeQueue<number>();
      let published = 0;
      let dropped = 0;
      interface Sub {
        subAt: number;
        unsubAt: number | null;
        seen: number[];
        ended: boolean;
      }
      const subs: Sub[] = [];
      // -1: a bare yield; 0: Sleep(0); n: Sleep(n)
      function* pauseFor(ms: number) {
        if (ms < 0) yield;
        else yield new Sleep(ms);
      }

      function* subscriber(sub: Sub, key: string, pauses: number[]) {
        yield ps.subscribe(key);
        sub.subAt = published;
        for (let n = 0;; n++) {
          let msgs: number[];
          try {
            msgs = yield* ps.fetch({ key });
          } catch {
            return; // unsubscribed
          }
          for (const m of msgs) {
            if (m === END) {
              sub.ended = true;
              yield ps.unsubscribe(key);
              return;
            }
            sub.seen.push(m);
          }
          if (n % 2 === 0) dropped += ps.compact();
          yield* pauseFor(pauses[n % pauses.length]);
        }
      }

      h.sched.add(function* driver() {
        for (const c of cmds) {
          if (c.t === "publish") yield ps.publish(published++);
          else if (c.t === "compact") dropped += ps.compact();
          else if (c.t === "pause") yield* pauseFor(c.ms);
          else if (c.t === "subscribe") {
            const sub: Sub = { subAt: -1, unsubAt: null, seen: [], ended: false };
            subs.push(sub);
            const key = `s${subs.length}`;
            if (c.async) {
              h.sched.add(async function* () {
                yield* subscriber(sub, key, c.pauses);
              });
            } else h.sched.add(subscriber, sub, key, c.pauses);
          } else {
            const live = subs.map((s, i) => [s, i] as const).filter(([s]) =>
              s.subAt >= 0 && s.unsubAt === null
            );
            if (live.length === 0) continue;
            const [s, i] = live[c.which % live.length];
            s.unsubAt = published;
            const was = yield* ps.unsubscribe(`s${i + 1}`);
            assert.equal(was, true);
          }
        }
        yield ps.publish(END);
      });

      await driveClean(h, 5000);
      assert.deepEqual(h.errors, []);
      for (const s of subs) {
        // exactly once and in order: consecutive message numbers
        s.seen.forEach((m, i) => {
          if (i > 0) assert.equal(m, s.seen[i - 1] + 1, "no gap, no duplicate, in order");
        });
        const last = s.unsubAt ?? published;
        if (s.subAt < 0) continue; // subscribed after END? cannot happen: END comes last
        if (s.subAt < last) {
          assert.ok(s.seen.length > 0, "messages after subscribing were seen");
          assert.ok(s.seen[0] <= s.subAt, "nothing published after subscribing was skipped");
          if (s.unsubAt === null) assert.equal(s.seen.at(-1), published - 1, "saw up to the last one");
        }
        if (s.unsubAt === null) assert.equal(s.ended, true);
        if (s.seen.length > 0) assert.ok(s.seen.at(-1)! < last);
      }
      dropped += ps.compact();
      assert.equal(dropped + ps.size, published + 1, "compact drops each message at most once");
    }),
    { numRuns: 100 },
  );
});
