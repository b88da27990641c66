/**
 * cogen for Deno: a cooperative scheduler of generator coroutines, and (soon)
 * the HTTP/1.1 server and middleware built on it.
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
