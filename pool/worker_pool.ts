/**
 * `WorkerPool`: functions of a module run in Deno Workers, called as
 * operations — so that CPU-heavy or synchronous code runs beside the
 * scheduler, never in its way.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "../core/mod.ts";
import type { CallMessage, ReplyMessage, SentError } from "./messages.ts";

/** Options of a {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** Workers at most (started as calls need them). Default: the number of cores. */
  size?: number;
}

/** A call waiting for a worker, or running on one. */
interface PoolCall {
  readonly id: number;
  readonly kind: "call" | "wsgi";
  readonly module: string;
  readonly name: string;
  readonly args: unknown[];
  readonly waiter: Waiter<unknown>;
  /** The worker running it, once it runs. */
  worker: PoolWorker | null;
}

/** One worker of the pool, and the call it runs. */
interface PoolWorker {
  readonly worker: Worker;
  current: PoolCall | null;
}

const WORKER_URL = new URL("./pool_worker.ts", import.meta.url).href;

/**
 * Runs the functions a module exports in up to `size` Deno Workers.
 * `pool.call(name, args)` is an operation: yield it, and every other task
 * runs while the function computes. Calls beyond `size` wait their turn, in
 * order. A call that times out (`options.timeout`) or is cancelled (its task
 * cancelled, or a lost `Race`) while it runs ends its worker — synchronous
 * code cannot be interrupted any other way — and a fresh one takes its place
 * for the next call. Arguments and results are copied (`structuredClone`).
 *
 * @example
 * ```ts
 * import { Scheduler } from "@cogen/cogen/core";
 * import { WorkerPool } from "@cogen/cogen/pool";
 * // fib.ts: export function fib(n: number): number { … }
 * const pool = new WorkerPool(new URL("./fib.ts", import.meta.url), { size: 2 });
 * const sched = new Scheduler();
 * sched.add(function* () {
 *   const n = yield* pool.call<number>("fib", [30], { timeout: 5000 });
 *   console.log(n); // 832040
 * });
 * // sched.run() would run it; workers start only for calls, so closing an unused pool costs nothing.
 * await pool.close();
 * ```
 */
export class WorkerPool {
  /** The module whose exports `call` runs (a URL). */
  readonly module: string;
  /** Workers at most. */
  readonly size: number;
  readonly #workers = new Set<PoolWorker>();
  #idle: PoolWorker[] = [];
  #queue: PoolCall[] = [];
  #queueHead = 0;
  #nextId = 1;
  #closed = false;

  /**
   * A pool for `moduleUrl` (a URL or an absolute path; a relative one is
   * resolved against the working directory).
   *
   * @throws {RangeError} when `size` is not an integer >= 1.
   */
  constructor(moduleUrl: string | URL, options: WorkerPoolOptions = {}) {
    this.module = moduleHref(moduleUrl);
    const size = options.size ?? navigator.hardwareConcurrency;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`WorkerPool: size must be an integer >= 1, got ${String(size)}`);
    }
    this.size = size;
  }

  /** Workers running now (started as calls need them, up to `size`). */
  get workers(): number {
    return this.#workers.size;
  }

  /** Calls waiting for a worker. */
  get waiting(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * An operation: runs the module's export `name` with `args` in a worker
   * and gives its return value (awaited if it is a promise). An error it
   * throws is thrown into the caller with its name, message and the stack
   * from the worker.
   *
   * @throws {Error} (into the caller) after `close()`, for an argument that
   *   cannot be copied to a worker (naming it), or when the worker crashed.
   */
  call<T = unknown>(name: string, args: unknown[] = [], options?: OperationOptions): Operation<T> {
    return new PoolCallOperation<T>(this, "call", this.module, name, args, options);
  }

  /**
   * Ends every worker (calls running or waiting fail with an error saying
   * the pool closed). Calls made after it fail at once.
   */
  close(): Promise<void> {
    this.#closed = true;
    const closed = new Error("WorkerPool: the pool was closed while the call waited or ran");
    for (const worker of this.#workers) {
      worker.worker.terminate();
      worker.current?.waiter.reject(closed);
    }
    this.#workers.clear();
    this.#idle = [];
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#queue[i].waiter.reject(closed);
    this.#queue = [];
    this.#queueHead = 0;
    return Promise.resolve();
  }

  // ---- for the operation ----

  /** @ignore Starts a call: on an idle worker, or in the queue. */
  begin(waiter: Waiter<unknown>, kind: "call" | "wsgi", module: string, name: string, args: unknown[]): void {
    if (this.#closed) {
      waiter.reject(new Error(`WorkerPool.call(${JSON.stringify(name)}): the pool is closed`));
      return;
    }
    const call: PoolCall = { id: this.#nextId++, kind, module, name, args, waiter, worker: null };
    waiter.item = call;
    this.#queue.push(call);
    this.#pump();
  }

  /** @ignore The caller no longer waits (timeout, cancel, lost race): a running call ends its worker. */
  withdraw(waiter: Waiter<unknown>): void {
    const call = waiter.item as PoolCall | undefined;
    if (call === undefined) return;
    const worker = call.worker;
    if (worker === null) {
      const i = this.#queue.indexOf(call, this.#queueHead);
      if (i >= 0) this.#queue.splice(i, 1);
      return;
    }
    // Synchronous code cannot be interrupted: the worker goes, and a fresh one takes its place.
    worker.current = null;
    this.#replace(worker);
    this.#pump();
  }

  /** Starts waiting calls on idle workers, starting workers up to `size`. */
  #pump(): void {
    while (this.#queueHead < this.#queue.length) {
      let worker = this.#idle.pop();
      if (worker === undefined) {
        if (this.#workers.size >= this.size) return;
        worker = this.#spawn();
      }
      const call = this.#queue[this.#queueHead++];
      if (this.#queueHead === this.#queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      }
      this.#run(worker, call);
    }
  }

  #run(worker: PoolWorker, call: PoolCall): void {
    const message: CallMessage = {
      id: call.id,
      kind: call.kind,
      module: call.module,
      name: call.name,
      args: call.args,
    };
    try {
      worker.worker.postMessage(message);
    } catch (error) {
      this.#idle.push(worker);
      call.waiter.reject(cloneError(call, error));
      return;
    }
    worker.current = call;
    call.worker = worker;
  }

  #spawn(): PoolWorker {
    const worker: PoolWorker = { worker: new Worker(WORKER_URL, { type: "module" }), current: null };
    worker.worker.onmessage = (event: MessageEvent<ReplyMessage>) => this.#replied(worker, event.data);
    worker.worker.onerror = (event: ErrorEvent) => {
      // An error the worker did not catch (thrown from a timer of the called code, say): that worker goes.
      event.preventDefault();
      this.#crashed(worker, event.message);
    };
    this.#workers.add(worker);
    return worker;
  }

  #replied(worker: PoolWorker, reply: ReplyMessage): void {
    if (reply.id === -1 && !reply.ok) {
      // The called code ended its own worker.
      this.#crashed(worker, reply.error.message);
      return;
    }
    const call = worker.current;
    if (call === null || call.id !== reply.id) return; // a call withdrawn meanwhile
    worker.current = null;
    this.#idle.push(worker);
    if (reply.ok) call.waiter.resolve(reply.value);
    else call.waiter.reject(receivedError(reply.error));
    this.#pump();
  }

  #crashed(worker: PoolWorker, message: string): void {
    const call = worker.current;
    worker.current = null;
    this.#replace(worker);
    call?.waiter.reject(new Error(`WorkerPool: the worker running ${call.name} crashed: ${message}`));
    this.#pump();
  }

  /** Ends `worker` and starts a fresh one in its place (none once the pool is closed). */
  #replace(worker: PoolWorker): void {
    this.#drop(worker);
    if (!this.#closed) this.#idle.push(this.#spawn());
  }

  #drop(worker: PoolWorker): void {
    worker.worker.terminate();
    this.#workers.delete(worker);
    const i = this.#idle.indexOf(worker);
    if (i >= 0) this.#idle.splice(i, 1);
  }
}

/** @ignore The operation of `WorkerPool.call` (and of `blocking`'s calls). */
export class PoolCallOperation<T> extends Operation<T> {
  constructor(
    readonly pool: WorkerPool,
    readonly kind: "call" | "wsgi",
    readonly module: string,
    readonly name: string,
    readonly args: unknown[],
    options?: OperationOptions,
  ) {
    super();
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`WorkerPool.call: name must be the name of an export, got ${String(name)}`);
    }
    if (!Array.isArray(args)) throw new TypeError("WorkerPool.call: args must be an array");
    this.applyOptions("WorkerPool.call", options);
  }

  start(waiter: Waiter<T>): void {
    this.pool.begin(waiter as Waiter<unknown>, this.kind, this.module, this.name, this.args);
  }

  override withdraw(waiter: Waiter<T>): void {
    this.pool.withdraw(waiter as Waiter<unknown>);
  }

  override toString(): string {
    return `WorkerPool.call(${JSON.stringify(this.name)})`;
  }
}

/** A module given as a URL, an absolute path, or a path relative to the working directory, as a URL. */
export function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return new URL(module).href;
  return new URL(module, `file://${Deno.cwd()}/`).href;
}

/** The error of a call whose arguments cannot be copied to a worker, naming the first that cannot. */
function cloneError(call: PoolCall, error: unknown): Error {
  let which = -1;
  for (let i = 0; i < call.args.length && which < 0; i++) {
    try {
      structuredClone(call.args[i]);
    } catch {
      which = i;
    }
  }
  const what = which >= 0 ? `argument ${which} (${describe(call.args[which])})` : "its arguments";
  return new TypeError(
    `WorkerPool.call(${JSON.stringify(call.name)}): ${what} cannot be copied to a worker ` +
      `(${(error as Error).message}); pass values structuredClone can copy`,
  );
}

function describe(value: unknown): string {
  if (typeof value === "function") return `the function ${value.name || "(anonymous)"}`;
  if (typeof value === "object" && value !== null) return `a ${value.constructor?.name ?? "object"}`;
  return typeof value;
}

/** An error from a worker, rebuilt: its name, message and the worker's stack. */
function receivedError(sent: SentError): Error {
  const error = new Error(sent.message);
  error.name = sent.name;
  if (sent.stack !== "") error.stack = sent.stack;
  return error;
}
