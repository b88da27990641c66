/**
 * The HTTP/1.1 server that runs apps interleaved on the scheduler of `core/`:
 * the parser, the environ, the connection loop and `serve`.
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
export { type BodyHost, RequestBody } from "./body.ts";
export { PathInfoDispatcher, type Route } from "./dispatch.ts";
export {
  addHeaders,
  basicAuth,
  type ConnectionFacts,
  decodePath,
  type Environ,
  type ErrorStream,
  type ServerFacts,
} from "./environ.ts";
export { concatBytes, prependBytes } from "./bytes.ts";
export { FileWrapper, fileWrapper, type FileWrapperFactory } from "./file_wrapper.ts";
export { HttpError, STATUS_TEXT } from "./http_error.ts";
export { ClientGone, ContentLengthError, isClientError, logError, ServerShutdown } from "./errors.ts";
export { latin1 } from "./byte_classes.ts";
export { ChunkedDecoder } from "./chunked_decoder.ts";
export { type ParserLimits, RequestParser } from "./http_parser.ts";
export { RequestHead } from "./request_head.ts";
export { type BodyReader, Input } from "./input.ts";
export { DEFAULT_LIMITS, type ResolvedLimits, resolveLimits, type ServerLimits } from "./options.ts";
export { Output, type OutputWatchdog } from "./output.ts";
export { type LineSource, readLine } from "./read_line.ts";
export { type Stallable, StallWatch } from "./stall_watch.ts";
export { stopOnSignals, type StopOnSignalsOptions } from "./signals.ts";
export { checkStartResponse, HeadCache, type HeaderFacts, KnownHead, ServerLines } from "./response_head.ts";
export {
  CogenProxy,
  type CoreMirror,
  type Extensions,
  type InputOperations,
  type InputSource,
  isRunnable,
  type MirrorEvents,
  type Runnable,
} from "./proxy.ts";
export {
  type ListenAddress,
  serve,
  type ServeOptions,
  type Server,
  SERVER_SOFTWARE,
  type ServerOptions,
  WSGIServer,
} from "./server.ts";
