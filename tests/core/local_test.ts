// deno-lint-ignore-file require-yield -- coroutines that end without waiting are part of what is tested
/** `Local`: coroutine-local storage, one value per task. */
import assert from "node:assert/strict";
import { AddCoro, Call, Join, Local, Sleep } from "../../core/mod.ts";
import { driveClean, harness } from "./suite.ts";

Deno.test("Local: each task sees its own value across waits", async () => {
  const h = harness();
  const id = new Local<number>();
  const seen: (number | undefined)[] = [];
  for (const n of [1, 2, 3]) {
    h.sched.add(function* () {
      id.set(n);
      yield new Sleep(10 * (4 - n)); // the others run meanwhile
      seen.push(id.get());
    });
  }
  await driveClean(h);
  assert.deepEqual(seen, [3, 2, 1]);
});

Deno.test("Local: get unset is undefined; has and delete", async () => {
  const h = harness();
  const local = new Local<string>();
  const task = h.sched.add(function* () {
    const before = [local.get(), local.has()];
    local.set("v");
    const during = [local.get(), local.has()];
    const deleted = [local.delete(), local.delete()];
    return [before, during, deleted, local.has()];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [[undefined, false], ["v", true], [true, false], false]);
});

Deno.test("Local: two Locals are independent", async () => {
  const h = harness();
  const a = new Local<string>();
  const b = new Local<string>();
  const task = h.sched.add(function* () {
    a.set("a");
    b.set("b");
    a.delete();
    return [a.get(), b.get()];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [undefined, "b"]);
});

Deno.test("Local: a Call shares the caller's values; an AddCoro child starts empty", async () => {
  const h = harness();
  const local = new Local<string>();
  function* callee() {
    const seen = local.get();
    local.set("changed by callee");
    yield;
    return seen;
  }
  const task = h.sched.add(function* () {
    local.set("parent");
    const inCall = yield* new Call(callee);
    const child = yield* new AddCoro(function* () {
      const before = local.get();
      local.set("child");
      return [before, local.get()];
    });
    const inChild = yield* new Join(child);
    return [inCall, local.get(), inChild];
  });
  await driveClean(h);
  assert.deepEqual(task.result, ["parent", "changed by callee", [undefined, "child"]]);
});

Deno.test("Local: in an async generator it works across the awaits of its steps", async () => {
  const h = harness();
  const local = new Local<number>();
  const other = new Local<number>();
  const task = h.sched.add(async function* () {
    local.set(1);
    yield new Sleep(1);
    const afterYield = local.get();
    await Promise.resolve();
    const afterAwait = local.get();
    for (let i = 0; i < 20; i++) await null; // a long chain of awaits, other tasks interleaved
    return [afterYield, afterAwait, local.get()];
  });
  // Another async task interleaved with its own value: no mixing.
  const second = h.sched.add(async function* () {
    other.set(2);
    await Promise.resolve();
    yield new Sleep(1);
    return [other.get(), local.get()];
  });
  await driveClean(h);
  assert.deepEqual(task.result, [1, 1, 1]);
  assert.deepEqual(second.result, [2, undefined]);
});

Deno.test("Local: in an async generator it still works right after a typed yield* (no await written)", async () => {
  // DESIGN.md: "`Local` is coroutine-local storage (per task)" and typed
  // results come from `yield*`. In an async generator, `yield*` over an
  // operation awaits behind the scenes, so the scheduler loses track of the
  // running task although the coroutine wrote no await.
  const h = harness();
  const local = new Local<number>();
  const task = h.sched.add(async function* () {
    local.set(1);
    yield* new Sleep(1);
    return local.get();
  });
  await driveClean(h);
  assert.deepEqual(h.errors.map(([e]) => String(e)), []);
  assert.equal(task.result, 1);
});

Deno.test("Local: outside any coroutine is an Error saying so", () => {
  const local = new Local<number>();
  for (
    const [name, fn] of [
      ["get", () => local.get()],
      ["set", () => local.set(1)],
      ["has", () => local.has()],
      ["delete", () => local.delete()],
    ] as const
  ) {
    assert.throws(
      fn,
      (e: unknown) =>
        e instanceof Error && e.message.startsWith(`Local.${name}: no coroutine is executing here`),
    );
  }
});
