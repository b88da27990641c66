/**
 * Blocking code beside the scheduler: functions of a module run in Deno
 * Workers as operations (`WorkerPool`), and synchronous WSGI apps served
 * from them (`blocking`).
 *
 * ```ts
 * import { WorkerPool } from "@cogen/cogen/pool";
 * const pool = new WorkerPool(new URL("./fib.ts", import.meta.url));
 * const call = pool.call<number>("fib", [35]); // yield it in a coroutine: `const n = yield* call`
 * await pool.close();
 * ```
 *
 * @module
 */
export { blocking, type BlockingOptions } from "./blocking.ts";
export { WorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";
