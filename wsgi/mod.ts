/**
 * The HTTP/1.1 server that runs apps interleaved on the scheduler of `core/`:
 * `serve` (and the cogen-shaped `WSGIServer`), the app protocol, the
 * environ and its coroutine extensions, and the errors of serving. The
 * parser, connections and response writer are internal (tests import them
 * by their file path).
 *
 * ```ts
 * import { serve } from "@cogen/cogen/wsgi";
 * const server = serve(async function* (_environ, startResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "Hello, World!";
 * }, { port: 0 });
 * await server.shutdown(0);
 * ```
 *
 * @module
 */
export type { App, AppResult, AppYield, Chunk, StartResponse, Write } from "./app.ts";
export { PathInfoDispatcher, type Route } from "./dispatch.ts";
export type { Environ, ErrorStream } from "./environ.ts";
export { ClientGone, ContentLengthError, logError, ServerShutdown } from "./errors.ts";
export { FileWrapper, type FileWrapperFactory } from "./file_wrapper.ts";
export { HttpError } from "./http_error.ts";
export { Input } from "./input.ts";
export { DEFAULT_LIMITS, type ServerLimits } from "./options.ts";
export {
  CogenProxy,
  type CoreMirror,
  type InputOperations,
  type MirrorEvents,
  type Runnable,
} from "./proxy.ts";
export {
  type ListenAddress,
  serve,
  type ServeOptions,
  type Server,
  type ServerOptions,
  WSGIServer,
} from "./server.ts";
export { stopOnSignals, type StopOnSignalsOptions } from "./signals.ts";
export {
  acceptWebSocket,
  type ResolvedWebSocketOptions,
  ServerWebSocket,
  type WebSocketHost,
  type WebSocketLink,
  type WebSocketMessage,
  type WebSocketOptions,
  type WebSocketState,
} from "./websocket.ts";
export { WebSocketError } from "./websocket_frames.ts";
