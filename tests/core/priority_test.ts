// deno-lint-ignore-file require-yield -- coroutines that end without waiting are part of what is tested
/**
 * Priorities: cogen 0.1.9's own order tests (cogen/test/test_sched.py and
 * test_queue.py), ported exactly and run under both `priority.FIRST` and
 * `priority.LAST` as the scheduler's `defaultPriority`; then each priority
 * bit on its own.
 */
import assert from "node:assert/strict";
import {
  AddCoro,
  OperationTimeout,
  priority,
  Queue,
  QueueFull,
  Scheduler,
  Signal,
  Sleep,
  WaitForSignal,
} from "../../core/mod.ts";
import { driveClean, harness, PRIORITIES } from "./suite.ts";

Deno.test("priority: the constants are cogen's", () => {
  assert.deepEqual({ ...priority }, { LAST: 0, CORO: 1, OP: 2, FIRST: 3, DEFAULT: -1 });
  assert.equal(priority.FIRST, priority.CORO | priority.OP);
});

Deno.test("priority: the scheduler's defaultPriority is LAST unless set; DEFAULT means LAST", () => {
  assert.equal(new Scheduler().defaultPriority, priority.LAST);
  assert.equal(new Scheduler({ defaultPriority: priority.DEFAULT }).defaultPriority, priority.LAST);
  assert.equal(new Scheduler({ defaultPriority: priority.FIRST }).defaultPriority, priority.FIRST);
});

Deno.test("priority: a bad priority is a RangeError that lists the valid ones", () => {
  for (const bad of [4, -2, 1.5, NaN, "3"]) {
    assert.throws(
      () => new Scheduler({ defaultPriority: bad as number }),
      (e: unknown) =>
        e instanceof RangeError && /defaultPriority/.test(e.message) &&
        /priority must be one of/.test(e.message) && e.message.includes(String(bad)),
    );
    assert.throws(
      () => new Signal("x", 1, { priority: bad as number }),
      (e: unknown) => e instanceof RangeError && /Signal/.test(e.message) && e.message.includes(String(bad)),
    );
    assert.throws(
      () => new WaitForSignal("x").withPriority(bad as number),
      (e: unknown) => e instanceof RangeError && /WaitForSignal/.test(e.message),
    );
  }
});

for (const [name, prio] of PRIORITIES) {
  const first = prio === priority.FIRST;

  Deno.test(`cogen test_signal [${name}]`, async () => {
    const h = harness({ defaultPriority: prio });
    const msgs: number[] = [];
    class X {}
    const x = new X();
    h.sched.add(function* signalee() {
      msgs.push(1);
      yield new WaitForSignal("test_sig");
      msgs.push(3);
      yield new WaitForSignal(x);
      msgs.push(5);
    });
    h.sched.add(function* signaler() {
      msgs.push(2);
      yield new Signal("test_sig");
      msgs.push(4);
      yield new Signal(x, undefined, { recipients: 1 });
      msgs.push(6);
    });
    await driveClean(h);
    assert.deepEqual(msgs, first ? [1, 2, 4, 3, 6, 5] : [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(h.errors, []);
  });

  Deno.test(`cogen test_add_coro [${name}]`, async () => {
    const h = harness({ defaultPriority: prio });
    const msgs: number[] = [];
    function* added(x: number) {
      msgs.push(x);
    }
    h.sched.add(function* adder(c: typeof added) {
      msgs.push(1);
      yield new AddCoro(c, first ? 3 : 2);
      msgs.push(first ? 2 : 3);
    }, added);
    await driveClean(h);
    assert.deepEqual(msgs, [1, 2, 3]);
  });

  Deno.test(`cogen test_signal_1s2w [${name}]`, async () => {
    const h = harness({ defaultPriority: prio });
    const msgs: number[] = [];
    h.sched.add(function* signaler() {
      msgs.push(1);
      yield new Signal("test_sig", undefined, { recipients: 2 });
      msgs.push(7);
    });
    h.sched.add(function* signalee() {
      msgs.push(2);
      yield new WaitForSignal("test_sig");
      msgs.push(5);
    });
    h.sched.add(function* second_signalee() {
      msgs.push(3);
      yield new Sleep(1000);
      msgs.push(4);
      yield new WaitForSignal("test_sig");
      msgs.push(6);
    });
    await driveClean(h);
    assert.deepEqual(msgs, first ? [1, 2, 3, 4, 7, 6, 5] : [1, 2, 3, 4, 5, 6, 7]);
  });

  Deno.test(`cogen test_queue [${name}]`, async () => {
    const h = harness({ defaultPriority: prio });
    const SIZE = 20;
    const q = new Queue<number | string>(SIZE);
    const msgs: number[] = [];
    let thrown = false;
    let sizeWhenFull = -1;
    const contents: number[] = [];
    h.sched.add(function* foo() {
      for (let i = 0; i < SIZE; i++) yield q.put(i);
      try {
        q.putNowait("x");
      } catch (e) {
        if (!(e instanceof QueueFull)) throw e;
        thrown = true;
      }
      sizeWhenFull = q.qsize();
      // cogen: assertEqual(range(SIZE), list(q.queue)): rotate the items once to read them
      for (let i = 0; i < SIZE; i++) {
        const item = q.getNowait();
        contents.push(item as number);
        q.putNowait(item);
      }
      yield q.put(SIZE);
      msgs.push(-1);
    });
    h.sched.add(function* wait() {
      yield new Sleep(2000);
    });
    h.sched.add(function* bar() {
      yield new Sleep(1000);
      for (;;) {
        try {
          const el = (yield q.get({ timeout: 100 })) as number;
          msgs.push(el);
        } catch (e) {
          if (!(e instanceof OperationTimeout)) throw e;
          msgs.push(-2);
          break;
        }
      }
    });
    await driveClean(h);
    assert.equal(thrown, true);
    assert.equal(sizeWhenFull, SIZE);
    assert.deepEqual(contents, Array.from({ length: SIZE }, (_, i) => i));
    const range = Array.from({ length: SIZE + 1 }, (_, i) => i);
    assert.deepEqual(msgs, first ? [-1, ...range, -2] : [...range, -1, -2]);
    assert.deepEqual(h.errors, []);
  });

  Deno.test(`cogen test_join (queue) [${name}]`, async () => {
    for (let size = 1; size < 6; size++) {
      const h = harness({ defaultPriority: prio });
      const q = new Queue<number>(size);
      const msgs: number[] = [];
      let blevel = 0;
      let wlevel = 0;
      const worker = function* worker(_n: number) {
        for (;;) {
          try {
            yield q.get({ timeout: 100 });
          } catch (e) {
            if (!(e instanceof OperationTimeout)) throw e;
            break;
          }
          wlevel -= 1;
          msgs.push(1);
          yield new Sleep(10);
          q.taskDone();
        }
        msgs.push(2);
      };
      const boss = function* boss(_n: number) {
        blevel += 1;
        yield q.put(1);
        blevel += 1;
        yield q.put(2);
        blevel += 1;
        yield q.put(3);
        msgs.push(1);
        yield q.join();
        msgs.push(2);
      };
      const daemon = function* daemon() {
        yield new Sleep(1000);
      };
      h.sched.add(worker, 1);
      h.sched.add(worker, 2);
      h.sched.add(worker, 3);
      h.sched.add(boss, -1);
      h.sched.add(boss, -2);
      h.sched.add(daemon);
      await driveClean(h);
      assert.deepEqual(msgs, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2], `maxsize ${size}`);
      assert.equal(-wlevel, blevel);
      assert.deepEqual(h.errors, []);
    }
  });
}

/**
 * Three waiters park on "s"; then a signaller and a bystander (which gives
 * up control once) run. The log shows who runs in which order.
 */
async function signalOrder(defaultPriority: number, signalPriority: number): Promise<string[]> {
  const h = harness({ defaultPriority });
  const log: string[] = [];
  for (const w of ["w1", "w2", "w3"]) {
    h.sched.add(function* () {
      yield new WaitForSignal("s");
      log.push(w);
    });
  }
  h.sched.add(function* () {
    log.push("S0");
    const n = yield new Signal("s", undefined, { priority: signalPriority });
    log.push(`S${n}`);
  });
  h.sched.add(function* () {
    log.push("B0");
    yield;
    log.push("B");
  });
  await driveClean(h);
  return log;
}

for (const [name, prio] of PRIORITIES) {
  Deno.test(`priority OP on Signal: the woken go to the front, in reverse order [default ${name}]`, async () => {
    assert.deepEqual(await signalOrder(prio, priority.OP), ["S0", "w3", "w2", "w1", "B0", "S3", "B"]);
  });

  Deno.test(`priority CORO on Signal: the signaller goes on first, the woken to the back [default ${name}]`, async () => {
    assert.deepEqual(await signalOrder(prio, priority.CORO), ["S0", "S3", "B0", "w1", "w2", "w3", "B"]);
  });

  Deno.test(`priority FIRST on Signal: the signaller, then the woken in reverse order [default ${name}]`, async () => {
    assert.deepEqual(await signalOrder(prio, priority.FIRST), ["S0", "S3", "w3", "w2", "w1", "B0", "B"]);
  });

  Deno.test(`priority LAST on Signal: everyone to the back, the woken before the signaller [default ${name}]`, async () => {
    assert.deepEqual(await signalOrder(prio, priority.LAST), ["S0", "B0", "w1", "w2", "w3", "S3", "B"]);
  });
}

Deno.test("priority DEFAULT on an operation takes the scheduler's defaultPriority", async () => {
  assert.deepEqual(
    await signalOrder(priority.FIRST, priority.DEFAULT),
    await signalOrder(priority.FIRST, priority.FIRST),
  );
  assert.deepEqual(
    await signalOrder(priority.LAST, priority.DEFAULT),
    await signalOrder(priority.LAST, priority.LAST),
  );
});

Deno.test("priority: withPriority sets it and chains", () => {
  const op = new Signal("x").withPriority(priority.OP);
  assert.ok(op instanceof Signal);
  assert.equal(op.priority, priority.OP);
});

for (const [name, prio] of PRIORITIES) {
  Deno.test(`priority on AddCoro: OP puts the new task first, CORO keeps the adder going [default ${name}]`, async () => {
    const order = async (p: number) => {
      const h = harness({ defaultPriority: prio });
      const log: string[] = [];
      h.sched.add(function* adder() {
        yield new AddCoro(function* () {
          log.push("new");
        }).withPriority(p);
        log.push("adder");
      });
      h.sched.add(function* other() {
        log.push("other");
      });
      await driveClean(h);
      return log;
    };
    assert.deepEqual(await order(priority.LAST), ["other", "new", "adder"]);
    assert.deepEqual(await order(priority.OP), ["new", "other", "adder"]);
    assert.deepEqual(await order(priority.CORO), ["adder", "other", "new"]);
    assert.deepEqual(await order(priority.FIRST), ["adder", "new", "other"]);
  });
}
