/**
 * The contract between the app driver and its hosts: where its requests
 * come from ({@linkcode RequestSource}) and where its responses go
 * ({@linkcode ResponseSink}). Our server's connection is one host;
 * `toFetchHandler` is the other.
 *
 * @module
 */
import type { AppDriver } from "./app_driver.ts";
import type { App, Chunk } from "./app.ts";
import type { FileWrapper } from "./file_wrapper.ts";
import type { HeadCache } from "./response_head.ts";

/**
 * Where a driver's requests come from, and the host's share of running their
 * apps: when output goes out, how the client's pace is kept, and what
 * follows an exchange.
 */
export interface RequestSource {
  /**
   * Readies the next request and hands it to the driver
   * ({@linkcode AppDriver.begin}), answering `"ready"`; `"end"` when no
   * request will come; or a promise to await before asking again. `filled`
   * is what that promise resolved to (`false` when it rejected), `undefined`
   * on a first ask.
   */
  nextRequest(filled: unknown): "ready" | "end" | Promise<unknown>;
  /**
   * The app is about to wait: on an operation (`operation`), or on
   * something of its own (an async step, a promise, a turn given up).
   * Output so far should go out soon, and the client's leaving be noticed.
   */
  pausing(operation: boolean): void;
  /** A promise to await before the app's next step (the client reads slowly), or `null`. */
  backpressure(): Promise<unknown> | null;
  /** Streams a `wsgi.file_wrapper` itself, or `null`: the driver iterates it as any async iterable. */
  sendFile(wrapper: FileWrapper): Promise<void> | null;
  /** The exchange is over: whether another request follows (a promise when something must be awaited first). */
  afterExchange(): boolean | Promise<boolean>;
  /** Reports an error and where it came from. */
  report(error: unknown, context: string): void;
  /** The driver has stopped (no request follows): release what is left. */
  end(): Promise<void> | void;
}

/** Where a driver's responses go. */
export interface ResponseSink {
  /**
   * The head goes out: `driver.code` and `driver.known` hold the app's status
   * and headers. `length` is the body's length when it is known before it
   * is framed (the app ended, or returned an array), else -1.
   */
  commit(driver: AppDriver, length: number): void;
  /** A body chunk of `length` bytes (for a string, its UTF-8 length). */
  frame(chunk: Chunk, length: number): void;
  /** The body is complete. */
  finish(): void;
  /**
   * The message cannot complete (the app failed after its head went out,
   * or is about to break its Content-Length): end it, once what was framed
   * is out, so that the client sees it cut short.
   */
  cut(error: unknown): void;
  /**
   * The app failed before any head went out: answer `status` with a short
   * text (`detail` may be `""`) and `headers` (those of an `HttpError`).
   */
  answerError(status: number, detail: string, headers?: readonly [string, string][]): void;
}

/** What a {@linkcode AppDriver} is made with. */
export interface DriverOptions {
  /** The app. */
  app: App;
  /** The heads the app answered with lately (checked and encoded once). */
  heads: HeadCache;
  /** Whether an error answer carries the error's stack. */
  debug: boolean;
}
