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
export {
  AddCoro,
  All,
  Await,
  type Bus,
  type BusHost,
  BusUnavailable,
  Call,
  type Clock,
  type Coroutine,
  CoroutineError,
  type CoroutineFunction,
  CurrentTask,
  type FetchOptions,
  Join,
  Local,
  Operation,
  type OperationOptions,
  type OperationScheduler,
  type OperationTask,
  OperationTimeout,
  type Placement,
  type Priority,
  priority,
  PublishSubscribeQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  type QueueRead,
  Race,
  type ResultOf,
  type ResultsOf,
  Scheduler,
  type SchedulerOptions,
  Signal,
  type SignalOptions,
  Sleep,
  Task,
  type TaskState,
  type TimerEntry,
  Waiter,
  WaitForSignal,
  type Yieldable,
} from "./core/mod.ts";
export {
  acceptWebSocket,
  type App,
  type AppResult,
  type AppYield,
  type Chunk,
  ClientGone,
  CogenProxy,
  type CoreMirror,
  type Environ,
  type ErrorStream,
  FileWrapper,
  HttpError,
  Input,
  type InputOperations,
  type ListenAddress,
  type MirrorEvents,
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
  type AccessLogEntry,
  type AccessLogOptions,
  compose,
  compress,
  type CompressOptions,
  type ErrorPageInfo,
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
