/**
 * Custom operations: the public extension API (`Operation`, `Waiter`,
 * `WaitList`) behaves as the built-in operations do (settle at once or later,
 * withdraw on cancel/timeout, errors from `start` thrown in).
 */
import assert from "node:assert/strict";
import { Operation, OperationTimeout, Race, Sleep, type Waiter, WaitList } from "../../core/mod.ts";
import { driveClean, finishClean, harness, start } from "./suite.ts";

/** Completes at once with the scheduler's time (the doc example). */
class Now extends Operation<number> {
  start(waiter: Waiter<number>): void {
    waiter.resolve(waiter.sched.now());
  }
}

/** A gate: every waiter waits until open() (the WaitList doc example), counting withdrawals. */
class Gate {
  readonly waiters = new WaitList();
  withdrawn = 0;
  wait(timeout?: number): Operation<string> {
    // deno-lint-ignore no-this-alias -- the operation class below needs the gate
    const gate = this;
    const op = new class extends Operation<string> {
      start(w: Waiter<string>) {
        gate.waiters.push(w as Waiter<unknown>);
      }
      override withdraw(_w: Waiter<string>) {
        gate.withdrawn++;
      }
      override toString() {
        return "Gate.wait";
      }
    }();
    op.timeout = timeout;
    return op;
  }
  open(value: string): number {
    let n = 0;
    for (let w = this.waiters.first; w !== null; w = this.waiters.first, n++) w.resolve(value);
    return n;
  }
}

Deno.test("Operation: a custom operation that completes at once, typed with yield*", async () => {
  const h = harness();
  h.clock.advance(42);
  const task = h.sched.add(function* () {
    const t: number = yield* new Now();
    return t;
  });
  await driveClean(h);
  assert.equal(task.result, 42);
});

Deno.test("Operation: a custom waiting operation is settled later; cancel withdraws it from its WaitList", async () => {
  const h = harness();
  const gate = new Gate();
  const opened = h.sched.add(function* () {
    return yield* gate.wait();
  });
  const victim = h.sched.add(async function* () {
    yield gate.wait();
  });
  const { done } = await start(h.sched);
  assert.equal(gate.waiters.length, 2);
  await victim.cancel();
  assert.equal(gate.waiters.length, 1, "the cancelled waiter was unlinked at once");
  assert.equal(gate.withdrawn, 1, "withdraw() was called");
  assert.equal(gate.open("open"), 1);
  await finishClean(h, done);
  assert.equal(opened.result, "open");
  assert.equal(victim.state, "cancelled");
});

Deno.test("Operation: the default expire withdraws and throws OperationTimeout in", async () => {
  const h = harness();
  const gate = new Gate();
  const op = gate.wait(30);
  const task = h.sched.add(function* () {
    try {
      yield op;
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = task.result as OperationTimeout;
  assert.ok(e instanceof OperationTimeout);
  assert.equal(e.message, "Gate.wait timed out after 30 ms");
  assert.equal(gate.waiters.length, 0);
  assert.equal(gate.withdrawn, 1);
});

Deno.test("Operation: an error thrown by start() is thrown into the coroutine", async () => {
  const h = harness();
  class Broken extends Operation<void> {
    start(): void {
      throw new SyntaxError("cannot start");
    }
  }
  const task = h.sched.add(function* () {
    try {
      yield new Broken();
    } catch (e) {
      return e;
    }
  });
  const inRace = h.sched.add(function* () {
    try {
      yield new Race([new Sleep(100), new Broken()]);
    } catch (e) {
      return [e, h.clock.now()];
    }
  });
  await driveClean(h);
  assert.ok(task.result instanceof SyntaxError);
  const [e, at] = inRace.result as [Error, number];
  assert.ok(e instanceof SyntaxError);
  assert.equal(at, 0);
  assert.deepEqual(h.errors, []);
});

Deno.test("Operation: a custom operation in a Race loses and is withdrawn", async () => {
  const h = harness();
  const gate = new Gate();
  const task = h.sched.add(function* () {
    return yield* new Race([gate.wait(), new Sleep(10)]);
  });
  await driveClean(h);
  assert.equal(task.result, undefined);
  assert.equal(gate.waiters.length, 0);
  assert.equal(gate.withdrawn, 1);
});

Deno.test("Operation: the epoch changes when a wait ends, so late callbacks can tell", async () => {
  const h = harness();
  let waiter!: Waiter<void>;
  let epoch = -1;
  class Remember extends Operation<void> {
    start(w: Waiter<void>): void {
      waiter = w;
      epoch = w.epoch;
      assert.equal(w.waiting, true);
    }
  }
  const task = h.sched.add(function* () {
    yield new Remember();
  });
  const { done } = await start(h.sched);
  waiter.resolve(undefined);
  assert.notEqual(waiter.epoch, epoch);
  assert.equal(waiter.waiting, false);
  waiter.resolve(undefined); // a second settle is ignored
  await finishClean(h, done);
  assert.equal(task.state, "finished");
});
