/**
 * The app driver: runs the app for each request its source hands it. It
 * calls the app with the environ and `startResponse`, steps what the app
 * returns one item at a time, runs the operations the app yields (as waits
 * of its own task, so every other task runs meanwhile), keeps PEP 3333's
 * `startResponse` rules and the app's Content-Length, and ends the response
 * or answers the error.
 *
 * One driver serves both hosts of apps: a connection of our server
 * (`wsgi/connection.ts`, which writes HTTP/1.1 to a socket) and
 * `toFetchHandler` (which makes a `Response`). The host hands over requests
 * (a {@linkcode RequestSource}) and takes the response (a
 * {@linkcode ResponseSink}); everything an app can get right or wrong is
 * decided here, once (`wsgi/app_host.ts` has the contract).
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { Await, Operation, type Task } from "../core/mod.ts";
import { isPromiseLike } from "../core/await.ts";
import { describe } from "../core/describe.ts";
import type { Resume } from "../core/resume.ts";
import {
  type App,
  type AppResult,
  type AppYield,
  type Chunk,
  closeOf,
  iteratorOf,
  type StartResponse,
  type Write,
} from "./app.ts";
import type { Environ } from "./environ.ts";
import type { DriverOptions, RequestSource, ResponseSink } from "./app_host.ts";
import { ClientGone, ContentLengthError, ServerShutdown } from "./errors.ts";
import { FileWrapper } from "./file_wrapper.ts";
import { HttpError } from "./http_error.ts";
import type { Input } from "./input.ts";
import { utf8Length } from "./output.ts";
import { type CogenProxy, isRunnable, type Runnable } from "./proxy.ts";
import { checkStartResponse, type HeadCache, type KnownHead } from "./response_head.ts";

/** App steps between two turns given to the rest of the scheduler, when the app waits on nothing. */
const STEPS_PER_TURN = 64;
/** Thrown in the driver when its app was abandoned while it waited: nothing more is sent for it. */
const ABANDONED = Symbol("abandoned");
/** `#call`'s answer when the app threw (the error is answered already). */
const FAILED = Symbol("failed");
const encoder = new TextEncoder();

/**
 * Runs apps, one request after another, as one task of a scheduler (see the
 * module doc). The host makes it with its source and sink, adds
 * `driver.run()` to the scheduler and sets the task's `owner` to the driver
 * (the environ helpers find the request through it).
 *
 * @example
 * ```ts ignore
 * const driver = new AppDriver(connection, writer, { app, heads, debug: false });
 * const task = sched.add(driver.run());
 * task.owner = driver;
 * ```
 */
export class AppDriver {
  readonly #source: RequestSource;
  readonly #sink: ResponseSink;
  readonly #app: App;
  readonly #heads: HeadCache;
  readonly #debug: boolean;

  // The request being served.
  #environ: Environ | null = null;
  #proxy: CogenProxy | null = null;
  #input: Input | null = null;
  #method = "";
  #target = "";

  // Its response.
  #status: string | null = null;
  #code = 0;
  #known: KnownHead | null = null;
  /** The app's Content-Length, or -1. */
  #declared = -1;
  #committed = false;
  /** The first chunk, held back: if the app ends right after, the response gets a Content-Length. */
  #held: Chunk | null = null;
  #heldLength = 0;
  /** Body bytes the app produced (counted for HEAD too, so that its framing mirrors GET's). */
  #sent = 0;
  #noBody = false;
  /** The app was abandoned (its client left, or a timeout answered for it): its output is dropped. */
  #abandoned = false;
  /** The host agreed to switch protocols (`acceptWebSocket`): the app may answer 101. */
  #upgrading = false;
  readonly #startResponse: StartResponse;
  /** The `write` callable startResponse returns, made at its first call (a held long poll has none). */
  #write: Write | null = null;

  /** A driver of `options.app` for requests from `source`, responses to `sink`. */
  constructor(source: RequestSource, sink: ResponseSink, options: DriverOptions) {
    this.#source = source;
    this.#sink = sink;
    this.#app = options.app;
    this.#heads = options.heads;
    this.#debug = options.debug;
    this.#startResponse = (status, headers, excInfo) => this.#onStartResponse(status, headers, excInfo);
  }

  /** The status code the app answered with (0 before `startResponse`). */
  get code(): number {
    return this.#code;
  }

  /** The app's status and headers, checked (`null` before `startResponse`). */
  get known(): KnownHead | null {
    return this.#known;
  }

  /** Whether the head went out (or the error answer). */
  get committed(): boolean {
    return this.#committed;
  }

  /** Whether no body goes out, whatever the app produces (HEAD, 204, 205, 304). */
  get noBody(): boolean {
    return this.#noBody;
  }

  /** Whether a first chunk is held back (see {@linkcode AppDriver.release}). */
  get holding(): boolean {
    return this.#held !== null;
  }

  /** Whether the app was abandoned. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** The proxy of the request being served (`environ.cogen`), or `null`. */
  get proxy(): CogenProxy | null {
    return this.#proxy;
  }

  /** The input of the request being served (`wsgi.input`), or `null`. */
  get input(): Input | null {
    return this.#input;
  }

  /** Where an error of the app came from, for reports: `the app, for GET /path`. */
  get context(): string {
    return this.#method === "" ? "the app" : `the app, for ${this.#method} ${this.#target}`;
  }

  /**
   * For the source, in `nextRequest`: the request to serve next. `target`
   * names it in reports.
   */
  begin(environ: Environ, proxy: CogenProxy, input: Input, method: string, target: string): void {
    this.#environ = environ;
    this.#proxy = proxy;
    this.#input = input;
    this.#method = method;
    this.#target = target;
    this.#status = null;
    this.#code = 0;
    this.#known = null;
    this.#declared = -1;
    this.#committed = false;
    this.#held = null;
    this.#heldLength = 0;
    this.#sent = 0;
    this.#noBody = method === "HEAD";
    this.#abandoned = false;
    this.#upgrading = false;
  }

  /**
   * For the host, as it takes the connection over for another protocol
   * (`acceptWebSocket`): the app may answer `101 Switching Protocols`, and
   * then sends no body of its own.
   */
  allowUpgrade(): void {
    this.#upgrading = true;
  }

  /** Whether the app answered 101: the connection speaks another protocol from now on. */
  get upgraded(): boolean {
    return this.#code === 101;
  }

  /**
   * Sends a held first chunk now, with the head (the app is taking a while
   * to say whether more follows).
   */
  release(): void {
    if (this.#held !== null && !this.#committed && !this.#abandoned) this.#commit(-1);
  }

  /**
   * Abandons the app (its client left, or the server answered for it): what
   * it produces from now on is dropped, and `cogen.signal` aborts with
   * `reason`. The host closes the connection and cancels the task; an app
   * in the middle of an await is `return()`ed when the await ends.
   */
  abandon(reason: string): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#held = null;
    this.#proxy?.abort(new DOMException(reason, "AbortError"));
  }

  /**
   * Throws `error` into the app of `task` where it waits on an operation
   * (the operation is withdrawn, `cogen.signal` aborts with `error`);
   * returns whether it was waiting on one. An app inside an await of its
   * own cannot be interrupted.
   */
  interrupt(task: Task<unknown>, error: unknown): boolean {
    const waiter = task.waiter;
    const op = waiter.op;
    if (op === null || this.#proxy === null) return false;
    this.#proxy.abort(error);
    op.withdraw(waiter);
    waiter.reject(error);
    return true;
  }

  /** The coroutine: the requests of the source, one after another, until it has none. */
  async *run(): AsyncGenerator<Operation<unknown> | undefined, void, unknown> {
    const source = this.#source;
    try {
      let filled: unknown = undefined;
      for (;;) {
        const next = source.nextRequest(filled);
        if (next === "end") break;
        if (next !== "ready") {
          try {
            filled = await next;
          } catch {
            filled = false;
          }
          continue;
        }
        filled = undefined;
        const called = this.#call();
        if (Array.isArray(called)) this.#answerArray(called);
        else if (called !== FAILED) {
          // Anything else (a promise, a file, an iterable): stepped here, and the operations it asks for yielded from
          // here. Inline rather than in a delegated generator: a held request then carries one generator less, and
          // waking it takes one resumption less. The rarer work is in methods, so that this frame stays small too.
          let result: AppResult | undefined;
          let iterator: Iterator<AppYield> | AsyncIterator<AppYield> | undefined;
          let finished = false;
          try {
            if (isPromiseLike(called)) {
              this.#pause();
              result = await (called as PromiseLike<AppResult>);
              this.#resumed();
            } else result = called as AppResult;
            if (result instanceof FileWrapper) await this.#sendFile(result);
            else if (Array.isArray(result)) this.#sendArray(result);
            else {
              const isAsync = result !== null &&
                typeof (result as AsyncIterable<AppYield>)[Symbol.asyncIterator] === "function";
              iterator = iteratorOf(result, isAsync);
              let mode: Resume = "next";
              let sent: unknown = undefined;
              let quiet = 0;
              for (;;) {
                let step: IteratorResult<AppYield, unknown> | null;
                // An iterator without throw(): an operation's error ends the app.
                if (mode === "throw" && typeof iterator.throw !== "function") throw sent;
                if (isAsync) {
                  this.#pause();
                  step = mode === "next"
                    ? await (iterator as AsyncIterator<AppYield>).next(sent)
                    : await (iterator as AsyncIterator<AppYield>).throw!(sent);
                  this.#resumed();
                } else {
                  step = mode === "next"
                    ? (iterator as Iterator<AppYield>).next(sent)
                    : (iterator as Iterator<AppYield>).throw!(sent);
                }
                mode = "next";
                sent = undefined;
                if (step.done) break;
                const op = this.#operationOf(step.value);
                // The seed's path ("" after recording on the proxy) leaves the outcome on the proxy only; an
                // operation yielded directly also gets it sent back in (or thrown in).
                const direct = op === step.value;
                step = null; // a held request's frame keeps no step result
                if (op !== null) {
                  quiet = 0;
                  source.pausing(true);
                  try {
                    const value = yield op instanceof Operation ? op : new Await(op);
                    this.#settled(true, value);
                    if (direct) sent = value;
                  } catch (error) {
                    this.#settled(false, error);
                    if (direct) {
                      mode = "throw";
                      sent = error;
                    }
                  }
                  if (this.#abandoned) throw ABANDONED;
                } else if (++quiet === STEPS_PER_TURN) {
                  // Steps that wait on nothing (a loop of `yield ""`, say) must not keep every other client waiting:
                  // the app waits for the event loop's next turn, when I/O has had its go.
                  quiet = 0;
                  source.pausing(false);
                  yield new Await(nextTurn());
                  if (this.#abandoned) throw ABANDONED;
                }
                const slow = source.backpressure();
                if (slow !== null) await this.#caughtUp(slow);
              }
            }
            finished = true;
            this.#end();
          } catch (error) {
            this.#failed(error);
          } finally {
            if ((iterator !== undefined && !finished) || closeOf(result) !== null) {
              await this.#closeApp(result, finished ? undefined : iterator);
            }
          }
        }
        let keep = source.afterExchange();
        if (keep !== true && keep !== false) keep = await keep;
        if (!keep) break;
      }
    } catch (error) {
      source.report(error, "connection");
    } finally {
      await source.end();
    }
  }

  /** Calls the app: what it returned, or FAILED (the error is answered). */
  #call(): unknown {
    try {
      return this.#app(this.#environ!, this.#startResponse);
    } catch (error) {
      this.#failed(error);
      return FAILED;
    }
  }

  /** The app is about to be awaited. */
  #pause(): void {
    this.#source.pausing(false);
  }

  /** The await of the app ended: go on, unless the app was abandoned meanwhile. */
  #resumed(): void {
    if (this.#abandoned) throw ABANDONED;
  }

  /** Waits for the client to catch up; a failed write means the client is gone. */
  async #caughtUp(slow: Promise<unknown>): Promise<void> {
    try {
      await slow;
    } catch (error) {
      throw new ClientGone(error);
    }
    if (this.#abandoned) throw ABANDONED;
  }

  /** The app answered with an array: sent as is, synchronously. */
  #answerArray(items: AppYield[]): void {
    try {
      this.#sendArray(items);
      this.#end();
    } catch (error) {
      this.#failed(error);
    }
    const close = (items as { close?: unknown }).close;
    if (typeof close === "function") this.#callClose(items, close);
  }

  // ---- startResponse and the body ----

  #onStartResponse(status: string, headers: [string, string][], excInfo?: unknown): Write {
    // The head counts as sent once a body byte was produced, even while it is held.
    const code = checkStartResponse(
      status,
      excInfo,
      this.#status !== null,
      this.#committed || this.#held !== null,
      this.#upgrading,
    );
    const known = this.#heads.get(status, headers);
    this.#known = known;
    this.#declared = known.facts.contentLength;
    this.#status = status;
    this.#code = code;
    // No content for HEAD, 204, 304 and 205 (RFC 9110, 15.3.6: "MUST NOT generate content").
    this.#noBody = this.#method === "HEAD" || code === 204 || code === 205 || code === 304 || code === 101;
    return this.#write ??= (chunk) => this.#onWrite(chunk);
  }

  #onWrite(chunk: Chunk): void {
    if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
      throw new TypeError(`write(): expected a string or a Uint8Array, got ${describe(chunk)}`);
    }
    if (chunk.length > 0 && !this.#abandoned) {
      this.#chunk(chunk, typeof chunk === "string" ? -1 : chunk.length);
    }
  }

  /** A non-empty body chunk from the app; `length` its UTF-8 length, or -1 to count it here. */
  #chunk(chunk: Chunk, length: number): void {
    if (this.#status === null) throw new Error("the app produced body data before calling startResponse");
    if (this.#code === 101) {
      throw new TypeError(
        "the app yielded body data after acceptWebSocket: send messages with ws.send(data)",
      );
    }
    if (length < 0) length = utf8Length(chunk as string);
    const declared = this.#declared;
    if (declared >= 0 && this.#sent + length > declared) {
      // More than the Content-Length it gave: what fits goes out, a whole message by its length (its head, if
      // not out yet, announcing that the connection ends), then the error.
      const error = new ContentLengthError(`the app sent more than its Content-Length of ${declared} bytes`);
      if (!this.#committed) this.#sink.cut(error);
      const room = declared - this.#sent;
      if (room > 0) {
        const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
        this.#emit(bytes.subarray(0, room), room);
      }
      if (this.#committed) this.#sink.finish();
      throw error;
    }
    this.#emit(chunk, length);
  }

  /** Hands a chunk to the sink (the first one may be held back). */
  #emit(chunk: Chunk, length: number): void {
    if (!this.#committed) {
      if (this.#held === null && this.#declared < 0) {
        this.#held = chunk;
        this.#heldLength = length;
        this.#sent += length;
        return;
      }
      this.#commit(-1);
    }
    this.#sent += length;
    this.#sink.frame(chunk, length);
  }

  /** The head goes out (`length`: the body's, when known), then the held chunk if any. */
  #commit(length: number): void {
    this.#committed = true;
    this.#sink.commit(this, length);
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      this.#sink.frame(held, this.#heldLength);
    }
  }

  /** An array is sent as is, its length known before the head goes out. */
  #sendArray(items: AppYield[]): void {
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item === "string") total += utf8Length(item);
      else if (item instanceof Uint8Array) total += item.length;
      else {
        throw new TypeError(
          `the app returned an array holding ${describe(item)}; an array may hold only chunks`,
        );
      }
    }
    if (!this.#committed && this.#status !== null && this.#declared < 0 && total > 0) {
      this.#commit(this.#sent + total);
    }
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Chunk;
      if (item.length > 0) this.#chunk(item, typeof item === "string" ? -1 : item.length);
    }
  }

  /** Streams a `wsgi.file_wrapper`: by the source if it can, else block by block as it iterates. */
  async #sendFile(wrapper: FileWrapper): Promise<void> {
    try {
      if (this.#status === null) {
        throw new Error("the app returned a file_wrapper without calling startResponse");
      }
      if (!this.#committed) this.#commit(-1);
      this.#source.pausing(false);
      const streamed = this.#source.sendFile(wrapper);
      if (streamed !== null) await streamed;
      else {
        for await (const block of wrapper) {
          if (this.#abandoned) break;
          if (block.length > 0) this.#chunk(block, block.length);
          const slow = this.#source.backpressure();
          if (slow !== null) await this.#caughtUp(slow);
        }
      }
      if (this.#abandoned) throw ABANDONED;
    } finally {
      wrapper.close();
    }
  }

  /**
   * For a source that streams files itself: the length of body a file may
   * take (the rest of the app's Content-Length, or `wrapper.length`; 0
   * without a body), and then the bytes it framed.
   */
  fileRoom(wrapper: FileWrapper): number {
    if (this.#noBody) return 0;
    const declared = this.#declared;
    return declared >= 0 ? Math.min(declared - this.#sent, wrapper.length) : wrapper.length;
  }

  /** For a source that streams files itself: `n` more body bytes went to the sink. */
  fileSent(n: number): void {
    this.#sent += n;
  }

  /** The app ended normally: finish the message. */
  #end(): void {
    const recorded = this.#proxy?.operation ?? null;
    if (recorded !== null) throw droppedOperation(recorded);
    if (this.#status === null) throw new Error("the app returned without calling startResponse");
    const declared = this.#declared;
    if (declared >= 0 && this.#sent < declared && !this.#noBody) {
      throw new ContentLengthError(
        `the app sent ${this.#sent} of the ${declared} bytes of its Content-Length`,
      );
    }
    if (!this.#committed) this.#commit(this.#sent);
    this.#sink.finish();
  }

  /** The app failed: an error answer if nothing went out yet, else the message is cut. */
  #failed(error: unknown): void {
    if (this.#abandoned || error === ABANDONED) return; // nobody is waiting for this answer
    if (error instanceof ClientGone) {
      this.#abandoned = true;
      this.#source.report(error, this.context);
      this.#sink.cut(error);
      return;
    }
    // The server stopping the app is no fault of the app's: a body it had begun ends where it is, when its framing
    // allows (else it is cut); no head yet is a 503.
    const shutdown = error instanceof ServerShutdown;
    if (!shutdown) this.#source.report(error, this.context);
    if (this.#committed) {
      if (shutdown && this.#declared < 0) this.#sink.finish();
      else this.#sink.cut(error);
      return;
    }
    this.#held = null;
    this.#committed = true;
    const status = error instanceof HttpError && error.status >= 200 && error.status <= 599
      ? error.status
      : shutdown
      ? 503
      : 500;
    // An HttpError's message is meant for the client (why its request was refused); other errors stay in the log.
    const detail = this.#debug && error instanceof Error
      ? `${error.stack ?? error.message}\n`
      : error instanceof HttpError && status === error.status
      ? `${error.message}\n`
      : "";
    this.#sink.answerError(status, detail, error instanceof HttpError ? error.headers : undefined);
  }

  /**
   * What the app yielded: a chunk goes to the sink and `null` is returned;
   * an operation (yielded, or recorded on the proxy before a `""`) is
   * returned, to be run.
   */
  #operationOf(item: AppYield): Runnable | null {
    const proxy = this.#proxy!;
    if (typeof item === "string" || item instanceof Uint8Array) {
      if (item.length > 0) {
        if (proxy.operation !== null) throw droppedOperation(proxy.operation);
        this.#chunk(item, typeof item === "string" ? -1 : item.length);
        return null;
      }
      // The seed's path: an empty chunk carries the operation recorded on the proxy, and flushes the head.
      const op = proxy.operation;
      if (this.#status !== null && !this.#committed) this.#commit(-1);
      if (op === null) return null;
      proxy.operation = null;
      return op;
    }
    if (isRunnable(item)) {
      if (this.#status !== null && !this.#committed) this.#commit(-1);
      if (proxy.operation !== null) {
        throw new Error(
          `an operation (${String(proxy.operation)}) was recorded on environ.cogen and never yielded with ""`,
        );
      }
      return item;
    }
    throw new TypeError(
      `the app yielded ${
        describe(item)
      }: yield strings or Uint8Arrays (body), "" after recording an operation on environ.cogen, or an Operation or promise`,
    );
  }

  /** The operation the app waited on ended: its outcome goes on the proxy (the seed's path reads it there). */
  #settled(ok: boolean, outcome: unknown): void {
    const proxy = this.#proxy!;
    if (ok) {
      proxy.result = outcome;
      proxy.exception = null;
    } else {
      proxy.result = outcome instanceof Error ? outcome : new Error(String(outcome));
      proxy.exception = outcome;
    }
  }

  /** The app ended early or has a `close()`: its `finally` blocks run (`return()`), then `close()` (PEP 3333). */
  async #closeApp(
    result: AppResult | undefined,
    iterator: Iterator<AppYield> | AsyncIterator<AppYield> | undefined,
  ): Promise<void> {
    if (iterator !== undefined) {
      try {
        await iterator.return?.();
      } catch (error) {
        this.#source.report(error, `${this.context}: its finally block`);
      }
    }
    const close = closeOf(result);
    if (close !== null) await this.#callClose(result, close);
  }

  /** Calls the result's `close()` (PEP 3333), reporting what it throws. */
  async #callClose(result: unknown, close: unknown): Promise<void> {
    try {
      await (close as () => unknown).call(result);
    } catch (error) {
      this.#source.report(error, `${this.context}: its close()`);
    }
  }
}

let turn: Promise<void> | null = null;

/** Resolves after the event loop's next turn of I/O (one promise for every driver that asks in this turn). */
function nextTurn(): Promise<void> {
  return turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = null;
      resolve();
    })
  );
}

/** The error for an operation recorded on the proxy whose empty chunk never reached the driver. */
function droppedOperation(op: Runnable): Error {
  return new Error(
    `the app recorded ${
      String(op)
    } on environ.cogen, but the empty chunk ("") that carries it never reached the ` +
      `server, so it was never run: a middleware between them dropped it (middleware must pass "" through)`,
  );
}
