/**
 * The cooperative scheduler and its operations. No HTTP here.
 *
 * ```ts
 * import { Scheduler, Signal, WaitForSignal } from "@cogen/cogen/core";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   return yield* new WaitForSignal<string>("abc", { timeout: 1000 });
 * });
 * sched.add(function* () {
 *   yield new Signal("abc", "hello");
 * });
 * await sched.run();
 * task.result; // "hello"
 * ```
 *
 * @module
 */
export { AddCoro } from "./add_coro.ts";
export { type Bus, type BusHost, BusUnavailable, MemoryBus, type QueueRead } from "./bus.ts";
export { All, type ResultsOf } from "./all.ts";
export { Await } from "./await.ts";
export { Call } from "./call.ts";
export { type Clock, ManualClock } from "./clock.ts";
export { CurrentTask } from "./current_task.ts";
export { Join } from "./join.ts";
export { Local } from "./local.ts";
export {
  Operation,
  type OperationOptions,
  type OperationScheduler,
  type OperationTask,
  OperationTimeout,
  Waiter,
} from "./operation.ts";
export { type Placement, type Priority, priority } from "./priority.ts";
export { type FetchOptions, PublishSubscribeQueue } from "./pubsub.ts";
export { Queue, QueueEmpty, QueueFull } from "./queue.ts";
export { Race, type ResultOf } from "./race.ts";
export { Scheduler, type SchedulerOptions } from "./scheduler.ts";
export { Signal, type SignalOptions, WaitForSignal } from "./signal.ts";
export { Sleep } from "./sleep.ts";
export {
  type Coroutine,
  CoroutineError,
  type CoroutineFunction,
  Task,
  type TaskState,
  type Yieldable,
} from "./task.ts";
export type { TimerEntry } from "./timer_heap.ts";
export { WaitList } from "./wait_list.ts";
export { Socket, type SocketOptions, type SocketWatcher } from "./socket.ts";
export { SocketListener } from "./socket_listener.ts";
export { LineTooLong } from "./socket_ops.ts";
