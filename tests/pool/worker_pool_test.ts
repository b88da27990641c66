/**
 * `WorkerPool`: calls as operations while the scheduler goes on, errors
 * with their stack, timeouts and cancels that end a runaway worker, the
 * queue beyond `size`, crashes, and what cannot be copied.
 */
import assert from "node:assert/strict";
import { OperationTimeout, Race, Scheduler, Sleep } from "../../core/mod.ts";
import { WorkerPool } from "../../pool/mod.ts";

const WORK = new URL("./work.ts", import.meta.url);

/** Runs `body` as a task of a fresh scheduler with a fresh pool; always closes the pool. */
async function withPool(
  size: number,
  body: (
    pool: WorkerPool,
    sched: Scheduler,
  ) => Generator<unknown, void, unknown> | AsyncGenerator<unknown, void, unknown>,
): Promise<void> {
  const pool = new WorkerPool(WORK, { size });
  const sched = new Scheduler();
  try {
    const task = sched.add(() => body(pool, sched) as Generator<never, void, unknown>);
    await sched.run();
    if (task.error !== undefined) throw task.error;
  } finally {
    await pool.close();
  }
}

Deno.test("pool: a task keeps ticking every 5 ms while a worker computes fib(35)", async () => {
  let ticks = 0;
  let done = false;
  await withPool(1, function* (pool, sched) {
    sched.add(function* () {
      while (!done) {
        yield new Sleep(5);
        ticks++;
      }
    });
    const started = Date.now();
    const n = (yield pool.call("fib", [35])) as number;
    const took = Date.now() - started;
    done = true;
    assert.equal(n, 9227465);
    // While fib ran (tens of ms at least), the ticker ran too: at least a third of the 5 ms slots.
    assert.ok(ticks >= Math.floor(took / 15), `${ticks} ticks in ${took} ms`);
  });
});

Deno.test("pool: results and awaited promises come back; errors keep their name, message and a stack naming the module", async () => {
  await withPool(2, function* (pool) {
    assert.equal(yield pool.call("slowSum", [10, 1, 2, 3]), 6);
    try {
      yield pool.call("fails", ["the impossible"]);
      assert.fail("no error");
    } catch (error) {
      assert.equal((error as Error).name, "RangeError");
      assert.equal((error as Error).message, "cannot do the impossible");
      assert.match((error as Error).stack ?? "", /work\.ts/);
    }
    try {
      yield pool.call("nope");
      assert.fail("no error");
    } catch (error) {
      assert.match(
        String(error),
        /work\.ts has no exported function named "nope"; its functions: closesItself, crash, exitsItself, fails, fib, report,/,
      );
    }
  });
});

Deno.test("pool: a runaway call ends at its timeout, its worker replaced; a lost race ends it too; the pool works after", async () => {
  await withPool(1, function* (pool) {
    const first = (yield pool.call("workerId")) as string;
    const started = Date.now();
    try {
      yield pool.call("spin", [], { timeout: 200 });
      assert.fail("no timeout");
    } catch (error) {
      assert.ok(error instanceof OperationTimeout, String(error));
    }
    assert.ok(Date.now() - started < 2000);
    assert.equal(pool.workers, 1, "a fresh worker is started in the runaway one's place");
    const second = (yield pool.call("workerId")) as string;
    assert.notEqual(second, first, "a fresh worker");
    const winner = yield new Race([pool.call("spin"), new Sleep(100)]);
    assert.equal(winner, undefined);
    assert.equal(yield pool.call("fib", [20]), 6765);
    assert.equal(pool.workers, 1);
  });
});

Deno.test("pool: calls beyond size wait in order; a crashed worker is replaced without losing the pool", async () => {
  await withPool(1, async function* (pool, sched) {
    const order: number[] = [];
    const tasks = [0, 1, 2, 3, 4].map((i) =>
      sched.add(function* () {
        yield pool.call("slowSum", [5, i]);
        order.push(i);
      })
    );
    yield new Sleep(1);
    assert.equal(pool.workers, 1);
    assert.equal(pool.waiting, 4);
    for (const task of tasks) await task.done;
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    try {
      yield pool.call("crash");
      assert.fail("no crash");
    } catch (error) {
      assert.match(String(error), /the worker running crash crashed: .*boom from a timer/);
    }
    assert.equal(yield pool.call("fib", [10]), 55);
  });
});

Deno.test("pool: what cannot be copied is an error naming it; a call after close fails clearly", async () => {
  const pool = new WorkerPool(WORK, { size: 1 });
  const sched = new Scheduler();
  const errors: string[] = [];
  sched.add(function* () {
    for (const [name, args] of [["fib", [1, () => 2]], ["returnsFunction", []]] as const) {
      try {
        yield pool.call(name, [...args]);
      } catch (error) {
        errors.push(String(error));
      }
    }
    yield pool.close();
    try {
      yield pool.call("fib", [1]);
    } catch (error) {
      errors.push(String(error));
    }
  });
  await sched.run();
  await pool.close();
  assert.match(
    errors[0],
    /WorkerPool.call\("fib"\): argument 1 \(the function \(anonymous\)\) cannot be copied to a worker/,
  );
  assert.match(errors[1], /the result of returnsFunction cannot be sent back from the worker/);
  assert.match(errors[2], /WorkerPool.call\("fib"\): the pool is closed/);
  assert.throws(() => new WorkerPool(WORK, { size: 0 }), /size must be an integer >= 1, got 0/);
});

Deno.test("pool: code that ends its own worker (self.close(), Deno.exit()) fails its call, and the pool goes on", async () => {
  await withPool(1, function* (pool) {
    for (const [name, how] of [["closesItself", "self.close()"], ["exitsItself", "Deno.exit(3)"]]) {
      try {
        yield pool.call(name, [], { timeout: 5000 });
        assert.fail("no error");
      } catch (error) {
        assert.match(
          String(error),
          new RegExp(`the worker running ${name} crashed: .*${how.replace(/[().]/g, "\\$&")}`),
        );
      }
      assert.equal(yield pool.call("fib", [10]), 55);
    }
  });
});
