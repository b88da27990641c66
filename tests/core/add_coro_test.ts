/** `AddCoro`: start another coroutine without pausing. */
import assert from "node:assert/strict";
import { AddCoro, Join, priority, Sleep, type Task } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("AddCoro: returns the new Task at once, with the arguments passed", async () => {
  for (const kind of ["sync", "async"] as const) {
    const h = harness();
    const log: string[] = [];
    const child = function* child(a: number, b: string) {
      log.push(`child ${a}${b}`);
      yield new Sleep(1);
      return a * 2;
    };
    const asyncChild = async function* asyncChild(a: number, b: string) {
      log.push(`child ${a}${b}`);
      yield new Sleep(1);
      return a * 2;
    };
    const parent = kind === "sync"
      ? h.sched.add(function* () {
        const t = yield* new AddCoro(child, 21, "x");
        log.push(`parent got ${t.state}`);
        return yield* new Join(t);
      })
      : h.sched.add(async function* () {
        const t: Task<number> = yield new AddCoro(asyncChild, 21, "x");
        log.push(`parent got ${t.state}`);
        return (yield new Join(t)) as number;
      });
    await driveClean(h);
    assert.equal(parent.result, 42, kind);
    assert.ok(log.includes("child 21x"), kind);
    assert.ok(log.includes("parent got running"), kind);
  }
});

Deno.test("AddCoro: a generator object works; the new task is counted", async () => {
  const h = harness();
  let count = -1;
  const parent = h.sched.add(function* () {
    const t = yield* new AddCoro((function* named() {
      return "from a generator";
    })()).withPriority(priority.CORO); // the adder goes on before the child runs
    count = h.sched.taskCount;
    return yield* new Join(t);
  });
  await driveClean(h);
  assert.equal(count, 2);
  assert.equal(parent.result, "from a generator");
});

Deno.test("AddCoro: does not pause the caller (no clock time, no wait)", async () => {
  const h = harness();
  const tasks: Task<unknown>[] = [];
  const parent = h.sched.add(function* () {
    for (let i = 0; i < 100; i++) {
      tasks.push(
        yield* new AddCoro(function* () {
          yield new Sleep(10);
        }),
      );
    }
    return h.clock.now();
  });
  await driveClean(h);
  assert.equal(parent.result, 0);
  assert.equal(tasks.length, 100);
  assert.ok(tasks.every((t) => t.state === "finished"));
});

Deno.test("AddCoro: something that is not a coroutine: a TypeError thrown into the caller", async () => {
  const h = harness();
  const parent = h.sched.add(function* () {
    try {
      yield new AddCoro((() => 5) as never);
    } catch (e) {
      return e;
    }
  });
  await driveClean(h);
  const e = parent.result as TypeError;
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /AddCoro: expected a generator function/);
  assert.match(e.message, /got 5/);
  assert.equal(h.sched.taskCount, 0);
});

Deno.test("AddCoro: the child's error goes to onError, not to the parent", async () => {
  const h = harness();
  let child!: Task<unknown>;
  const parent = h.sched.add(function* () {
    child = yield* new AddCoro(function* failing() {
      yield;
      throw new Error("child broke");
    });
    yield new Sleep(5);
    return "parent fine";
  });
  await driveClean(h);
  assert.equal(parent.result, "parent fine");
  assert.equal(child.state, "failed");
  assert.equal(h.errors.length, 1);
  assert.equal(h.errors[0][1], child);
});

Deno.test("AddCoro: toString names the function", () => {
  assert.equal(String(new AddCoro(function* worker() {})), "AddCoro(worker)");
});
