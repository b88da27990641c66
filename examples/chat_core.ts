/**
 * A chat room on a `PublishSubscribeQueue`: a host talks, three listeners
 * fetch what is new, one of them too slowly for its own timeout, and the room
 * compacts its log as everyone catches up.
 *
 * Run: `deno run -A examples/chat_core.ts`.
 *
 * @module
 */
import {
  OperationTimeout,
  PublishSubscribeQueue,
  Scheduler,
  Signal,
  Sleep,
  WaitForSignal,
  type Yieldable,
} from "../core/mod.ts";

const room = new PublishSubscribeQueue<string>();
const lines = ["hello, room", "who is here?", "the meeting starts in 5 minutes", "bye"];

function* host(): Generator<Yieldable, void> {
  // Start talking once all three listeners are in (recipients: 3 waits for them).
  yield* new Signal("joined", undefined, { recipients: 3 });
  for (const line of lines) {
    const woken = yield* room.publish(line);
    console.log(`host: "${line}" (woke ${woken} waiting listener${woken === 1 ? "" : "s"})`);
    yield* new Sleep(120);
    console.log(`host: compacted ${room.compact()} message(s) everyone has read`);
  }
}

function* listener(name: string, patience: number): Generator<Yieldable, void> {
  yield* room.subscribe(name);
  yield* new WaitForSignal("joined");
  for (let heard = 0; heard < lines.length;) {
    try {
      const news = yield* room.fetch({ key: name, timeout: patience });
      heard += news.length;
      console.log(`${name}: ${news.map((line) => `"${line}"`).join(", ")}`);
    } catch (err) {
      if (!(err instanceof OperationTimeout)) throw err;
      console.log(`${name}: nothing new for ${patience} ms, still listening`);
    }
  }
  yield* room.unsubscribe(name);
}

const sched = new Scheduler();
sched.add(host);
sched.add(listener, "ann", 1000);
sched.add(listener, "bob", 1000);
sched.add(listener, "cid", 100); // impatient: times out between lines
await sched.run();
console.log(`room closed: ${room.size} message(s) kept, ${room.subscribers} subscriber(s) left`);
