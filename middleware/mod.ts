/**
 * Middleware: apps that wrap apps, each streaming (never collecting the
 * app's output) and passing empty chunks through so operations reach the
 * server.
 *
 * @module
 */
export { LazyStartResponseMiddleware } from "./lazy_start_response.ts";
export { PathInfoDispatcher, type Route } from "./path_info_dispatcher.ts";
export { iteratorOf, relay } from "./relay.ts";
export { SynchronousInputMiddleware, type SynchronousInputOptions } from "./synchronous_input.ts";
