/**
 * Two coroutines play ping-pong over two queues, then a third reports.
 *
 * Run: `deno run -A examples/pingpong.ts`.
 *
 * @module
 */
import { AddCoro, Join, Queue, Scheduler, Sleep, type Yieldable } from "../core/mod.ts";

const ROUNDS = 5;
const toPong = new Queue<number>(1);
const toPing = new Queue<number>(1);

function* ping(): Generator<Yieldable, number> {
  let ball = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`ping: serves ball ${ball}`);
    yield* toPong.put(ball);
    ball = yield* toPing.get({ timeout: 1000 });
    console.log(`ping: got ball ${ball} back`);
    yield* new Sleep(100); // catch a breath; pong waits meanwhile without blocking anyone
  }
  return ball;
}

function* pong(): Generator<Yieldable, void> {
  for (let round = 1; round <= ROUNDS; round++) {
    const ball = yield* toPong.get({ timeout: 1000 });
    console.log(`pong: returns ball ${ball} as ${ball + 1}`);
    yield* toPing.put(ball + 1);
  }
}

const sched = new Scheduler();
sched.add(function* referee() {
  const p1 = yield* new AddCoro(ping);
  const p2 = yield* new AddCoro(pong);
  const last = yield* new Join(p1);
  yield* new Join(p2);
  console.log(`referee: ${ROUNDS} rounds played, the last ball was ${last}`);
});
const started = performance.now();
await sched.run();
console.log(`done in ${Math.round(performance.now() - started)} ms, ${sched.taskCount} tasks left`);
