/**
 * Middleware: apps that wrap apps, each streaming (never collecting the
 * app's output) and passing empty chunks through so operations reach the
 * server; and the bridges to the platform's `(Request) => Response` handlers.
 *
 * @module
 */
export {
  accessLog,
  type AccessLogEntry,
  type AccessLogOptions,
  combinedLogFormat,
  commonLogFormat,
} from "./access_log.ts";
export { compose, type Middleware } from "./compose.ts";
export { compress, COMPRESSIBLE_TYPES, type CompressOptions } from "./compress.ts";
export { CONTENT_TYPES, contentTypeFor } from "./content_types.ts";
export { type ErrorPageInfo, errorPages, type ErrorPagesOptions } from "./error_pages.ts";
export { type FetchHandler, fromFetchHandler } from "./from_fetch_handler.ts";
export { LazyStartResponseMiddleware } from "./lazy_start_response.ts";
export { PathInfoDispatcher, type Route } from "./path_info_dispatcher.ts";
export { relay } from "./relay.ts";
export {
  type EventSourceFunction,
  type EventSourceYield,
  formatEvent,
  type ServerSentEvent,
  sse,
  type SseOptions,
} from "./sse.ts";
export { staticFiles, type StaticFilesOptions } from "./static_files.ts";
export { SynchronousInputMiddleware, type SynchronousInputOptions } from "./synchronous_input.ts";
export { toFetchHandler, type ToFetchHandlerOptions } from "./to_fetch_handler.ts";
export { ValidationError, validator } from "./validator.ts";
