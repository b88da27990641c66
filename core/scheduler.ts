/**
 * The cooperative scheduler: one run queue of ready tasks, one timer heap,
 * and the step that resumes a coroutine and hands what it yields to the
 * operation. Resumption is a loop, never recursion.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { setImmediate } from "node:timers";
import { Await, isPromiseLike } from "./await.ts";
import { type Clock, MAX_DELAY, systemClock } from "./clock.ts";
import { type Bus, MemoryBus } from "./bus.ts";
import { BusLink } from "./bus_link.ts";
import { Deque } from "./deque.ts";
import { Operation, type OperationScheduler, type Waiter } from "./operation.ts";
import { BACK, checkPriority, FRONT, type Placement, type Priority, priority } from "./priority.ts";
import type { Resume } from "./resume.ts";
import { wakeSignalled } from "./signal.ts";
import { type Coroutine, type CoroutineFunction, isAsyncGenerator, Task } from "./task.ts";
import { type TimerEntry, TimerHeap } from "./timer_heap.ts";
import { describe } from "./describe.ts";
import { checkTimeout, effectiveTimeout } from "./timeout.ts";
import type { WaitList } from "./wait_list.ts";

/** Options of a {@linkcode Scheduler}. */
export interface SchedulerOptions {
  /**
   * Ms an operation waits at most when it sets no timeout of its own.
   * Default `0`: never time out (as cogen).
   */
  defaultTimeout?: number;
  /**
   * The priority of operations that leave theirs at `priority.DEFAULT`.
   * Default `priority.LAST` (as cogen).
   */
  defaultPriority?: number;
  /**
   * Receives what escaped a task (an uncaught `OperationTimeout` included),
   * once. Default: log to stderr. It never stops the scheduler.
   */
  onError?: (error: unknown, task: Task<unknown>) => void;
  /** Where time comes from; default the system clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /**
   * What carries named signals and named queues beyond this process (see
   * `Bus`); default a `MemoryBus`: this process alone. An operation uses
   * the bus of the scheduler that runs it.
   */
  bus?: Bus;
}

/** @ignore The waiters and the parked signallers of one signal name (see `WaitForSignal`). */
export interface SignalSlot {
  waiters: WaitList;
  signallers: WaitList;
}

/** Resumptions between two looks at the clock for the time slice. */
const CHECK_EVERY = 256;
/**
 * Ms of work before the scheduler lets the event loop run (I/O, other
 * timers): long enough that the handover costs nothing measurable, short
 * enough that a busy server still accepts and reads promptly, and that the
 * writes a burst of tasks issued go out (and their state dies young) before
 * the garbage collector's next scavenge: waking 10 000 long polls took a
 * median 283 ms with 10 ms slices, 240 ms with 4.
 */
const SLICE_MS = 4;
/**
 * Microtask hops the run queue waits for an async step that has not reached
 * its next yield: `yield op` takes 2, `yield* op` 5.
 */
const PAUSE_HOPS = 8;

/**
 * The task whose step the scheduler is executing synchronously right now (its
 * own notion, for its logic; not to be confused with `Scheduler.running`,
 * whether `run()` is under way).
 */
let stepping: Task<unknown> | null = null;
/** Carries the task through the awaits of an async generator's step (for `runningTask`). */
const stepContext = new AsyncLocalStorage<Task<unknown>>();
/**
 * Whether async steps run inside `stepContext`. Entering it costs about a
 * microsecond per step, and every promise made in it carries it on, so it is
 * entered only once something needs the task across awaits: a `Local`.
 */
let followAcrossAwaits = false;

/**
 * From now on, `runningTask` knows the task across the `await`s of an async
 * generator's steps (a `Local` asks for it when it is made).
 *
 * @example
 * ```ts
 * import { followTasksAcrossAwaits } from "./scheduler.ts";
 * followTasksAcrossAwaits();
 * ```
 */
export function followTasksAcrossAwaits(): void {
  followAcrossAwaits = true;
}

/**
 * The task whose coroutine is executing right now, or `null`. Inside an
 * async generator it stays known across the `await`s of its steps once
 * {@linkcode followTasksAcrossAwaits} was called (a `Local` exists); until
 * then, only in the synchronous part of a step.
 *
 * @example
 * ```ts
 * import { runningTask, Scheduler } from "./scheduler.ts";
 * const sched = new Scheduler();
 * const task = sched.add(function* () {
 *   return runningTask()?.id;
 * });
 * await sched.run();
 * task.result === task.id; // true
 * ```
 */
export function runningTask(): Task<unknown> | null {
  return stepping ?? stepContext.getStore() ?? null;
}

/**
 * Runs many coroutines interleaved on the one JS thread.
 *
 * @example
 * ```ts
 * import { Scheduler, Signal, WaitForSignal } from "@cogen/cogen/core";
 * const sched = new Scheduler({ defaultTimeout: 0 });
 * const task = sched.add(async function* () {
 *   const value: string = yield new WaitForSignal("abc", { timeout: 1000 });
 *   return value;
 * });
 * sched.add(function* () {
 *   yield new Signal("abc", "hello");
 * });
 * await sched.run(); // resolves when no task is left (or on stop())
 * task.result; // "hello"
 * ```
 */
export class Scheduler implements OperationScheduler {
  /** Ms an operation waits at most when it sets no timeout (0: never). */
  readonly defaultTimeout: number;
  /** The priority used for `priority.DEFAULT`. */
  readonly defaultPriority: Priority;
  /** Where time comes from. */
  readonly clock: Clock;
  /** Receives what escaped a task. */
  onError: (error: unknown, task: Task<unknown>) => void;
  /** @ignore The named signals' waiters (see `WaitForSignal`). */
  readonly signals: Map<unknown, SignalSlot> = new Map();
  /** What carries named signals and named queues beyond this process. */
  readonly bus: Bus;
  /** @ignore This scheduler's side of its bus. */
  readonly busLink: BusLink;

  #queue = new Deque<Task<unknown>>(1024);
  #timers = new TimerHeap();
  #timerId: unknown = undefined;
  #timerDue = Infinity;
  #running = false;
  #draining = false;
  #drainRequested = false;
  #taskCount = 0;
  #nextId = 1;
  #done: PromiseWithResolvers<void> | null = null;
  /**
   * A time slice lasts from the first drain after the event loop had a turn
   * until the next turn (an immediate ends it), or until SLICE_MS of work.
   * Drains started by microtasks (an async step settling) continue the same
   * slice, so a chain of async tasks cannot keep I/O and timers waiting.
   */
  #sliceOpen = false;
  #sliceStart = 0;
  #sliceSteps = 0;
  #sliceOver = false;
  /** The async step the run queue waits for (a few microtask hops at most). */
  #pausedFor: Task<unknown> | null = null;
  #pauseHops = 0;
  readonly #drainCallback = () => {
    this.#drainRequested = false;
    this.#drain();
  };
  readonly #sliceEndCallback = () => this.#endSlice();
  readonly #pauseCallback = () => this.#pauseHop();
  readonly #timerCallback = () => this.#onTimer();

  /** Creates a scheduler; see {@linkcode SchedulerOptions}. */
  constructor(options: SchedulerOptions = {}) {
    const timeout = checkTimeout("Scheduler: defaultTimeout", options.defaultTimeout) ?? 0;
    this.defaultTimeout = timeout === -1 ? 0 : timeout;
    const p = checkPriority("Scheduler: defaultPriority", options.defaultPriority ?? priority.LAST);
    this.defaultPriority = p === priority.DEFAULT ? priority.LAST : p;
    this.onError = options.onError ?? logError;
    this.clock = options.clock ?? systemClock;
    this.bus = options.bus ?? new MemoryBus();
    this.busLink = new BusLink(this.bus, (name, value) => wakeSignalled(this.signals, name, value));
    this.bus.attach(this.busLink);
  }

  /** How many tasks are alive (running, ready or waiting). */
  get taskCount(): number {
    return this.#taskCount;
  }

  /** Whether `run()` is under way. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Adds a coroutine: a generator function (called with `args`) or a
   * generator. It starts at the back of the run queue once the scheduler runs.
   *
   * @throws {TypeError} when `coro` is not a generator function or a generator.
   */
  // deno-lint-ignore no-explicit-any -- any argument list, checked by the function's own type
  add<R, A extends any[]>(coro: CoroutineFunction<A, R> | Coroutine<R>, ...args: A): Task<R> {
    return this.spawn(coro, args, BACK, "Scheduler.add");
  }

  /**
   * Runs until no task is left or `stop()` is called.
   *
   * @throws {Error} when the scheduler is already running.
   */
  run(): Promise<void> {
    if (this.#running) {
      throw new Error(
        "Scheduler.run: already running; await the first run() (it resolves when no task is left) or call stop() first",
      );
    }
    this.#running = true;
    this.#done = Promise.withResolvers<void>();
    const promise = this.#done.promise;
    if (this.#taskCount === 0) this.#complete();
    else {
      this.#armTimer();
      this.#requestDrain();
    }
    return promise;
  }

  /** Stops running: `run()` resolves; tasks stay where they are until the next `run()`. */
  stop(): void {
    if (this.#running) this.#complete();
  }

  /** The clock's current time in ms. */
  now(): number {
    return this.clock.now();
  }

  /** @ignore Makes a task and queues it at `placement` (for `add` and `AddCoro`). */
  spawn<R>(
    // deno-lint-ignore no-explicit-any -- as in add()
    coro: CoroutineFunction<any[], R> | Coroutine<R>,
    args: unknown[],
    placement: Placement,
    where: string,
  ): Task<R> {
    const gen = typeof coro === "function" ? coro(...args) : coro;
    if (!isCoroutine(gen)) {
      throw new TypeError(
        `${where}: expected a generator function (function* or async function*) or a generator, got ${
          describe(typeof coro === "function" ? gen : coro)
        }${typeof coro === "function" ? ` returned by ${describe(coro)}` : ""}`,
      );
    }
    const name = typeof coro === "function" && coro.name ? coro.name : "anonymous";
    const task = new Task<R>(this, this.#nextId++, gen as Coroutine<unknown>, name);
    this.#taskCount++;
    this.#enqueue(task as Task<unknown>, placement);
    return task;
  }

  /**
   * Starts `op` for `waiter` (a task's own wait, or a branch of `Race`/`All`),
   * then arms its timeout if it is still waiting. An error thrown by
   * `op.start` is thrown into the coroutine.
   */
  begin(waiter: Waiter<unknown>, op: Operation<unknown>): void {
    waiter.op = op;
    try {
      op.start(waiter);
    } catch (error) {
      if (waiter.op !== op) {
        this.#report(error, waiter.task as Task<unknown>); // every waiter waits for a Task
        return;
      }
      try {
        op.withdraw(waiter);
      } finally {
        waiter.reject(error, FRONT);
      }
      return;
    }
    if (waiter.op === op && waiter.heapIndex < 0) {
      const ms = effectiveTimeout(op.timeout, this.defaultTimeout);
      if (ms > 0) this.setTimer(waiter, ms);
    }
  }

  /** The priority an operation runs with (its own, or the default). */
  priorityOf(op: Operation<unknown>): number {
    return op.priority === priority.DEFAULT ? this.defaultPriority : op.priority;
  }

  /**
   * Arms a timer in the scheduler's heap: `entry.expire()` is called after
   * `ms` (for a waiter: its operation's `expire`). The entry must not be armed.
   */
  setTimer(entry: TimerEntry, ms: number): void {
    entry.timeout = ms;
    entry.deadline = this.clock.now() + ms;
    this.#timers.push(entry);
    if (entry.deadline < this.#timerDue) this.#armTimer();
  }

  /** Disarms a timer (nothing happens if it is not armed). */
  clearTimer(entry: TimerEntry): void {
    this.#timers.remove(entry);
  }

  /** Restarts an armed timer from now, for its `timeout` (a weak timeout saw activity). */
  restartTimer(entry: TimerEntry): void {
    entry.deadline = this.clock.now() + entry.timeout;
    this.#timers.update(entry);
  }

  /** @ignore Queues a task to resume as `how` says, with `value` (sent, thrown or returned). */
  resume(task: Task<unknown>, how: Resume, value: unknown, placement: Placement): void {
    task.resume = how;
    task.value = value;
    this.#enqueue(task, placement);
  }

  /** @ignore The implementation of `Task.cancel`. */
  cancel(task: Task<unknown>): Promise<void> {
    if (task.state !== "running") return task.done;
    const done = task.done;
    task.abort();
    if (task.cancelling || task.cancelRequested) return done;
    if (task.inFlight || task === stepping) {
      task.cancelRequested = true;
      return done;
    }
    const waiting = task.waiter.op !== null;
    if (waiting) task.waiter.withdraw();
    task.cancelling = true;
    task.resume = "return";
    task.value = undefined;
    if (waiting) this.#enqueue(task, BACK);
    return done;
  }

  #enqueue(task: Task<unknown>, placement: Placement): void {
    task.queued = true;
    if (placement === FRONT) this.#queue.pushFront(task);
    else this.#queue.pushBack(task);
    this.#requestDrain();
  }

  #requestDrain(): void {
    if (this.#drainRequested || this.#draining || !this.#running || this.#pausedFor !== null) return;
    this.#drainRequested = true;
    queueMicrotask(this.#drainCallback);
  }

  #drain(): void {
    if (!this.#running || this.#draining) return;
    if (!this.#sliceOpen) this.#openSlice();
    else if (this.#sliceOver) return; // the slice's end carries on, after the event loop's turn
    this.#draining = true;
    const queue = this.#queue;
    try {
      while (this.#running && !this.#sliceOver && this.#pausedFor === null && queue.length > 0) {
        const task = queue.shift()!;
        task.queued = false;
        this.#step(task);
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Ends the time slice under way once the step that calls it is over: the
   * tasks still ready run after the event loop's next turn. For code that
   * has just started much I/O (a server that wrote a hundred responses) and
   * wants it to go out before more tasks run. Outside a slice, nothing.
   *
   * @example
   * ```ts
   * import { Scheduler } from "@cogen/cogen/core";
   * const sched = new Scheduler();
   * sched.add(function* () {
   *   sched.yieldToEventLoop(); // the next ready task waits for the event loop's turn
   * });
   * await sched.run();
   * ```
   */
  yieldToEventLoop(): void {
    if (this.#sliceOpen) this.#sliceOver = true;
  }

  /** Starts a time slice; the immediate that ends it runs after the event loop's next turn of I/O. */
  #openSlice(): void {
    this.#sliceOpen = true;
    this.#sliceOver = false;
    this.#sliceStart = performance.now();
    this.#sliceSteps = 0;
    // setImmediate: ~3 µs, no 4 ms clamp; it runs once I/O and timers have had their turn.
    setImmediate(this.#sliceEndCallback);
  }

  /** The event loop had its turn: the next drain starts a new slice; one cut short carries on now. */
  #endSlice(): void {
    this.#sliceOpen = false;
    if (this.#sliceOver && this.#queue.length > 0) this.#drain();
  }

  /** Resumes `task` until it waits, ends or its turn is over. */
  #step(task: Task<unknown>): void {
    for (;;) {
      if (!this.#running) {
        // stop() was called from inside a coroutine: it stays ready for the next run().
        task.queued = true;
        this.#queue.pushFront(task);
        return;
      }
      if (++this.#sliceSteps >= CHECK_EVERY) {
        this.#sliceSteps = 0;
        if (performance.now() - this.#sliceStart > SLICE_MS) {
          this.#sliceOver = true;
          task.queued = true;
          this.#queue.pushFront(task);
          return;
        }
      }
      if (task.isAsync) {
        this.#stepAsync(task);
        return;
      }
      const gen = task.gen as Generator<unknown, unknown, unknown>;
      const how = task.resume;
      const value = task.value;
      task.resume = "next";
      task.value = undefined;
      let result: IteratorResult<unknown, unknown>;
      stepping = task;
      try {
        result = how === "next" ? gen.next(value) : how === "throw" ? gen.throw(value) : gen.return(value);
      } catch (error) {
        stepping = null;
        if (!this.#unwind(task, "throw", error)) return;
        continue;
      }
      stepping = null;
      if (!this.#handle(task, result)) return;
    }
  }

  #stepAsync(task: Task<unknown>): void {
    const gen = task.gen as AsyncGenerator<unknown, unknown, unknown>;
    const how = task.resume;
    const value = task.value;
    task.resume = "next";
    task.value = undefined;
    task.inFlight = true;
    let promise: Promise<IteratorResult<unknown, unknown>>;
    stepping = task;
    try {
      promise = followAcrossAwaits
        ? stepContext.run(task, resumeAsync, gen, how, value)
        : resumeAsync(gen, how, value);
    } catch (error) {
      promise = Promise.reject(error);
    } finally {
      stepping = null;
    }
    // Callbacks made per step, not kept on the task: a task parked on an operation holds none.
    promise.then(
      (result) => this.#afterAsyncStep(task, true, result),
      (error) => this.#afterAsyncStep(task, false, error),
    );
    // Give the step the microtasks it needs to reach its next yield: a step that does not really
    // wait then keeps its place in the run queue's order, as a sync step does. One that waits on
    // I/O lets the others go on after a few hops.
    this.#pausedFor = task;
    this.#pauseHops = PAUSE_HOPS;
    queueMicrotask(this.#pauseCallback);
  }

  /** One microtask hop of the pause after an async step started. */
  #pauseHop(): void {
    if (this.#pausedFor === null) return;
    if (!this.#pausedFor.inFlight || --this.#pauseHops <= 0) {
      this.#pausedFor = null;
      if (this.#queue.length > 0 && !this.#draining) this.#drain();
    } else queueMicrotask(this.#pauseCallback);
  }

  #afterAsyncStep(task: Task<unknown>, ok: boolean, outcome: unknown): void {
    task.inFlight = false;
    if (this.#pausedFor === task) this.#pausedFor = null;
    const goOn = ok
      ? this.#handle(task, outcome as IteratorResult<unknown, unknown>)
      : this.#unwind(task, "throw", outcome);
    if (goOn) {
      task.queued = true;
      this.#queue.pushFront(task);
    }
    if (this.#queue.length > 0 && !this.#draining) this.#drain();
  }

  /** Handles what a step produced; true when the same task goes on now. */
  #handle(task: Task<unknown>, result: IteratorResult<unknown, unknown>): boolean {
    if (result.done) return this.#unwind(task, task.cancelling ? "return" : "next", result.value);
    if (task.cancelRequested) {
      task.cancelRequested = false;
      task.cancelling = true;
      task.resume = "return";
      return true;
    }
    const yielded = result.value;
    let op: Operation<unknown>;
    if (yielded instanceof Operation) op = yielded;
    else if (yielded === undefined) {
      // A bare `yield`: give up control (cogen's `yield None`).
      this.#enqueue(task, BACK);
      return this.#takeFront(task);
    } else if (isPromiseLike(yielded)) op = new Await(yielded);
    else {
      task.resume = "throw";
      task.value = new TypeError(
        `${task} yielded ${
          describe(yielded)
        }: yield an Operation (such as new Sleep(10)), a promise, or nothing${
          task.isAsync
            ? " (in an async generator, `yield promise` awaits it first: use `await` for promises)"
            : ""
        }`,
      );
      return true;
    }
    this.begin(task.waiter, op);
    return this.#takeFront(task);
  }

  /** True (and dequeues it) when the task is next in line: no need for a round trip. */
  #takeFront(task: Task<unknown>): boolean {
    if (this.#queue.at(0) !== task) return false;
    this.#queue.shift();
    task.queued = false;
    return true;
  }

  /** The innermost coroutine ended: resume its caller, or end the task. */
  #unwind(task: Task<unknown>, how: Resume, value: unknown): boolean {
    const callers = task.callers;
    if (callers === null || callers.length === 0) {
      this.#finish(task, how, value);
      return false;
    }
    const caller = callers.pop()!;
    task.gen = caller;
    task.isAsync = isAsyncGenerator(caller);
    task.resume = how;
    task.value = value;
    return true;
  }

  #finish(task: Task<unknown>, how: Resume, value: unknown): void {
    if (how === "throw" && task.isAbortReason(value)) {
      // The step failed with the abort of its own cancel (an awaited fetch, say): a cancel, not a failure.
      task.cancelling = true;
      how = "return";
    }
    if (how === "throw") {
      task.state = "failed";
      task.error = value;
    } else if (task.cancelling) task.state = "cancelled";
    else {
      task.state = "finished";
      task.result = value;
    }
    this.#taskCount--;
    task.end();
    if (task.state === "failed") this.#report(value, task);
    if (this.#taskCount === 0 && this.#running) this.#complete();
  }

  #report(error: unknown, task: Task<unknown>): void {
    try {
      this.onError(error, task);
    } catch (hookError) {
      console.error(
        `cogen: onError threw while reporting ${task}:`,
        hookError,
        "\nthe original error:",
        error,
      );
    }
  }

  #complete(): void {
    this.#running = false;
    if (this.#timerId !== undefined) {
      this.clock.clearTimer(this.#timerId);
      this.#timerId = undefined;
      this.#timerDue = Infinity;
    }
    const done = this.#done;
    this.#done = null;
    done?.resolve();
  }

  #armTimer(): void {
    const top = this.#timers.peek();
    if (top === undefined || !this.#running) return;
    if (this.#timerId !== undefined) {
      if (this.#timerDue <= top.deadline) return;
      this.clock.clearTimer(this.#timerId);
    }
    if (top.deadline === Infinity) return;
    this.#timerDue = top.deadline;
    this.#timerId = this.clock.setTimer(
      this.#timerCallback,
      // A later deadline re-arms when this timer fires.
      Math.min(MAX_DELAY, Math.max(0, Math.ceil(top.deadline - this.clock.now()))),
    );
  }

  #onTimer(): void {
    this.#timerId = undefined;
    this.#timerDue = Infinity;
    const now = this.clock.now();
    for (let top = this.#timers.peek(); top !== undefined && top.deadline <= now; top = this.#timers.peek()) {
      this.#timers.pop();
      top.expire();
    }
    this.#armTimer();
    if (this.#queue.length > 0 && !this.#draining) this.#drain();
  }
}

/** Resumes an async generator (called inside the task's async context). */
function resumeAsync(
  gen: AsyncGenerator<unknown, unknown, unknown>,
  how: Resume,
  value: unknown,
): Promise<IteratorResult<unknown, unknown>> {
  return how === "next" ? gen.next(value) : how === "throw" ? gen.throw(value) : gen.return(value);
}

function isCoroutine(value: unknown): value is Coroutine<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as Generator).next === "function" &&
    typeof (value as Generator).throw === "function" &&
    typeof (value as Generator).return === "function";
}

function logError(error: unknown, task: Task<unknown>): void {
  console.error(`cogen: ${task} failed:`, error);
}
