/**
 * One client connection: a coroutine in the server's scheduler that reads
 * requests, runs the app for each, one step at a time, and writes the
 * responses. Awaiting I/O happens inside the coroutine's own steps; only the
 * operations an app asks for go through the scheduler, so between two steps
 * of one app every other connection may run.
 *
 * @module
 */
import {
  Await,
  isPromiseLike,
  Operation,
  runningTask,
  type Socket,
  type SocketWatcher,
  type Task,
} from "../core/mod.ts";
import { describe } from "../core/describe.ts";
import type { BodyHost } from "./body.ts";
import type { AppResult, AppYield, Chunk, StartResponse, Write } from "./app.ts";
import { RequestBody } from "./body.ts";
import { buildEnviron, type ConnectionFacts, type Environ, type ServerFacts } from "./environ.ts";
import { FileWrapper } from "./file_wrapper.ts";
import { HttpError, STATUS_TEXT } from "./http_error.ts";
import type { RequestParser } from "./http_parser.ts";
import type { RequestHead } from "./request_head.ts";
import { Input } from "./input.ts";
import type { ResolvedLimits } from "./options.ts";
import { Output, type OutputWatchdog, utf8Length } from "./output.ts";
import type { Stallable, StallWatch } from "./stall_watch.ts";
import { CogenProxy, createExtensions, type Extensions, isRunnable, type Runnable } from "./proxy.ts";
import {
  checkStartResponse,
  dateHeader,
  type Framing,
  type HeadCache,
  type HeaderFacts,
  type KnownHead,
  type ServerLines,
  writeHead,
} from "./response_head.ts";

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** The app to run for each request. */
  readonly app: (environ: Environ, startResponse: StartResponse) => AppResult | Promise<AppResult>;
  /** The limits and timeouts. */
  readonly limits: ResolvedLimits;
  /** The request parser (shared: it keeps no state between calls). */
  readonly parser: RequestParser;
  /** What every environ repeats. */
  readonly facts: ServerFacts;
  /** `Server: ...\r\n`. */
  readonly serverLine: string;
  /** Bounds how long a connection's reads and writes may make no progress (the timeouts). */
  readonly stallWatch: StallWatch;
  /** The heads the apps answered with lately, checked and encoded. */
  readonly heads: HeadCache;
  /** The Date and Server lines as bytes. */
  readonly lines: ServerLines;
  /** Whether 500 bodies carry the stack. */
  readonly debug: boolean;
  /** Whether the server is shutting down: finish in-flight requests, then close. */
  readonly closing: boolean;
  /** Reports an error (an app's, or the server's own). */
  report(error: unknown, context: string): void;
  /** Asks for `connection`'s output to be flushed before the event loop goes idle. */
  cork(connection: Connection): void;
  /** The connection has ended: the host forgets it (and calls its `unwatch()`). */
  closed(connection: Connection): void;
}

/** Where a connection is in its life. */
export type ConnectionState = "idle" | "head" | "busy" | "closed";

/** The header facts before the app calls startResponse. */
const NO_FACTS: HeaderFacts = Object.freeze({ contentLength: -1, date: false, server: false, close: false });

/** Above this many unwritten bytes, the app waits for the client to read. */
const HIGH_WATER = 256 * 1024;
/** Output up to this size is sent without waiting before the next request is read. */
const SEND_AHEAD = 64 * 1024;
const NEXT = 0;
const THROW = 1;
/** What `#takeHead` found. */
const READY = 0;
const MORE = 1;
const CLOSE = 2;
const REFUSED = 3;
/** `#begin`'s answer when the app threw (the error is answered already). */
const FAILED = Symbol("failed");

/**
 * A client connection and its coroutine (`run`).
 *
 * @example
 * ```ts ignore
 * const connection = new Connection(host, conn, sched);
 * ```
 */
export class Connection implements BodyHost, SocketWatcher, OutputWatchdog, Stallable, ConnectionFacts {
  /** The socket. */
  readonly socket: Socket;
  /** The outgoing bytes. */
  readonly out: Output;
  /** The client's address (`REMOTE_ADDR`). */
  readonly remoteAddr: string;
  /** The client's port (`REMOTE_PORT`), `""` on a Unix socket. */
  readonly remotePort: string;
  /** The coroutine's task (set by the server once added). */
  task: Task<unknown> | null = null;
  /** Where the connection is in its life. */
  state: ConnectionState = "idle";
  readonly #host: ConnectionHost;
  /**
   * The connection's reads as the server's stall watch sees them (see
   * `stallTimeout`): the next head, an idle keep-alive, a body read. Its
   * writes are a `WriteStall`, made at the first write.
   */
  #readTimeout = 0;
  #readMark = 0;
  #writeStall: WriteStall | null = null;
  /** Writes begun and progress made (see `writeMark`). */
  #writes = 0;
  /** How many body reads are waiting on the socket-operation timeout. */
  #stalls = 0;
  #watching = false;
  #waitingOp = false;
  /** Whether bytes of the next head have come (its headersTimeout runs). */
  #headStarted = false;

  // The request being served.
  #head: RequestHead | null = null;
  #body: RequestBody | null = null;
  #input: Input | null = null;
  #proxy: CogenProxy | null = null;

  // Its response.
  #status: string | null = null;
  #code = 0;
  #known: KnownHead | null = null;
  #facts: HeaderFacts = NO_FACTS;
  #committed = false;
  #held: Chunk | null = null;
  #heldLength = 0;
  /** Body bytes the app produced (counted for HEAD too, to mirror GET's framing). */
  #sent = 0;
  #chunked = false;
  #noBody = false;
  #close = false;
  #continueSent = false;
  readonly #startResponse: StartResponse;
  /** The `write` callable startResponse returns, made at the first call (a held long poll has none). */
  #write: Write | null = null;

  /** Serves an accepted socket. */
  constructor(host: ConnectionHost, socket: Socket) {
    this.#host = host;
    this.socket = socket;
    const conn = socket.conn;
    this.out = new Output(conn);
    const addr = conn.remoteAddr;
    // Responses leave whole, in as few writes as the server can make them: Nagle's wait for an ACK
    // would only delay the last piece of a pipelined batch (by the peer's delayed ACK, ~40 ms).
    if (addr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
    const ip = addr.transport === "tcp" || addr.transport === "udp";
    this.remoteAddr = ip ? addr.hostname : (addr as Deno.UnixAddr).path ?? "";
    this.remotePort = ip ? String(addr.port) : "";
    this.out.watchdog = this;
    this.#startResponse = (status, headers, excInfo) => this.#onStartResponse(status, headers, excInfo);
  }

  /** The coroutine: requests one after another until the connection closes. */
  async *run(): AsyncGenerator<Operation<unknown>, void, unknown> {
    try {
      // Watched from its first step (a task cancelled before it never runs `#end`, which forgets it).
      this.#host.stallWatch.add(this);
      for (let first = true;; first = false) {
        // The common cases stay synchronous: a head already read (pipelining), an app that
        // answers with an array, a response that can wait for the next one to be written.
        let got = this.#takeHead(first);
        while (got === MORE) {
          // Answers to pipelined requests go out before waiting for the rest of a head.
          this.out.send();
          let more: boolean;
          try {
            more = await this.socket.fill();
          } catch {
            more = false;
          }
          got = more ? this.#takeHead(first) : CLOSE;
        }
        if (got === REFUSED) await this.#flush();
        if (got !== READY) break;
        const head = this.#head!;
        const called = this.#begin(head);
        if (Array.isArray(called)) this.#answerArray(called, head);
        else if (called !== FAILED) {
          // Anything else (a promise, a file, an iterable): its iterator is stepped here and the
          // operations it asks for are yielded from here. Inline rather than a delegated generator:
          // a held request then carries one generator less (340 B of heap), and waking it takes one
          // resumption less. The rarer work is in methods, so that this frame stays small too.
          let result: AppResult | undefined;
          let iterator: Iterator<AppYield> | AsyncIterator<AppYield> | undefined;
          let finished = false;
          try {
            result = isPromiseLike(called) ? await (called as PromiseLike<AppResult>) : called as AppResult;
            if (result instanceof FileWrapper) await this.#sendFile(result);
            else if (Array.isArray(result)) this.#sendArray(result);
            else {
              const isAsync = result !== null &&
                typeof (result as AsyncIterable<AppYield>)[Symbol.asyncIterator] === "function";
              iterator = iteratorOf(result, isAsync);
              let mode = NEXT;
              let sent: unknown = undefined;
              for (;;) {
                let step: IteratorResult<AppYield, unknown> | null;
                // An iterator without throw(): an operation's error ends the app.
                if (mode === THROW && typeof iterator.throw !== "function") throw sent;
                if (isAsync) {
                  // The step may take a while (the app awaits something): let what is written so far go out.
                  if (this.out.pending > 0 || this.#held !== null) this.#host.cork(this);
                  step = mode === NEXT
                    ? await (iterator as AsyncIterator<AppYield>).next(sent)
                    : await (iterator as AsyncIterator<AppYield>).throw!(sent);
                } else {
                  step = mode === NEXT
                    ? (iterator as Iterator<AppYield>).next(sent)
                    : (iterator as Iterator<AppYield>).throw!(sent);
                }
                mode = NEXT;
                sent = undefined;
                if (step.done) break;
                const op = this.#operationOf(step.value);
                // The seed's path ("" after recording on the proxy) leaves the outcome on the proxy only;
                // an operation yielded directly also gets it sent back in (or thrown in).
                const direct = op === step.value;
                step = null; // a held request's frame keeps no step result
                if (op !== null) {
                  this.#beforeOperation();
                  try {
                    const value = yield op instanceof Operation ? op : new Await(op);
                    this.#afterOperation(true, value);
                    if (direct) sent = value;
                  } catch (error) {
                    this.#afterOperation(false, error);
                    if (direct) {
                      mode = THROW;
                      sent = error;
                    }
                  }
                }
                // The app's own array is not copied: it is written before the app may change it.
                if (this.out.pending > HIGH_WATER || this.out.holdsBorrowed) await this.#flush();
              }
            }
            finished = true;
            this.#end200();
          } catch (error) {
            this.#appFailed(error, head);
          } finally {
            if ((iterator !== undefined && !finished) || closeOf(result) !== null) {
              await this.#closeApp(result, finished ? undefined : iterator, head);
            }
            this.#waitingOp = false;
          }
        }
        let keep = this.#afterExchange(head, this.#body);
        if (keep !== true && keep !== false) keep = await keep;
        if (!keep) break;
      }
    } catch (error) {
      this.#host.report(error, "connection");
    } finally {
      await this.#end();
    }
  }

  /** Who the client is (the connection itself: a held client carries no object more). */
  get facts(): ConnectionFacts {
    return this;
  }

  /** @ignore For the server, when it forgets the connection: its waits are no longer watched. */
  unwatch(): void {
    this.#host.stallWatch.remove(this);
    if (this.#writeStall !== null) this.#host.stallWatch.remove(this.#writeStall);
  }

  /** Closes an idle connection (graceful shutdown); returns whether it was idle. */
  closeIfIdle(): boolean {
    if (this.state !== "idle" || this.socket.end > this.socket.start) return false;
    // The last response may still be on its way out: close once it is written.
    if (this.out.flushing) this.out.flush().finally(() => this.socket.close()).catch(() => {});
    else this.socket.close();
    return true;
  }

  /** Ends the connection now: the app is stopped (its `finally` runs) and `cogen.signal` aborts. */
  abandon(reason: string): Promise<void> {
    this.#proxy?.abort(new DOMException(reason, "AbortError"));
    this.socket.close();
    return this.task?.cancel() ?? Promise.resolve();
  }

  /** Writes the output gathered so far (the server's end-of-turn flush). */
  uncork(): void {
    if (this.#held !== null && !this.#committed) this.#commit(false);
    this.out.send();
  }

  // ---- reading requests ----

  /**
   * Parses the next head from the bytes read so far: READY (in `#head`), MORE
   * (read more first), CLOSE, or REFUSED (an error answer is written).
   */
  #takeHead(first: boolean): number {
    const socket = this.socket;
    if (socket.end > socket.start) {
      const { parser, limits } = this.#host;
      try {
        const end = parser.findHead(socket.buffer, socket.start, socket.end);
        if (end >= 0) {
          this.#head = parser.parseHead(socket.buffer, end);
          socket.consume(end - socket.start);
          this.#readTimeout = 0;
          this.#headStarted = false;
          return READY;
        }
      } catch (error) {
        this.#readTimeout = 0;
        this.#refuse(error);
        return REFUSED;
      }
      if (!this.#headStarted) {
        // The first bytes of a request: from now on its head must be complete within headersTimeout.
        this.#headStarted = true;
        this.state = "head";
        this.#readWait(limits.headersTimeout);
      }
    } else if (!this.#headStarted) {
      if (this.#host.closing) return CLOSE;
      this.state = "idle";
      const { limits } = this.#host;
      this.#readWait(first ? limits.headersTimeout : limits.keepAliveTimeout);
    }
    return MORE;
  }

  /** Writes the answer to a request the parser refused; the connection closes after it. */
  #refuse(error: unknown): void {
    const status = error instanceof HttpError ? error.status : 400;
    const message = error instanceof Error ? error.message : String(error);
    // Answer in the request's version when its request line got that far (HTTP/1.0 or 1.1), else 1.1.
    this.#errorResponse(status, message, this.#host.parser.minor === 0 ? 0 : 1);
  }

  /** A read wait of `timeout` ms begins (or starts over): the stall watch counts from now. */
  #readWait(timeout: number): void {
    this.#readTimeout = timeout;
    this.#readMark++;
  }

  /** @ignore For the stall watch: ms the read under way may make no progress (0: none). */
  get stallTimeout(): number {
    return this.#readTimeout;
  }

  /** @ignore For the stall watch: changes whenever a read wait begins or starts over. */
  get stallMark(): number {
    return this.#readMark;
  }

  /** @ignore For the stall watch: the read waited too long. */
  stalled(): void {
    this.#readTimeout = 0;
    this.timedOut();
  }

  /** @ignore A read waited too long: a late head gets 408; any other stall closes the connection. */
  timedOut(): void {
    if (this.state === "head") {
      // A head that did not come in time: 408, then close.
      this.#errorResponse(408, "the request head did not arrive in time", 1);
      this.out.flush().finally(() => this.socket.close()).catch(() => {});
      return;
    }
    this.socket.close();
  }

  // ---- one exchange ----

  /** Sets the request up and calls the app: what it returned, or FAILED (the error is answered). */
  #begin(head: RequestHead): unknown {
    const host = this.#host;
    this.state = "busy";
    const body = head.chunked || head.contentLength > 0 ? new RequestBody(this, head, host.limits) : null;
    const input = new Input(body);
    const proxy = new CogenProxy(EXTENSIONS, head.contentLength);
    this.#body = body;
    this.#input = input;
    this.#proxy = proxy;
    this.#startResponseState(head);
    const environ = buildEnviron(head, host.facts, this, input, proxy, this);
    try {
      return host.app(environ, this.#startResponse);
    } catch (error) {
      this.#appFailed(error, head);
      return FAILED;
    }
  }

  /** The app answered with an array: sent as is, synchronously. */
  #answerArray(items: AppYield[], head: RequestHead): void {
    try {
      this.#sendArray(items);
      this.#end200();
    } catch (error) {
      this.#appFailed(error, head);
    }
    const close = (items as { close?: unknown }).close;
    if (typeof close === "function") this.#callClose(items, close, head);
  }

  /** Calls the result's `close()` (PEP 3333), reporting what it throws. */
  async #callClose(result: unknown, close: unknown, head: RequestHead): Promise<void> {
    try {
      await (close as () => unknown).call(result);
    } catch (error) {
      this.#host.report(error, `the app's close() for ${head.method} ${head.target}`);
    }
  }

  /**
   * What the app yielded: a chunk is framed and `null` returned; an
   * operation (yielded, or recorded on the proxy before a `""`) is returned
   * for the server to run.
   */
  #operationOf(item: AppYield): Runnable | null {
    const proxy = this.#proxy!;
    if (typeof item === "string" || item instanceof Uint8Array) {
      if (item.length > 0) {
        if (proxy.operation !== null) throw droppedOperation(proxy.operation);
        this.#chunk(item);
        return null;
      }
      // The seed's path: an empty chunk carries the operation recorded on the proxy.
      const op = proxy.operation;
      if (this.#status !== null && !this.#committed) this.#commit(false);
      if (op === null) return null;
      proxy.operation = null;
      return op;
    }
    if (isRunnable(item)) {
      if (this.#status !== null && !this.#committed) this.#commit(false);
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

  /** Before the app waits on an operation: what was written goes out, and the client is watched. */
  #beforeOperation(): void {
    if (this.out.pending > 0) this.out.send();
    this.#waitingOp = true;
    this.#watch();
  }

  /** The operation the app waited on ended: its outcome goes on the proxy (the seed's path reads it there). */
  #afterOperation(ok: boolean, outcome: unknown): void {
    this.#waitingOp = false;
    const proxy = this.#proxy!;
    if (ok) {
      proxy.result = outcome;
      proxy.exception = null;
    } else {
      proxy.result = outcome instanceof Error ? outcome : new Error(String(outcome));
      proxy.exception = outcome;
    }
  }

  /** While the app waits on an operation, a pending read notices the client leaving. */
  #watch(): void {
    if (this.#watching || this.socket.eof) {
      if (this.socket.eof) this.#clientGone();
      return;
    }
    this.#watching = true;
    this.socket.watchWith(this);
  }

  /** @ignore For the socket: the read watching the client has ended (`false`: the client is gone). */
  watched(more: boolean): void {
    this.#watching = false;
    if (!more) this.#clientGone();
    else if (this.#waitingOp && this.socket.end - this.socket.start < this.#host.limits.maxHeaderBytes) {
      this.#watch();
    }
  }

  /** The client went away while its app waited: stop the app, free everything. */
  #clientGone(): void {
    if (this.state !== "busy" || !this.#waitingOp) return;
    this.abandon("the client went away").catch((error) => this.#host.report(error, "cancel"));
  }

  /** The app ended early or has a `close()`: its `finally` blocks run (`return()`), then `close()` (PEP 3333). */
  async #closeApp(
    result: AppResult | undefined,
    iterator: Iterator<AppYield> | AsyncIterator<AppYield> | undefined,
    head: RequestHead,
  ): Promise<void> {
    if (iterator !== undefined) {
      try {
        await iterator.return?.();
      } catch (error) {
        this.#host.report(error, `the app's finally block for ${head.method} ${head.target}`);
      }
    }
    const close = closeOf(result);
    if (close !== null) await this.#callClose(result, close, head);
  }

  /**
   * After the response: whether the connection carries another request. A
   * promise only when something must be awaited first (a flush, a drain).
   */
  #afterExchange(head: RequestHead, body: RequestBody | null): boolean | Promise<boolean> {
    this.#proxy = null;
    this.#input = null;
    const keep = !this.#close && head.keepAlive && !this.#host.closing;
    const unread = body !== null && !body.done;
    // A body still unread is not a next request: the response goes out first, whatever becomes of it.
    if (unread || !keep) return this.#flushThenKeep(keep, unread, head, body);
    // An array of the app's own still queued (not copied) must be written before any app runs again:
    // the next request's app may refill it.
    if (this.out.holdsBorrowed) return this.#flushThenKeep(keep, unread, head, body);
    if (this.socket.end > this.socket.start) {
      // Pipelined requests already here: answered before writing (one write for them all).
      if (this.out.pending > HIGH_WATER) return this.#flushThenKeep(keep, unread, head, body);
    } else {
      // A small response is not waited for: it goes out while the next request is read, under the
      // write deadline (a write that fails closes the socket).
      if (this.out.pending > SEND_AHEAD) return this.#flushThenKeep(keep, unread, head, body);
      this.out.send();
    }
    this.#body = null;
    return keep;
  }

  async #flushThenKeep(
    keep: boolean,
    unread: boolean,
    head: RequestHead,
    body: RequestBody | null,
  ): Promise<boolean> {
    if (this.out.pending > 0 || this.out.flushing) {
      try {
        await this.out.flush();
      } catch {
        return false;
      }
    }
    if (keep && unread) {
      if (head.expectContinue && !this.#continueSent) keep = false; // the client may still be waiting to send
      else keep = await body!.drain(this.#host.limits.maxDrainBytes);
    }
    this.#body = null;
    return keep;
  }

  // ---- startResponse and the body ----

  #startResponseState(head: RequestHead): void {
    this.#status = null;
    this.#code = 0;
    this.#known = null;
    this.#facts = NO_FACTS;
    this.#committed = false;
    this.#held = null;
    this.#heldLength = 0;
    this.#sent = 0;
    this.#chunked = false;
    this.#noBody = head.method === "HEAD";
    this.#close = false;
    this.#continueSent = false;
  }

  #onStartResponse(status: string, headers: [string, string][], excInfo?: unknown): Write {
    // The head counts as sent once a body byte was produced, even while the server holds it.
    const code = checkStartResponse(
      status,
      excInfo,
      this.#status !== null,
      this.#committed || this.#held !== null,
    );
    const known = this.#host.heads.get(status, headers);
    this.#known = known;
    this.#facts = known.facts;
    this.#status = status;
    this.#code = code;
    // No content for HEAD, 204, 304 and 205 (RFC 9110, 15.3.6: "MUST NOT generate content").
    this.#noBody = this.#head!.method === "HEAD" || code === 204 || code === 205 || code === 304;
    return this.#write ??= (chunk) => this.#onWrite(chunk);
  }

  #onWrite(chunk: Chunk): void {
    if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
      throw new TypeError(`write(): expected a string or a Uint8Array, got ${describe(chunk)}`);
    }
    if (chunk.length > 0) this.#chunk(chunk);
  }

  /** A non-empty body chunk from the app. */
  #chunk(chunk: Chunk): void {
    if (this.#status === null) {
      throw new Error("the app produced body data before calling startResponse");
    }
    let length = typeof chunk === "string" ? utf8Length(chunk) : chunk.length;
    const declared = this.#facts.contentLength;
    if (declared >= 0 && this.#sent + length > declared) {
      // More than the Content-Length it gave: send what fits, then the connection closes.
      const room = declared - this.#sent;
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      chunk = bytes.subarray(0, room);
      length = room;
      this.#close = true;
      if (length > 0) this.#emit(chunk, length);
      throw new ContentLengthError(`the app sent more than its Content-Length of ${declared} bytes`);
    }
    this.#emit(chunk, length);
  }

  /** Writes (or holds) a chunk with the framing of the response. */
  #emit(chunk: Chunk, length: number): void {
    if (!this.#committed) {
      if (this.#held === null && this.#facts.contentLength < 0) {
        // Hold the first chunk: if the app ends right after, the response gets a Content-Length.
        this.#held = chunk;
        this.#heldLength = length;
        this.#sent += length;
        return;
      }
      this.#commit(false);
    }
    this.#sent += length;
    this.#frame(chunk, length);
  }

  /** Appends a body chunk to the output, chunk-framed if need be. */
  #frame(chunk: Chunk, length: number): void {
    if (this.#noBody) return;
    const out = this.out;
    if (this.#chunked) out.latin1(`${length.toString(16)}\r\n`);
    if (typeof chunk === "string") out.utf8(chunk, length);
    else out.bytes(chunk);
    if (this.#chunked) out.latin1("\r\n");
  }

  /**
   * Writes the head. `complete`: the app has ended, so a body of unknown
   * length is exactly what was held.
   */
  #commit(complete: boolean): void {
    const head = this.#head!;
    const facts = this.#facts;
    const framing = FRAMING;
    framing.addContentLength = -1;
    framing.chunked = false;
    const bodiless = this.#code === 204 || this.#code === 304;
    if (facts.contentLength < 0 && !bodiless) {
      // A 205's length is 0 whatever the app produced, even mid-body (never chunked); HEAD mirrors GET's.
      if (this.#code === 205) framing.addContentLength = 0;
      else if (complete) framing.addContentLength = this.#sent;
      else if (head.minor === 1) framing.chunked = true;
      else this.#close = true; // HTTP/1.0 without a length: the end of the body is the end of the connection
    }
    const body = this.#body;
    if (body !== null && !body.done) {
      // A body that cannot be drained (too much left, broken framing, a client still waiting
      // for its 100 Continue) means the connection ends with this response: announce it.
      const left = body.remaining;
      if (
        body.failed !== null || (head.expectContinue && !this.#continueSent) ||
        left > this.#host.limits.maxDrainBytes
      ) this.#close = true;
    }
    this.#close ||= facts.close || !head.keepAlive || this.#host.closing;
    framing.close = this.#close;
    framing.keepAlive10 = head.minor === 0 && !this.#close;
    writeHead(this.out, head.minor, this.#known!, framing, this.#host.lines);
    this.#committed = true;
    this.#chunked = framing.chunked;
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      this.#frame(held, this.#heldLength);
    }
  }

  /** The app ended normally: finish the message. */
  #end200(): void {
    const recorded = this.#proxy?.operation ?? null;
    if (recorded !== null) throw droppedOperation(recorded);
    if (this.#status === null) throw new Error("the app returned without calling startResponse");
    if (!this.#committed) this.#commit(true);
    else if (this.#chunked && !this.#noBody) this.out.latin1("0\r\n\r\n");
    const declared = this.#facts.contentLength;
    if (declared >= 0 && this.#sent < declared && !this.#noBody) {
      this.#close = true;
      this.#host.report(
        new ContentLengthError(`the app sent ${this.#sent} of the ${declared} bytes of its Content-Length`),
        this.#describeRequest(),
      );
    }
  }

  /** An array is sent as is, with a Content-Length when the app gave none. */
  #sendArray(items: AppYield[]): void {
    for (const item of items) {
      if (typeof item !== "string" && !(item instanceof Uint8Array)) {
        throw new TypeError(
          `the app returned an array holding ${describe(item)}; an array may hold only chunks`,
        );
      }
      if (item.length > 0) this.#chunk(item);
    }
  }

  /** Streams a `wsgi.file_wrapper` straight from the file. */
  async #sendFile(wrapper: FileWrapper): Promise<void> {
    try {
      if (this.#status === null) {
        throw new Error("the app returned a file_wrapper without calling startResponse");
      }
      if (!this.#committed) this.#commit(false);
      const declared = this.#facts.contentLength;
      let left = declared >= 0 ? Math.min(declared, wrapper.length) : wrapper.length;
      if (this.#noBody) left = 0;
      const block = new Uint8Array(Math.min(wrapper.blockSize, 1 << 20));
      while (left > 0) {
        const n = await wrapper.file.read(block.subarray(0, Math.min(block.length, left)));
        if (n === null) break;
        left -= n;
        this.#sent += n;
        this.#frame(block.subarray(0, n), n);
        await this.#flush();
      }
    } finally {
      wrapper.close();
    }
  }

  /** The app failed: 500 if nothing was sent yet, else the connection closes mid-message. */
  #appFailed(error: unknown, head: RequestHead): void {
    this.#host.report(error, this.#describeRequest());
    if (this.#committed) {
      this.#close = true;
      return;
    }
    this.#held = null;
    const status = error instanceof HttpError ? error.status : 500;
    const detail = this.#host.debug && error instanceof Error ? `${error.stack ?? error.message}\n` : "";
    this.#errorResponse(status, detail, head.minor, head.method !== "HEAD");
  }

  /** A short plain-text response from the server itself, closing the connection. */
  #errorResponse(status: number, detail: string, minor: number, withBody = true): void {
    const text = `${status} ${STATUS_TEXT[status] ?? "Error"}\n${
      detail && !detail.endsWith("\n") ? detail + "\n" : detail
    }`;
    const bytes = new TextEncoder().encode(text);
    this.#close = true;
    this.#committed = true;
    this.out.latin1(
      `HTTP/1.${minor === 0 ? 0 : 1} ${status} ${
        STATUS_TEXT[status] ?? "Error"
      }\r\n${dateHeader()}${this.#host.serverLine}` +
        `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
    );
    if (withBody) this.out.bytes(bytes);
  }

  /** @ignore The proxy of the request being served, or `null`. */
  get proxy(): CogenProxy | null {
    return this.#proxy;
  }

  /** @ignore The input of the request being served, or `null`. */
  get input(): Input | null {
    return this.#input;
  }

  // ---- the body, for RequestBody ----

  /** @ignore For `RequestBody`: sends the interim 100 before the first body read waits. */
  sendContinue(): void {
    const head = this.#head;
    if (head === null || !head.expectContinue || this.#continueSent || this.#committed) return;
    this.#continueSent = true;
    this.out.latin1("HTTP/1.1 100 Continue\r\n\r\n");
    this.out.send();
  }

  /** @ignore For `RequestBody`: a body read waits (or stops waiting) on the socket. */
  awaitingBody(waiting: boolean): void {
    this.#stall(waiting);
  }

  /** Counts the body reads waiting on the socket-operation timeout. */
  #stall(waiting: boolean): void {
    if (waiting) {
      if (this.#stalls++ === 0) this.#readWait(this.#host.limits.sockoperTimeout);
    } else if (--this.#stalls === 0) this.#readTimeout = 0;
  }

  /** Writes the output (under the write deadline). */
  async #flush(): Promise<void> {
    if (this.out.pending === 0 && !this.out.flushing) return;
    await this.out.flush();
  }

  /** @ignore For the output: a write began, or all is written (the stall watch sees it in `writeMark`). */
  writing(active: boolean): void {
    if (!active) return;
    this.#writes++;
    if (this.#writeStall === null) {
      this.#writeStall = new WriteStall(this, this.#host.limits.sockoperTimeout);
      this.#host.stallWatch.add(this.#writeStall);
    }
  }

  /** @ignore For the output: a write moved bytes; its stall time starts over. */
  progressed(): void {
    this.#writes++;
  }

  /** @ignore For the stall watch: changes when a write begins or moves bytes. */
  get writeMark(): number {
    return this.#writes;
  }

  /** @ignore For the output: a write failed; the connection cannot go on. */
  writeFailed(): void {
    this.socket.close();
  }

  #describeRequest(): string {
    const head = this.#head;
    return head === null ? "a request" : `the app, for ${head.method} ${head.target}`;
  }

  /** The connection's end: flush what is left, close, tell the server. */
  async #end(): Promise<void> {
    this.state = "closed";
    this.#readTimeout = 0;
    try {
      if (!this.socket.closed) await this.#flush();
    } catch {
      // The client is gone; nothing more to send.
    }
    this.out.discard();
    this.socket.close();
    this.#host.closed(this);
  }
}

/** The connection whose coroutine is running: the app's own code runs in it. */
function servingConnection(): Connection {
  const owner = runningTask()?.owner;
  if (owner instanceof Connection) return owner;
  throw new Error(
    "cogen: environ.cogen helpers record an operation on the request being served; call them from the app's " +
      'own code while it runs (not from another task or a callback), then yield the "" they return',
  );
}

/**
 * The helpers of every request (`environ.cogen.core.events…`, `cogen.input`,
 * `cogen.call`, `cogen.yield`): made once, they find the request through the
 * running task, so a held connection carries none of their closures.
 */
const EXTENSIONS: Extensions = createExtensions(
  () => servingConnection().proxy ?? noRequest(),
  () => servingConnection().input ?? noRequest(),
);

/**
 * A connection's writes as the stall watch sees them: a write may move
 * nothing for `sockoperTimeout`, then the socket closes.
 */
class WriteStall implements Stallable {
  readonly #connection: Connection;
  readonly #timeout: number;

  constructor(connection: Connection, timeout: number) {
    this.#connection = connection;
    this.#timeout = timeout;
  }

  get stallTimeout(): number {
    return this.#connection.out.flushing ? this.#timeout : 0;
  }

  get stallMark(): number {
    return this.#connection.writeMark;
  }

  stalled(): void {
    this.#connection.socket.close();
  }
}

/** How the response being committed is framed: filled and used within one synchronous `#commit`. */
const FRAMING: Framing = { addContentLength: -1, chunked: false, close: false, keepAlive10: false };

/** The app broke its own Content-Length. */
class ContentLengthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContentLengthError";
  }
}

/** The error for an operation recorded on the proxy whose empty chunk never reached the server. */
function droppedOperation(op: Runnable): Error {
  return new Error(
    `the app recorded ${
      String(op)
    } on environ.cogen, but the empty chunk ("") that carries it never reached the ` +
      `server, so it was never run: a middleware between them dropped it (middleware must pass "" through)`,
  );
}

function noRequest(): never {
  throw new Error(
    "cogen: this connection is not serving a request now; use environ helpers during the request only",
  );
}

/** The iterator of what an app returned, or a TypeError saying what to return instead. */
function iteratorOf(result: AppResult, isAsync: boolean): Iterator<AppYield> | AsyncIterator<AppYield> {
  const iterator = isAsync
    ? (result as AsyncIterable<AppYield>)[Symbol.asyncIterator]()
    : (result as Iterable<AppYield>)?.[Symbol.iterator]?.();
  if (iterator === undefined) {
    throw new TypeError(
      `the app returned ${describe(result)}; return an iterable of chunks (or be a generator)`,
    );
  }
  return iterator;
}

/** The `close()` of what an app returned (PEP 3333), or null (a file_wrapper closes itself). */
function closeOf(result: unknown): unknown {
  if (result instanceof FileWrapper) return null;
  const close = (result as { close?: unknown } | null | undefined)?.close;
  return typeof close === "function" ? close : null;
}
