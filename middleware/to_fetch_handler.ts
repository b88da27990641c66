/**
 * `toFetchHandler(app)`: runs one of our apps — operations included — as a
 * fetch handler, `(request: Request) => Promise<Response>`, on `Deno.serve`
 * (or any host of fetch handlers). The apps run in a scheduler of `core/`
 * beside the host, in the same process; the response body streams the app's
 * chunks as it yields them.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { Await, isPromiseLike, Operation, Scheduler, type Task } from "../core/mod.ts";
import { describe } from "../core/describe.ts";
import {
  type App,
  type AppResult,
  type AppYield,
  basicAuth,
  checkStartResponse,
  type Chunk,
  CogenProxy,
  concatBytes,
  decodePath,
  type Environ,
  fileWrapper,
  HttpError,
  Input,
  isRunnable,
  PathInfoDispatcher,
  prependBytes,
  readLine,
  type RequestBody,
  type Route,
  type Runnable,
  SERVER_SOFTWARE,
  type StartResponse,
  STATUS_TEXT,
  type Write,
} from "../wsgi/mod.ts";
import { errorStream } from "../wsgi/environ.ts";
import { createExtensions } from "../wsgi/proxy.ts";
import { iteratorOf } from "./relay.ts";

/** Options of {@linkcode toFetchHandler}. */
export interface ToFetchHandlerOptions {
  /**
   * The scheduler the apps run in (`environ["cogen.sched"]`). Default: a new
   * one for this handler. Whenever a request arrives and the scheduler is
   * not running, the handler starts it (`run()`); it stops by itself once no
   * task is left, so an idle handler holds no timer.
   */
  scheduler?: Scheduler;
  /** Receives an app's errors with where they came from. Default: log to stderr. */
  onError?: (error: unknown, context: string) => void;
  /** Show error stacks in 500 bodies. Default `false`: a short body, the stack in the log only. */
  debug?: boolean;
}

/**
 * Runs `app` (or a list of `[prefix, app]` routes, as `serve` takes) as a
 * fetch handler. Each request gets the environ our server gives — CGI keys
 * from the URL and headers, `wsgi.input` over the request body stream, the
 * `cogen` proxy and its helpers — and the app runs as a task of the
 * scheduler, so its operations (sleep, wait for a signal, body reads…) wait
 * without blocking other requests. The response is returned once the head is
 * known (at the app's first body chunk, its first operation after
 * `startResponse`, or its end); its body is a stream that carries each chunk
 * as it comes and makes the app wait while the client reads slowly. An app
 * that ends after one chunk gets a `Content-Length`, as on our server.
 *
 * When the client goes away (`request.signal` aborts, or the body stream is
 * cancelled), the app's generator is `return()`ed (its `finally` runs), its
 * pending operation is withdrawn and `environ["cogen.signal"]` aborts. An
 * error before the head gives a 500; after, the body stream errors.
 *
 * Deno 2 aborts `request.signal` after every successful response too (its
 * "legacy abort", announced once on stderr); the handler ignores those. Run
 * with `--unstable-no-legacy-abort` (or `"unstable": ["no-legacy-abort"]` in
 * deno.json) for Deno's corrected behaviour and no notice.
 *
 * @example
 * ```ts
 * import { toFetchHandler } from "@cogen/cogen/middleware";
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * import { Sleep } from "@cogen/cogen/core";
 * async function* slowHello(_environ: Environ, startResponse: StartResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "Hello, ";
 *   yield new Sleep(10); // other requests run meanwhile
 *   yield "World!";
 * }
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, toFetchHandler(slowHello));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * await response.text(); // "Hello, World!"
 * await server.shutdown();
 * ```
 */
export function toFetchHandler(
  app: App | Iterable<Route>,
  options: ToFetchHandlerOptions = {},
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const settings: Settings = {
    app: typeof app === "function" ? app : PathInfoDispatcher(app),
    sched: options.scheduler ?? new Scheduler(),
    report: options.onError ?? ((error, context) => console.error(`cogen: error in ${context}:`, error)),
    debug: options.debug ?? false,
  };
  return (request, info) => {
    const exchange = new FetchExchange(settings, request, info);
    const sched = settings.sched;
    exchange.task = sched.add(function fetchExchange() {
      return exchange.run();
    });
    if (!sched.running) sched.run();
    exchange.watchClient();
    return exchange.response.promise;
  };
}

/** What every exchange of one handler shares. */
interface Settings {
  readonly app: App;
  readonly sched: Scheduler;
  readonly report: (error: unknown, context: string) => void;
  readonly debug: boolean;
}

/** Bytes the body stream queues before the app waits for the client to read. */
const HIGH_WATER = 64 * 1024;
const NEXT = 0;
const THROW = 1;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const WSGI_VERSION = [1, 0] as const;

/** One request: the app's driver (a coroutine, as the server's connection) and its response. */
class FetchExchange {
  /** Settles with the response once its head is known. */
  readonly response: PromiseWithResolvers<Response> = Promise.withResolvers<Response>();
  /** The driver's task. */
  task: Task<void> | null = null;
  readonly environ: Environ;
  readonly #settings: Settings;
  readonly #request: Request;
  readonly #proxy: CogenProxy;
  readonly #abort = new AbortController();
  readonly #body: StreamBody | null;
  readonly #startResponse: StartResponse;
  readonly #write: Write;
  readonly #onAbort = () => this.#clientGone();

  // The response, as startResponse set it.
  #status: string | null = null;
  #code = 0;
  #reason = "";
  #headers: Headers | null = null;
  /** The app's Content-Length, or -1. */
  #declared = -1;
  #noBody = false;
  /** Whether the `Response` was made (its head can no longer change). */
  #committed = false;
  /** The first chunk, held back: if the app ends right after, the response gets a Content-Length. */
  #held: Uint8Array | null = null;
  #heldCork = false;
  #sent = 0;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  #pulled: PromiseWithResolvers<void> | null = null;
  /** The app is done (or being stopped): a later abort is not the client leaving. */
  #ended = false;
  /** The response was finished or failed by the driver; otherwise the exchange was cancelled. */
  #answered = false;
  #closed = false;

  constructor(settings: Settings, request: Request, info: Deno.ServeHandlerInfo | undefined) {
    this.#settings = settings;
    this.#request = request;
    this.#body = request.body === null ? null : new StreamBody(request.body);
    // Input reads only read(n), readline(limit) and trailers of its body, which StreamBody has.
    const input = new Input(this.#body as unknown as RequestBody);
    let proxy: CogenProxy | null = null;
    const extensions = createExtensions(() => proxy!, () => input);
    const length = request.headers.get("content-length");
    proxy = new CogenProxy(
      extensions,
      length !== null && /^\d+$/.test(length) ? Number(length) : -1,
      this.#abort.signal,
    );
    this.#proxy = proxy;
    this.environ = fetchEnviron(request, info, input, proxy, settings.sched, this.#abort.signal);
    this.#startResponse = (status, headers, excInfo) => this.#onStartResponse(status, headers, excInfo);
    this.#write = (chunk) => this.#onWrite(chunk);
  }

  /** Listens for the client leaving before the app is done. */
  watchClient(): void {
    // Reading request.signal makes Deno 2 (legacy abort) print a one-time notice; it is the only
    // sign of a client that leaves while the app waits before its head, as a long poll does.
    const signal = this.#request.signal;
    if (signal.aborted) this.#clientGone();
    else signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The coroutine: runs the app, one step at a time, as the server's connection does. */
  async *run(): AsyncGenerator<Operation<unknown>, void, unknown> {
    let result: AppResult | undefined;
    let iterator: Iterator<AppYield> | AsyncIterator<AppYield> | undefined;
    let finished = false;
    try {
      const called = this.#settings.app(this.environ, this.#startResponse);
      result = isPromiseLike(called) ? await (called as PromiseLike<AppResult>) : called;
      if (Array.isArray(result)) this.#sendArray(result);
      else {
        const isAsync = typeof (result as AsyncIterable<AppYield>)?.[Symbol.asyncIterator] === "function";
        iterator = iteratorOf(result);
        yield* this.#drive(iterator, isAsync);
      }
      finished = true;
      this.#answered = true;
      this.#finish();
    } catch (error) {
      this.#answered = true;
      this.#failed(error);
    } finally {
      this.#ended = true;
      if (iterator !== undefined && !finished) {
        try {
          await iterator.return?.();
        } catch (error) {
          this.#settings.report(error, `the app's finally block, for ${this.#describe()}`);
        }
      }
      const close = (result as { close?: unknown } | undefined)?.close;
      if (typeof close === "function") {
        try {
          await close.call(result);
        } catch (error) {
          this.#settings.report(error, `the app's close(), for ${this.#describe()}`);
        }
      }
      this.#close();
    }
  }

  /** Drives the app's iterator: chunks go to the body, operations to the scheduler. */
  async *#drive(
    iterator: Iterator<AppYield> | AsyncIterator<AppYield>,
    isAsync: boolean,
  ): AsyncGenerator<Operation<unknown>, void, unknown> {
    const proxy = this.#proxy;
    let mode = NEXT;
    let sent: unknown = undefined;
    for (;;) {
      // An iterator without throw(): an operation's error ends the app.
      if (mode === THROW && typeof iterator.throw !== "function") throw sent;
      let step: IteratorResult<AppYield, unknown>;
      if (isAsync) {
        // The step may take a while (the app awaits something): let a held chunk go out.
        if (this.#held !== null) this.#corkSoon();
        const async = iterator as AsyncIterator<AppYield>;
        step = mode === NEXT ? await async.next(sent) : await async.throw!(sent);
      } else {
        const sync = iterator as Iterator<AppYield>;
        step = mode === NEXT ? sync.next(sent) : sync.throw!(sent);
      }
      mode = NEXT;
      sent = undefined;
      if (step.done) return;
      const item = step.value;
      if (typeof item === "string" || item instanceof Uint8Array) {
        if (item.length > 0) {
          if (proxy.operation !== null) throw droppedOperation(proxy.operation);
          this.#chunk(item);
        } else {
          // The seed's path: an empty chunk carries the operation recorded on the proxy.
          const op = proxy.operation;
          if (this.#status !== null && !this.#committed) this.#commit(false);
          if (op !== null) {
            proxy.operation = null;
            yield* this.#runOperation(op);
          }
        }
      } else if (isRunnable(item)) {
        if (this.#status !== null && !this.#committed) this.#commit(false);
        if (yield* this.#runOperation(item)) sent = proxy.result;
        else {
          mode = THROW;
          sent = proxy.exception;
        }
      } else {
        throw new TypeError(
          `the app yielded ${
            describe(item)
          }: yield strings or Uint8Arrays (body), "" after recording an operation on environ.cogen, or an Operation or promise`,
        );
      }
      const controller = this.#controller;
      if (controller !== null && controller.desiredSize !== null && controller.desiredSize <= 0) {
        // The client reads slower than the app writes: wait (without blocking anyone) for it to catch up.
        const pulled = this.#pulled = Promise.withResolvers<void>();
        yield new Await(pulled.promise);
      }
    }
  }

  /** Runs an operation for the app and stores its outcome on the proxy; returns whether it succeeded. */
  async *#runOperation(op: Runnable): AsyncGenerator<Operation<unknown>, boolean, unknown> {
    const proxy = this.#proxy;
    if (proxy.operation !== null) {
      throw new Error(
        `an operation (${String(proxy.operation)}) was recorded on environ.cogen and never yielded with ""`,
      );
    }
    try {
      const value = yield op instanceof Operation ? op : new Await(op);
      proxy.result = value;
      proxy.exception = null;
      return true;
    } catch (error) {
      proxy.result = error instanceof Error ? error : new Error(String(error));
      proxy.exception = error;
      return false;
    }
  }

  // ---- startResponse and the body ----

  #onStartResponse(status: string, headers: [string, string][], excInfo?: unknown): Write {
    const code = checkStartResponse(
      status,
      excInfo,
      this.#status !== null,
      this.#committed || this.#held !== null,
    );
    if (!Array.isArray(headers)) {
      throw new TypeError(
        `startResponse: headers must be an array of [name, value] pairs, got ${describe(headers)}`,
      );
    }
    const fields = new Headers();
    let declared = -1;
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i];
      if (
        !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" ||
        typeof pair[1] !== "string"
      ) {
        throw new TypeError(`startResponse: header ${i} must be a [name, value] pair of strings`);
      }
      const [name, value] = pair;
      const lower = name.toLowerCase();
      if (lower === "transfer-encoding") {
        throw new TypeError(
          "startResponse: an app must not set Transfer-Encoding; the server frames the body",
        );
      }
      if (lower === "content-length") {
        const n = /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : -1;
        if (n < 0 || (declared >= 0 && declared !== n)) {
          throw new TypeError(`startResponse: invalid Content-Length ${JSON.stringify(value)}`);
        }
        declared = n;
      }
      try {
        fields.append(name, value);
      } catch (error) {
        // Headers refuses what HTTP does not allow (a bad name; CR, LF or NUL in a value: response splitting).
        throw new TypeError(
          `startResponse: header ${JSON.stringify(name)}: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
    this.#status = status;
    this.#code = code;
    this.#reason = status.slice(4);
    this.#headers = fields;
    this.#declared = declared;
    // As on our server: no body goes out, so a Content-Length the app gave is not owed.
    this.#noBody = this.#request.method === "HEAD" || nullBodyStatus(code);
    return this.#write;
  }

  #onWrite(chunk: Chunk): void {
    if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
      throw new TypeError(`write(): expected a string or a Uint8Array, got ${describe(chunk)}`);
    }
    if (chunk.length > 0) this.#chunk(chunk);
  }

  /** A non-empty body chunk from the app. */
  #chunk(chunk: Chunk): void {
    if (this.#status === null) throw new Error("the app produced body data before calling startResponse");
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    const declared = this.#declared;
    if (declared >= 0 && this.#sent + bytes.length > declared) {
      // More than the Content-Length it gave: send what fits, then the body errors.
      const room = declared - this.#sent;
      if (room > 0) this.#emit(bytes.subarray(0, room));
      throw new ContentLengthError(`the app sent more than its Content-Length of ${declared} bytes`);
    }
    this.#emit(bytes);
  }

  /** Holds, or enqueues, body bytes (not copied: as on the server, do not change them once yielded). */
  #emit(bytes: Uint8Array): void {
    this.#sent += bytes.length;
    if (!this.#committed) {
      if (this.#held === null && this.#declared < 0) {
        this.#held = bytes;
        return;
      }
      this.#commit(false);
    }
    this.#controller?.enqueue(bytes);
  }

  /** An async step is under way with a chunk held: send the head and the chunk at the end of this turn. */
  #corkSoon(): void {
    if (this.#heldCork) return;
    this.#heldCork = true;
    setImmediate(() => {
      this.#heldCork = false;
      if (!this.#committed && this.#held !== null && !this.#ended) this.#commit(false);
    });
  }

  /**
   * Makes the response. `complete`: the app has ended, so the body is exactly
   * the held chunk (and Deno gives it a Content-Length).
   */
  #commit(complete: boolean): void {
    const held = this.#held;
    this.#held = null;
    let body: Uint8Array | ReadableStream<Uint8Array> | null = null;
    // A HEAD keeps its body: Deno.serve takes the length from it and sends none of it (a stream it cancels).
    if (nullBodyStatus(this.#code)) body = null;
    else if (complete) body = held;
    else {
      body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          const pulled = this.#pulled;
          this.#pulled = null;
          pulled?.resolve();
        },
        cancel: () => this.#clientGone(),
      }, { highWaterMark: HIGH_WATER, size: (chunk) => chunk.byteLength });
      if (held !== null) this.#controller!.enqueue(held);
    }
    let response: Response;
    try {
      // (An app's Uint8Array is typed over any ArrayBufferLike; Response takes it as bytes all the same.)
      response = new Response(body as BodyInit | null, {
        status: this.#code,
        statusText: this.#reason,
        headers: this.#headers!,
      });
    } catch (error) {
      // Still uncommitted: a 500 settles the response (never left pending, never thrown from a timer).
      this.#controller = null;
      this.#failed(error);
      return;
    }
    this.#committed = true;
    this.response.resolve(response);
  }

  /** An array is sent as is: as one chunk, so the response gets a Content-Length when the app gave none. */
  #sendArray(items: AppYield[]): void {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const item of items) {
      if (typeof item !== "string" && !(item instanceof Uint8Array)) {
        throw new TypeError(
          `the app returned an array holding ${describe(item)}; an array may hold only chunks`,
        );
      }
      const bytes = typeof item === "string" ? encoder.encode(item) : item;
      parts.push(bytes);
      length += bytes.length;
    }
    if (length > 0) this.#chunk(concatBytes(parts, length));
  }

  /** The app ended normally: finish the response. */
  #finish(): void {
    const recorded = this.#proxy.operation;
    if (recorded !== null) throw droppedOperation(recorded);
    if (this.#status === null) throw new Error("the app returned without calling startResponse");
    const declared = this.#declared;
    if (declared >= 0 && this.#sent < declared && !this.#noBody) {
      throw new ContentLengthError(
        `the app sent ${this.#sent} of the ${declared} bytes of its Content-Length`,
      );
    }
    this.#ended = true;
    if (!this.#committed) this.#commit(true);
    else closeStream(this.#controller);
  }

  /** The app failed: a 500 if the head was not made yet, else the body stream errors. */
  #failed(error: unknown): void {
    this.#ended = true;
    this.#settings.report(error, `the app, for ${this.#describe()}`);
    if (this.#committed) {
      failStream(this.#controller, error);
      return;
    }
    this.#held = null;
    this.#committed = true;
    const status = error instanceof HttpError && error.status >= 200 && error.status <= 599
      ? error.status
      : 500;
    const detail = this.#settings.debug && error instanceof Error ? `${error.stack ?? error.message}\n` : "";
    const text = `${status} ${STATUS_TEXT[status] ?? "Error"}\n${detail}`;
    this.response.resolve(
      new Response(this.#request.method === "HEAD" ? null : text, {
        status,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      }),
    );
  }

  /** The client went away before the app was done: stop the app, abort `cogen.signal`. */
  #clientGone(): void {
    if (this.#ended) return; // Deno's legacy abort after a response that went out whole
    this.#ended = true;
    this.#abort.abort(new DOMException("the client went away", "AbortError"));
    // A task cancelled before its first step never enters run(), whose finally would close the exchange.
    this.task!.cancel().then(
      () => this.#close(),
      (error) => this.#settings.report(error, "cancel"),
    );
  }

  /** The exchange is over, whichever way: settle what is still pending, let go of the request. Runs once. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ended = true;
    this.#request.signal.removeEventListener("abort", this.#onAbort);
    if (!this.#answered) {
      // Cancelled: the client left.
      if (!this.#committed) {
        // Nobody reads this response; the host still wants its promise settled.
        this.#committed = true;
        this.response.resolve(new Response(null, { status: 499, statusText: "Client Closed Request" }));
      } else failStream(this.#controller, new DOMException("the client went away", "AbortError"));
    }
    this.#body?.release();
  }

  #describe(): string {
    const url = new URL(this.#request.url);
    return `${this.#request.method} ${url.pathname}${url.search}`;
  }
}

/** Whether a response with `code` has no body, whatever the request (a `Response` refuses one). */
function nullBodyStatus(code: number): boolean {
  return code === 204 || code === 205 || code === 304;
}

/** Closes a body stream unless it is closed or cancelled already. */
function closeStream(controller: ReadableStreamDefaultController<Uint8Array> | null): void {
  try {
    controller?.close();
  } catch {
    // Already closed or cancelled by the client.
  }
}

/** Errors a body stream (the client sees a cut message) unless it is over already. */
function failStream(controller: ReadableStreamDefaultController<Uint8Array> | null, error: unknown): void {
  try {
    controller?.error(error);
  } catch {
    // Already closed or cancelled.
  }
}

/**
 * The request body for `wsgi.input`: reads from the request's stream as the
 * app asks, never ahead of it. It has what `Input` reads of the server's
 * `RequestBody`: `read(max)`, `readline(limit)` and `trailers`.
 */
class StreamBody {
  readonly #stream: ReadableStream<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #leftover: Uint8Array = EMPTY;
  #done = false;
  #reading = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
  }

  /** A fetch request carries no trailers. */
  get trailers(): string[] {
    return [];
  }

  /** The next body bytes (at most `max`), or an empty array at the end. */
  async read(max: number): Promise<Uint8Array> {
    if (this.#leftover.length > 0) return this.#take(this.#leftover, max);
    if (this.#done) return EMPTY;
    if (this.#reading) {
      throw new Error("wsgi.input: a read is already under way; await it before reading again");
    }
    this.#reading = true;
    try {
      this.#reader ??= this.#stream.getReader();
      for (;;) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await this.#reader.read();
        } catch (error) {
          throw new Error("the client closed the connection before sending the whole request body", {
            cause: error,
          });
        }
        if (step.done) {
          this.#done = true;
          return EMPTY;
        }
        if (step.value.length > 0) return this.#take(step.value, max);
      }
    } finally {
      this.#reading = false;
    }
  }

  /** One line, up to and including `\n` (at the end: what is left, possibly empty). */
  readline(limit: number): Promise<Uint8Array> {
    return readLine(this, limit);
  }

  /** For `readLine`: bytes read past a line's end go back in front of what the read left over. */
  unread(bytes: Uint8Array): void {
    this.#leftover = prependBytes(bytes, this.#leftover);
  }

  /** The request is over: let go of the stream (a body the app did not read to the end is cancelled). */
  release(): void {
    if (this.#reader !== null && !this.#done) this.#reader.cancel().catch(() => {});
  }

  #take(chunk: Uint8Array, max: number): Uint8Array {
    if (chunk.length <= max) {
      this.#leftover = EMPTY;
      return chunk;
    }
    this.#leftover = chunk.subarray(max);
    return chunk.subarray(0, max);
  }
}

/** The environ of a fetch request: the keys our server gives, in the same order. */
function fetchEnviron(
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
  input: Input,
  proxy: CogenProxy,
  sched: Scheduler,
  signal: AbortSignal,
): Environ {
  const url = new URL(request.url);
  const scheme = url.protocol.slice(0, -1);
  const headers = request.headers;
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  const addr = info?.remoteAddr;
  const tcp = addr !== undefined && (addr.transport === "tcp" || addr.transport === "udp");
  const environ = {
    REQUEST_METHOD: request.method,
    SCRIPT_NAME: "",
    PATH_INFO: decodePath(url.pathname),
    QUERY_STRING: url.search.slice(1),
    // A Request keeps no raw target: its URL is normalized (dot segments resolved, some bytes escaped).
    REQUEST_URI: url.pathname + url.search,
    CONTENT_TYPE: headers.get("content-type") ?? "",
    CONTENT_LENGTH: headers.get("content-length") ?? "",
    // The host the client asked for: a fetch host does not tell the address it listens on.
    SERVER_NAME: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    SERVER_PORT: url.port !== "" ? url.port : scheme === "https" ? "443" : "80",
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_SOFTWARE,
    ACTUAL_SERVER_PROTOCOL: "HTTP/1.1",
    REMOTE_ADDR: tcp ? (addr as Deno.NetAddr).hostname : (addr as Deno.UnixAddr | undefined)?.path ?? "",
    REMOTE_PORT: tcp ? String((addr as Deno.NetAddr).port) : "",
    AUTH_TYPE: "",
    REMOTE_USER: "",
    "wsgi.version": WSGI_VERSION,
    "wsgi.url_scheme": scheme,
    "wsgi.input": input,
    "wsgi.errors": errorStream,
    "wsgi.multithread": false,
    "wsgi.multiprocess": false,
    "wsgi.run_once": false,
    "wsgi.file_wrapper": fileWrapper,
    cogen: proxy,
    "cogen.wsgi": proxy,
    "cogen.core": proxy.core,
    "cogen.input": proxy.input,
    "cogen.call": proxy.call,
    "cogen.yield": proxy.yield,
    "cogen.sched": sched,
    "cogen.http_connection": request,
    "cogen.headers": flat,
    "cogen.signal": signal,
  } as Environ;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    // Content-Type/-Length have CGI keys of their own; a name with "_" would share a key with its
    // dashed twin (a spoofing path through proxies), so it is left out, as our server does.
    if (name === "content-type" || name === "content-length" || name.includes("_")) continue;
    const key = `HTTP_${name.toUpperCase().replaceAll("-", "_")}`;
    // Headers joins repeated Cookie fields with ", "; our server joins them with "; " (RFC 6265 §5.4).
    // A cookie holds no comma (RFC 6265 §4.1.1), so each ", " is such a join.
    const value = name === "cookie" ? flat[i + 1].replaceAll(", ", "; ") : flat[i + 1];
    const previous = environ[key] as string | undefined;
    environ[key] = previous === undefined ? value : `${previous}, ${value}`;
  }
  const authorization = environ.HTTP_AUTHORIZATION;
  if (authorization !== undefined) basicAuth(environ, authorization);
  return environ;
}

/** The app broke its own Content-Length. */
class ContentLengthError extends Error {
  override name = "ContentLengthError";
}

/** The error for an operation recorded on the proxy whose empty chunk never reached the handler. */
function droppedOperation(op: Runnable): Error {
  return new Error(
    `the app recorded ${String(op)} on environ.cogen, but the empty chunk ("") that carries it never ` +
      `reached the handler, so it was never run: a middleware between them dropped it (middleware must pass "" through)`,
  );
}
