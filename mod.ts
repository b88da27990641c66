/**
 * cogen for Deno: an HTTP/1.1 server whose apps are generator coroutines
 * that stream their response and pause on operations (sleep, wait for a
 * signal, read the body…) without blocking anyone, on a cooperative
 * scheduler; with the middleware and fetch-handler interop built on it.
 *
 * ```ts
 * import { Scheduler, Sleep } from "@cogen/cogen";
 * const sched = new Scheduler();
 * sched.add(function* () {
 *   yield new Sleep(1);
 * });
 * await sched.run();
 * ```
 *
 * @module
 */
export * from "./core/mod.ts";
export * from "./wsgi/mod.ts";
export * from "./middleware/mod.ts";
