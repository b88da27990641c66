/**
 * cogen for Deno: an HTTP/1.1 server whose apps are generator coroutines
 * that stream their response and pause on operations (sleep, wait for a
 * signal, read the body…) without blocking anyone, on a cooperative
 * scheduler; with the middleware and fetch-handler interop built on it,
 * and a pool of workers for blocking code.
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
export {
  AddCoro,
  All,
  Await,
  type Bus,
  BusUnavailable,
  Call,
  type Coroutine,
  CoroutineError,
  type CoroutineFunction,
  CurrentTask,
  type FetchOptions,
  Join,
  Local,
  Operation,
  type OperationOptions,
  OperationTimeout,
  type Priority,
  priority,
  PublishSubscribeQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  type QueueRead,
  Race,
  Scheduler,
  type SchedulerOptions,
  Signal,
  type SignalOptions,
  Sleep,
  Task,
  Waiter,
  WaitForSignal,
  type Yieldable,
} from "./core/mod.ts";
export {
  acceptWebSocket,
  type App,
  type Chunk,
  ClientGone,
  CogenProxy,
  type Environ,
  FileWrapper,
  HttpError,
  Input,
  PathInfoDispatcher,
  type Route,
  serve,
  type ServeOptions,
  type Server,
  type ServerLimits,
  type ServerOptions,
  ServerShutdown,
  type ServerWebSocket,
  type StartResponse,
  stopOnSignals,
  type StopOnSignalsOptions,
  WSGIServer,
} from "./wsgi/mod.ts";
export {
  accessLog,
  type AccessLogOptions,
  compose,
  compress,
  type CompressOptions,
  errorPages,
  type ErrorPagesOptions,
  type FetchHandler,
  fromFetchHandler,
  LazyStartResponseMiddleware,
  type Middleware,
  relay,
  sse,
  staticFiles,
  type StaticFilesOptions,
  SynchronousInputMiddleware,
  type SynchronousInputOptions,
  toFetchHandler,
  type ToFetchHandlerOptions,
  validator,
} from "./middleware/mod.ts";
export { blocking, WorkerPool } from "./pool/mod.ts";
