/**
 * One client connection: the loop of its requests. It reads each head (with
 * the parser), hands the request to its {@linkcode AppDriver} — a task of
 * the server's scheduler that runs the app — and after the response decides
 * whether the connection carries another request. Meanwhile it feeds the
 * app the request body, watches for the client leaving while the app waits,
 * and answers what comes too late (the timeouts).
 *
 * @module
 */
import type { Operation, Scheduler, Socket, Task } from "../core/mod.ts";
import type { SocketWatcher } from "../core/socket.ts";
import type { App } from "./app.ts";
import { AppDriver } from "./app_driver.ts";
import type { RequestSource } from "./app_host.ts";
import { type BodyHost, RequestBody } from "./body.ts";
import { ConnectionTimeouts, type TimedConnection } from "./connection_timeouts.ts";
import { type Environ, ServerEnviron, type ServerFacts } from "./environ.ts";
import { ClientGone, ServerShutdown } from "./errors.ts";
import type { FileWrapper } from "./file_wrapper.ts";
import { HttpError } from "./http_error.ts";
import type { RequestParser } from "./http_parser.ts";
import type { RequestHead } from "./request_head.ts";
import { Input } from "./input.ts";
import type { ResolvedLimits } from "./options.ts";
import { Output } from "./output.ts";
import { CogenProxy } from "./proxy.ts";
import type { HeadCache } from "./response_head.ts";
import { ResponseWriter, type WriterHost } from "./response_writer.ts";
import type { StallWatch } from "./stall_watch.ts";
import type { ResolvedWebSocketOptions, ServerWebSocket, WebSocketHost, WebSocketLink } from "./websocket.ts";
import { FrameLink, type WebSocketTransport } from "./websocket_frame_link.ts";

/** What a connection needs from its server. */
export interface ConnectionHost extends WriterHost {
  /** The app to run for each request. */
  readonly app: App;
  /** The request parser (shared: it keeps no state between calls). */
  readonly parser: RequestParser;
  /** What every environ repeats. */
  readonly facts: ServerFacts;
  /** Bounds how long a connection's reads and writes may make no progress (the timeouts). */
  readonly stallWatch: StallWatch;
  /** The heads the apps answered with lately, checked and encoded. */
  readonly heads: HeadCache;
  /** Whether error answers carry the stack. */
  readonly debug: boolean;
  /** The limits and timeouts. */
  readonly limits: ResolvedLimits;
  /** Reports an error (an app's, or the server's own). */
  report(error: unknown, context: string): void;
  /** Asks for `connection`'s {@linkcode Connection.uncork} before the event loop goes idle. */
  cork(connection: Connection): void;
  /** The connection has ended (or was abandoned): the host forgets it. */
  closed(connection: Connection): void;
  /** A response went out without waiting (see `WSGIServer.sent`). */
  sent(): void;
}

/** Where a connection is in its life. */
export type ConnectionState = "idle" | "head" | "busy" | "closed";

/** What looking for the next head found. */
type HeadState = "ready" | "more" | "close" | "refused";

/** Above this many unwritten bytes, the app waits for the client to read. */
const HIGH_WATER = 256 * 1024;
/** Ms an app may go on after its WebSocket closed before it is stopped. */
const CLOSED_GRACE = 1000;
/** Output up to this size is sent without waiting before the next request is read. */
const SEND_AHEAD = 64 * 1024;

/**
 * A client connection; its task runs `connection.run()`.
 *
 * @example
 * ```ts ignore
 * const connection = new Connection(server, socket);
 * connection.task = sched.add(connection.run());
 * connection.task.owner = connection.driver;
 * ```
 */
export class Connection
  implements RequestSource, BodyHost, SocketWatcher, TimedConnection, WebSocketHost, WebSocketTransport {
  /** The socket. */
  readonly socket: Socket;
  /** The outgoing bytes. */
  readonly out: Output;
  /** The client's address (`REMOTE_ADDR`). */
  readonly remoteAddr: string;
  /** The client's port (`REMOTE_PORT`), `""` on a Unix socket. */
  readonly remotePort: string;
  /** Runs the app of each request. */
  readonly driver: AppDriver;
  /** How a request switches this connection to WebSocket: the connection itself. */
  readonly websocket: WebSocketHost = this;
  /** Writes the responses. */
  readonly writer: ResponseWriter;
  /** The read and write timeouts. */
  readonly timeouts: ConnectionTimeouts;
  /** The task of `run()` (set by the server once added). */
  task: Task<unknown> | null = null;
  /** Where the connection is in its life. */
  state: ConnectionState = "idle";
  readonly #host: ConnectionHost;
  /** Requests begun on this connection. */
  #requests = 0;
  /** Whether bytes of the next head have come (its headersTimeout runs). */
  #headStarted = false;
  /** Whether a read watches for the client leaving. */
  #watching = false;
  /** Whether the last thing written was the answer to a refused request (the connection ends after it). */
  #refused = false;
  /** The WebSocket the app switched this connection to, or `null`. */
  #websocket: ServerWebSocket | null = null;
  /** Stops an app still running a moment after its WebSocket closed. */
  #closedWait: ReturnType<typeof setTimeout> | undefined = undefined;

  // The request being served.
  #head: RequestHead | null = null;
  #body: RequestBody | null = null;

  /** Serves an accepted socket. */
  constructor(host: ConnectionHost, socket: Socket) {
    this.#host = host;
    this.socket = socket;
    const conn = socket.conn;
    this.out = new Output(conn);
    const addr = conn.remoteAddr;
    // Responses leave whole, in as few writes as the server can make them: Nagle's wait for an ACK
    // would only delay the last piece of a pipelined batch (by the peer's delayed ACK, ~40 ms).
    // (A TLS connection has no such setting: rustls writes each of our writes as whole records anyway.)
    if (addr.transport === "tcp" && "setNoDelay" in conn) {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // The peer is already gone: the first read or write says so.
      }
    }
    const ip = addr.transport === "tcp" || addr.transport === "udp";
    this.remoteAddr = ip ? addr.hostname : (addr as Deno.UnixAddr).path ?? "";
    this.remotePort = ip ? String(addr.port) : "";
    this.writer = new ResponseWriter(this.out, host);
    this.timeouts = new ConnectionTimeouts(this, host.stallWatch, host.limits);
    this.out.watchdog = this.timeouts;
    this.driver = new AppDriver(this, this.writer, host);
  }

  /** The coroutine: requests one after another until the connection closes. */
  run(): AsyncGenerator<Operation<unknown> | undefined, void, unknown> {
    // Watched from the start (a task cancelled before its first step never runs `end`, which forgets it).
    this.timeouts.start();
    return this.driver.run();
  }

  /** Closes an idle keep-alive connection (graceful shutdown); returns whether it was one. */
  closeIfIdle(): boolean {
    // A connection that has not sent its first request yet is not idle: the request is likely on its way
    // (accepted an instant before the shutdown), and is answered, with Connection: close.
    if (this.state !== "idle" || this.#requests === 0 || this.socket.end > this.socket.start) return false;
    // The last response may still be on its way out: close once it is written.
    if (this.out.flushing) this.out.flush().finally(() => this.socket.close()).catch(() => {});
    else this.socket.close();
    return true;
  }

  /**
   * Ends the connection now: the app is abandoned (`cogen.signal` aborts,
   * its late output is dropped, it is `return()`ed — at once if it waits on
   * an operation, else when its await ends) and the socket closes at once.
   * Resolves once the app has stopped.
   */
  abandon(reason: string): Promise<void> {
    this.driver.abandon(reason);
    this.socket.close();
    return this.task?.cancel() ?? Promise.resolve();
  }

  /**
   * The server is shutting down: an app waiting on an operation gets
   * `ServerShutdown` thrown in (a held long poll can still answer; one that
   * does not is answered 503). Returns whether it was waiting.
   */
  interrupt(): boolean {
    if (this.state !== "busy" || this.task === null) return false;
    return this.driver.interrupt(this.task, new ServerShutdown());
  }

  /** Writes what is gathered (the server's end-of-turn flush); a busy connection then watches its client. */
  uncork(): void {
    this.driver.release();
    this.out.send();
    if (this.state === "busy") this.#watch();
  }

  // ---- the requests, for the driver ----

  /** @ignore For the driver: the next request (see `RequestSource`). */
  nextRequest(filled: unknown): "ready" | "end" | Promise<unknown> {
    if (filled === false || this.#refused) return "end";
    const got = this.#takeHead();
    if (got === "ready") {
      this.#begin(this.#head!);
      return "ready";
    }
    if (got === "more") {
      // Answers to pipelined requests go out before waiting for the rest of a head.
      this.out.send();
      return this.socket.fill();
    }
    if (got === "refused") {
      this.#refused = true;
      return this.out.flush();
    }
    return "end";
  }

  /** Parses the next head from the bytes read so far (in `#head` when "ready"). */
  #takeHead(): HeadState {
    const socket = this.socket;
    const { parser, limits } = this.#host;
    if (socket.end > socket.start) {
      try {
        const end = parser.findHead(socket.buffer, socket.start, socket.end);
        if (end >= 0) {
          this.#head = parser.parseHead(socket.buffer, end);
          socket.consume(end - socket.start);
          this.timeouts.readDone();
          this.#headStarted = false;
          return "ready";
        }
      } catch (error) {
        this.timeouts.readDone();
        this.#refuse(error);
        return "refused";
      }
      if (!this.#headStarted) {
        // The first bytes of a request: from now on its head must be complete within headersTimeout.
        this.#headStarted = true;
        this.state = "head";
        this.timeouts.readWait(limits.headersTimeout);
      }
    } else if (!this.#headStarted) {
      if (this.#host.closing && this.#requests > 0) return "close";
      this.state = "idle";
      this.timeouts.readWait(this.#requests === 0 ? limits.headersTimeout : limits.keepAliveTimeout);
    }
    return "more";
  }

  /** Writes the answer to a request the parser refused (one line in the log); the connection closes after it. */
  #refuse(error: unknown): void {
    const status = error instanceof HttpError ? error.status : 400;
    const message = error instanceof Error ? error.message : String(error);
    this.#host.report(
      error instanceof HttpError ? error : new HttpError(400, message),
      `a request from ${this.remoteAddr}${this.remotePort === "" ? "" : `:${this.remotePort}`}`,
    );
    // Answer in the request's version when its request line got that far (HTTP/1.0 or 1.1), else 1.1.
    this.writer.errorResponse(status, message, this.#host.parser.minor === 0 ? 0 : 1);
  }

  /** Sets the request up and hands it to the driver. */
  #begin(head: RequestHead): void {
    const host = this.#host;
    this.state = "busy";
    this.#requests++;
    const body = head.chunked || head.contentLength > 0 ? new RequestBody(this, head, host.limits) : null;
    const input = new Input(body);
    const proxy = new CogenProxy(head.contentLength, input);
    this.#body = body;
    this.writer.begin(head, body);
    const environ = new ServerEnviron(head, host.facts, this, input, proxy) as unknown as Environ;
    this.driver.begin(environ, proxy, input, head.method, head.target);
  }

  /** @ignore For the driver: the app is about to wait. */
  pausing(operation: boolean): void {
    if (this.#websocket !== null) {
      // A WebSocket's frames go out at the end of the turn: one write for all its app sent meanwhile (an echo
      // answering a batch of messages, say); it reads the socket itself.
      if (this.out.pending > 0) this.#host.cork(this);
      return;
    }
    if (operation) {
      // An operation may take long: what is written goes out now, and the client is watched meanwhile.
      if (this.out.pending > 0) this.out.send();
      this.#watch();
    } else {
      // An await of the app's own usually ends within this turn: output goes out at its end (one write for
      // all the steps); a connection still busy then watches its client.
      this.#host.cork(this);
    }
  }

  /** @ignore For the driver: the app waits while much is unwritten, or while its own array is queued. */
  backpressure(): Promise<unknown> | null {
    // The app's own array is not copied: it is written before the app may change it.
    return this.out.pending > HIGH_WATER || this.out.holdsBorrowed ? this.out.flush() : null;
  }

  /** @ignore For the driver: streams a file straight from disk, one block buffer for all. */
  async sendFile(wrapper: FileWrapper): Promise<void> {
    let left = this.driver.fileRoom(wrapper);
    const block = new Uint8Array(Math.min(wrapper.blockSize, 1 << 20, Math.max(left, 1)));
    while (left > 0 && !this.driver.abandoned) {
      const n = await wrapper.file.read(block.subarray(0, Math.min(block.length, left)));
      if (n === null) break;
      left -= n;
      this.driver.fileSent(n);
      this.writer.frame(block.subarray(0, n), n);
      try {
        await this.out.flush(); // the block is read into again next
      } catch (error) {
        throw new ClientGone(error);
      }
    }
  }

  /**
   * @ignore For the driver, after the response: whether the connection
   * carries another request; a promise only when something must be awaited
   * first (a flush, a drain).
   */
  afterExchange(): boolean | Promise<boolean> {
    const head = this.#head!;
    const body = this.#body;
    // A request that began a WebSocket handshake and got another answer does not keep the connection.
    const keep = !this.writer.close && head.keepAlive && !this.#host.closing && !this.socket.closed &&
      this.#websocket === null;
    const unread = body !== null && !body.done;
    // A body still unread is not a next request: the response goes out first, whatever becomes of it.
    if (unread || !keep) return this.#flushThenKeep(keep, unread, head, body);
    // An array of the app's own still queued (not copied) must be written before any app runs again.
    if (this.out.holdsBorrowed) return this.#flushThenKeep(keep, unread, head, body);
    if (this.socket.end > this.socket.start) {
      // Pipelined requests already here: answered before writing (one write for them all).
      if (this.out.pending > HIGH_WATER) return this.#flushThenKeep(keep, unread, head, body);
    } else {
      // A small response is not waited for: it goes out while the next request is read, under the
      // write timeout (a write that fails closes the socket).
      if (this.out.pending > SEND_AHEAD) return this.#flushThenKeep(keep, unread, head, body);
      this.out.send();
      this.#host.sent();
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
      if (head.expectContinue && !this.writer.continueSent) keep = false; // the client may still be waiting to send
      else keep = await body!.drain(this.#host.limits.maxDrainBytes);
    }
    this.#body = null;
    return keep;
  }

  /** @ignore For the driver. */
  report(error: unknown, context: string): void {
    this.#host.report(error, context);
  }

  /** @ignore For the driver: the connection's end — flush what is left, close, tell the server. */
  async end(): Promise<void> {
    this.state = "closed";
    this.timeouts.readDone();
    // A WebSocket the app did not close is closed now (after its 101 went out; else the error answer did it).
    clearTimeout(this.#closedWait);
    if (this.#websocket !== null && this.writer.upgraded && !this.socket.closed) {
      await this.#websocket.end(this.writer.cutShort);
    }
    try {
      if (!this.socket.closed && (this.out.pending > 0 || this.out.flushing)) await this.out.flush();
    } catch {
      // The client is gone; nothing more to send.
    }
    this.out.discard();
    this.socket.close();
    this.#host.closed(this);
  }

  // ---- switching to WebSocket ----

  /** @ignore For `acceptWebSocket`: the app may answer 101, and the connection is the WebSocket's after it. */
  upgrade(ws: ServerWebSocket, _protocol: string, options: ResolvedWebSocketOptions): WebSocketLink {
    if (this.#websocket !== null) throw new Error("acceptWebSocket: called twice for one request");
    this.driver.allowUpgrade();
    this.#websocket = ws;
    const link = new FrameLink(this, ws, options);
    // The socket is the WebSocket's once the 101 is out, not before: an app that answers otherwise (an error
    // page, say) leaves it to HTTP, and the connection closes after that answer.
    this.writer.onUpgrade = () => link.start();
    return link;
  }

  /** @ignore For the WebSocket: its scheduler. */
  get sched(): Scheduler {
    return this.#host.facts.sched as Scheduler;
  }

  /** @ignore For the WebSocket: whether the server is shutting down. */
  get shuttingDown(): boolean {
    return this.#host.closing;
  }

  /** @ignore For the WebSocket: the client vanished; its app stops as when an HTTP client leaves. */
  peerGone(reason: string): void {
    if (this.state === "busy") this.#abandonAndForget(reason);
  }

  /**
   * @ignore For the WebSocket: the closing handshake is over. An app that
   * goes on (one that only sends, say, and so never sees the close) is
   * stopped after a moment, as when the client leaves.
   */
  closedCleanly(): void {
    if (this.state !== "busy") return;
    this.#closedWait = setTimeout(() => this.peerGone("the WebSocket is closed"), CLOSED_GRACE);
  }

  // ---- the body, for RequestBody ----

  /** @ignore For `RequestBody`: sends the interim 100 before the first body read waits. */
  sendContinue(): void {
    this.writer.sendContinue(this.driver.committed);
  }

  /** @ignore For `RequestBody`: a body read waits (or stops waiting) on the socket. */
  awaitingBody(waiting: boolean): void {
    this.timeouts.bodyRead(waiting);
  }

  // ---- the client leaving, and the timeouts ----

  /**
   * While the app runs past a turn, a pending read notices the client
   * leaving; none is needed while the app's own body read waits on the
   * socket (it notices).
   */
  #watch(): void {
    // A WebSocket reads the socket itself, and notices the client leaving.
    if (this.#watching || this.socket.closed || this.timeouts.readingBody || this.#websocket !== null) return;
    if (this.socket.eof) {
      this.#clientGone();
      return;
    }
    this.#watching = true;
    const body = this.#body;
    if (body !== null && !body.done) {
      // Bytes of the body may come next: read at full size, into the buffer the app's body reads take from
      // (a watch read is small, to cost a held long poll little; 64 bytes at a time would slow an upload).
      this.socket.fill().then((more) => this.watched(more), () => this.watched(false));
    } else this.socket.watchWith(this);
  }

  /** @ignore For the socket: the read watching the client has ended (`false`: the client is gone). */
  watched(more: boolean): void {
    this.#watching = false;
    // An end of stream behind pipelined requests is a half-close: those requests are still answered.
    if (!more) {
      if (this.socket.eof) this.#clientGone();
    } else if (
      this.state === "busy" && this.socket.end - this.socket.start < this.#host.limits.maxHeaderBytes
    ) {
      this.#watch();
    }
  }

  /** The client went away while its app ran: stop the app, free everything. */
  #clientGone(): void {
    if (this.state !== "busy") return;
    this.#abandonAndForget("the client went away");
  }

  /**
   * Abandons the app and forgets the connection at once: an app stuck in an
   * await that never settles then holds nothing of the server's (its task
   * ends whenever the await does, if ever).
   */
  #abandonAndForget(reason: string): void {
    this.abandon(reason).catch((error) => this.#host.report(error, "cancel"));
    this.timeouts.readDone();
    this.#host.closed(this);
  }

  /** @ignore For the timeouts: a read waited too long. */
  readTimedOut(): void {
    if (
      this.state === "head" || (this.state === "busy" && this.timeouts.readingBody && !this.driver.committed)
    ) {
      // A head, or a body, that did not come in time: 408, then close (the app, if any, is abandoned).
      const what = this.state === "head" ? "the request head" : "the request body";
      if (this.state === "busy") this.driver.abandon(`${what} did not arrive in time`);
      const minor = this.state === "busy" && this.#head!.minor === 0 ? 0 : 1;
      this.writer.errorResponse(408, `${what} did not arrive in time`, minor);
      this.out.flush().finally(() => this.#closeAndForget()).catch(() => {});
      return;
    }
    this.#closeAndForget();
  }

  /** @ignore For the timeouts: a write made no progress for too long, or failed. */
  writeFailed(): void {
    this.socket.close();
  }

  /** @ignore For the timeouts: whether a write is under way. */
  get flushing(): boolean {
    return this.out.flushing;
  }

  /** Closes the socket; a busy connection's app is abandoned (it may be stuck in an await). */
  #closeAndForget(): void {
    if (this.state === "busy") this.#abandonAndForget("the connection timed out");
    else this.socket.close();
  }
}
