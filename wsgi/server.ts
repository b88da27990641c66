/**
 * The server: `serve(app, options)` for most uses, and the cogen-shaped
 * `WSGIServer(address, app, sched, options)` whose `serve` is a coroutine.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { type Bus, type Operation, Scheduler, Sleep, Socket, type SocketListener } from "../core/mod.ts";
import { Deadline } from "../core/deadline.ts";
import type { App } from "./app.ts";
import { Connection } from "./connection.ts";
import { PathInfoDispatcher, type Route } from "./dispatch.ts";
import type { ServerFacts } from "./environ.ts";
import { logError } from "./errors.ts";
import { fileWrapper } from "./file_wrapper.ts";
import { dateHeader, HeadCache, ServerLines } from "./response_head.ts";
import { StallWatch } from "./stall_watch.ts";
import { trimSpareBuffers } from "../core/buffer_pool.ts";
import { RequestParser } from "./http_parser.ts";
import { resolveLimits, type ServerLimits } from "./options.ts";
import { ALPN_PROTOCOLS, tlsKeyPair, tlsListenError } from "./tls.ts";

/** The server's name and version, for `Server` and `SERVER_SOFTWARE`. */
export const SERVER_SOFTWARE = "cogen-deno/0.1.0";

/** Where to listen: TCP (`hostname`, `port`) or a Unix socket (`path`). */
export type ListenAddress = { hostname?: string; port?: number } | { path: string };

/** Ms a closing listener waits for an accept under way to return (see `WSGIServer.#closeListener`). */
const LISTENER_GRACE = 200;

/** Responses sent without waiting before the scheduler lets the event loop run (see `WSGIServer.sent`). */
const WRITES_PER_SLICE = 100;

/** Ms the first pause after a failed accept lasts; each further failure doubles it, up to the max. */
const ACCEPT_PAUSE = 50;
const ACCEPT_PAUSE_MAX = 1000;

/** An error's name and message, or the value as text. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name === "Error" ? error.message : `${error.name}: ${error.message}`;
}

/** Options of the server. */
export interface ServerOptions extends ServerLimits {
  /** The `Server` header and `SERVER_SOFTWARE` (default `cogen-deno/0.1.0`). */
  software?: string;
  /** Show error stacks in 500 bodies. Default `false`: a short body, the stack in the log only. */
  debug?: boolean;
  /** Receives errors (an app's, or the connection's) with where they came from. Default: stderr. */
  onError?: (error: unknown, context: string) => void;
  /** Tell apps several processes serve the port (`wsgi.multiprocess`). Default `false`. */
  multiprocess?: boolean;
  /** Passed to `Deno.listen` for TCP: share the port between processes. Default `false`. */
  reusePort?: boolean;
  /**
   * Serve HTTPS: the certificate chain as PEM text (not a file path), with
   * `key`. TLS 1.2 and 1.3, ALPN `http/1.1`; apps see `wsgi.url_scheme`
   * `"https"`.
   */
  cert?: string;
  /** The certificate's private key, as PEM text (with `cert`). */
  key?: string;
}

/**
 * The cogen-shaped server: it listens when made (so `addr` is known at
 * once); `serve` is a coroutine to add to the scheduler, accepting
 * connections until `shutdown`.
 *
 * @example
 * ```ts
 * import { Scheduler } from "@cogen/cogen/core";
 * import { type App, WSGIServer } from "@cogen/cogen/wsgi";
 * const app: App = (_environ, startResponse) => {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   return ["Hello"];
 * };
 * const sched = new Scheduler();
 * const srv = new WSGIServer({ hostname: "127.0.0.1", port: 0 }, app, sched);
 * sched.add(srv.serve);
 * const running = sched.run();
 * const response = await fetch(`http://127.0.0.1:${(srv.addr as Deno.NetAddr).port}/`);
 * await response.text(); // "Hello"
 * await srv.shutdown(1000);
 * await running;
 * ```
 */
export class WSGIServer {
  /** The app (a list of routes becomes a `PathInfoDispatcher`). */
  readonly app: App;
  /** The scheduler every connection runs in. */
  readonly sched: Scheduler;
  /** The limits, resolved. */
  readonly limits: Readonly<Required<ServerLimits>>;
  /** @ignore */
  readonly parser: RequestParser;
  /** @ignore */
  readonly facts: ServerFacts;
  /** @ignore */
  readonly serverLine: string;
  /** @ignore The heads the apps answered with lately (see `HeadCache`). */
  readonly heads: HeadCache = new HeadCache();
  /** @ignore The Date and Server lines as bytes. */
  readonly lines: ServerLines;
  /** @ignore Bounds how long a connection's reads and writes may make no progress (the timeouts). */
  readonly stallWatch: StallWatch;
  /** Whether 500 bodies carry the stack. */
  readonly debug: boolean;
  /** The listener. */
  readonly listener: Deno.Listener;
  readonly #listener: SocketListener;
  /** Resolves once the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** The coroutine that accepts connections: `sched.add(srv.serve)`. */
  readonly serve: () => AsyncGenerator<Operation<unknown>, void, unknown>;
  #connections = new Set<Connection>();
  #corked = new Set<Connection>();
  #sentInSlice = 0;
  #uncorkScheduled = false;
  #closing = false;
  #accepting = false;
  #listenerTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly #reusePort: boolean;
  /** When `shutdown` stops the requests left, and its timer. */
  #stopAt = Infinity;
  #stopTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #finished = Promise.withResolvers<void>();
  readonly #dateTick: Deadline;
  #onError: (error: unknown, context: string) => void;

  /** Listens on `address` and prepares to serve `app` in `sched`. */
  constructor(
    address: ListenAddress,
    app: App | Iterable<Route>,
    sched: Scheduler,
    options: ServerOptions = {},
  ) {
    this.app = typeof app === "function" ? app : PathInfoDispatcher(app);
    this.sched = sched;
    this.limits = resolveLimits(options);
    this.parser = new RequestParser(this.limits);
    this.debug = options.debug ?? false;
    this.#onError = options.onError ?? logError;
    const software = options.software ?? SERVER_SOFTWARE;
    if (/[\r\n\0]/.test(software)) throw new TypeError("serve: software must not contain CR, LF or NUL");
    this.serverLine = `Server: ${software}\r\n`;
    this.lines = new ServerLines(software);
    const { headersTimeout, keepAliveTimeout, sockoperTimeout } = this.limits;
    this.stallWatch = new StallWatch(sched, Math.min(headersTimeout, keepAliveTimeout, sockoperTimeout));
    this.#dateTick = new Deadline(sched, () => {
      this.lines.stale();
      trimSpareBuffers();
      this.#dateTick.arm(1000);
    });
    const tls = tlsKeyPair(options, "path" in address, "WSGIServer");
    try {
      this.#listener = "path" in address ? Socket.listen({ path: address.path }) : Socket.listen({
        hostname: address.hostname ?? "127.0.0.1",
        port: address.port ?? 8000,
        reusePort: options.reusePort,
        ...(tls === null ? {} : { ...tls, alpnProtocols: ALPN_PROTOCOLS }),
      });
    } catch (error) {
      throw tls === null ? error : tlsListenError(error, "WSGIServer");
    }
    this.listener = this.#listener.listener;
    this.#reusePort = options.reusePort === true && !("path" in address);
    const addr = this.listener.addr;
    this.facts = {
      serverName: addr.transport === "tcp" ? addr.hostname : (addr as Deno.UnixAddr).path,
      serverPort: addr.transport === "tcp" ? String(addr.port) : "",
      software,
      multiprocess: options.multiprocess ?? false,
      urlScheme: tls === null ? "http" : "https",
      sched,
      fileWrapper,
    };
    this.finished = this.#finished.promise;
    this.serve = () => this.#acceptLoop();
  }

  /** The bound address (port 0 → the port chosen). */
  get addr(): Deno.Addr {
    return this.listener.addr;
  }

  /** How many connections are open. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Whether `shutdown` has begun. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Graceful shutdown: stop accepting, close idle keep-alive connections at
   * once, throw `ServerShutdown` into every app waiting on an
   * operation (a held long poll answers at once: its own answer, or 503),
   * let requests in flight finish (answered with `Connection: close`) for up
   * to `deadline` ms, then stop the rest (their apps are `return()`ed,
   * `cogen.signal` aborts). Resolves when every connection is closed.
   */
  async shutdown(deadline = 10_000): Promise<void> {
    const stopAt = Date.now() + deadline;
    if (!this.#closing) {
      this.#closing = true;
      this.#closeListener();
      for (const connection of this.#connections) {
        if (!connection.closeIfIdle()) connection.interrupt();
      }
      this.#checkFinished();
      this.finished.finally(() => clearTimeout(this.#stopTimer));
    }
    // A second call with an earlier deadline (a second Ctrl-C) brings the stop forward.
    if (stopAt < this.#stopAt) {
      this.#stopAt = stopAt;
      clearTimeout(this.#stopTimer);
      this.#stopTimer = setTimeout(() => this.#stopTheRest(), deadline);
    }
    await this.finished;
  }

  /**
   * The deadline has passed: stop every connection left (apps `return()`ed,
   * `cogen.signal` aborted). A task stuck in an `await` that never settles
   * cannot be interrupted, so after a second of grace its connection is
   * forgotten and `finished` resolves anyway.
   */
  async #stopTheRest(): Promise<void> {
    const left = [...this.#connections];
    const stopped = left.map((connection) =>
      connection.abandon("the server is shutting down").catch((error) => this.report(error, "shutdown"))
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(stopped),
      new Promise((resolve) => timer = setTimeout(resolve, 1000)),
    ]);
    clearTimeout(timer);
    for (const connection of left) this.closed(connection);
  }

  /** @ignore */
  report(error: unknown, context: string): void {
    try {
      this.#onError(error, context);
    } catch (hookError) {
      logError(hookError, `onError, while it reported ${String(error)}`);
    }
  }

  /** @ignore Flush this connection's output at the end of the event-loop turn. */
  cork(connection: Connection): void {
    this.#corked.add(connection);
    if (this.#uncorkScheduled) return;
    this.#uncorkScheduled = true;
    setImmediate(() => {
      this.#uncorkScheduled = false;
      const corked = [...this.#corked];
      this.#corked.clear();
      for (const c of corked) if (c.state !== "closed") c.uncork();
    });
  }

  /**
   * @ignore A response was handed to the socket without waiting for it:
   * after `WRITES_PER_SLICE` of them the scheduler lets the event loop run,
   * so that they go out before more apps run (waking ten thousand long polls
   * at once otherwise queues thousands of writes behind the reads and closes
   * of the clients already answered).
   */
  sent(): void {
    if (++this.#sentInSlice < WRITES_PER_SLICE) return;
    this.#sentInSlice = 0;
    this.sched.yieldToEventLoop();
  }

  /** @ignore */
  closed(connection: Connection): void {
    connection.timeouts.stop();
    this.#connections.delete(connection);
    this.#corked.delete(connection);
    this.#checkFinished();
  }

  async *#acceptLoop(): AsyncGenerator<Operation<unknown>, void, unknown> {
    if (this.#accepting) {
      throw new Error("WSGIServer.serve: already serving; add srv.serve to the scheduler once");
    }
    this.#accepting = true;
    // The Date line is read from the clock once a second, not once a response.
    this.#dateTick.arm(1000);
    // Failed accepts in a row (out of file descriptors, say), and the pause before the next try.
    let failures = 0;
    let pause = ACCEPT_PAUSE;
    try {
      while (!this.#closing) {
        let socket: Socket;
        try {
          socket = yield* this.#listener.accept({ timeout: -1 });
        } catch (error) {
          if (this.#closing || error instanceof Deno.errors.BadResource) break;
          // Out of file descriptors or a transient failure: one line, then pauses that grow while it lasts, so
          // that the connections being served can finish and give their descriptors back.
          if (failures++ === 0) {
            this.report(
              new Error(`${errorText(error)}; pausing accepts (raise the limit on open files: ulimit -n)`),
              "accept",
            );
          }
          yield* new Sleep(pause);
          pause = Math.min(pause * 2, ACCEPT_PAUSE_MAX);
          continue;
        }
        if (failures > 0) {
          this.report(new Error(`accepting again after ${failures} failed accepts`), "accept");
          failures = 0;
          pause = ACCEPT_PAUSE;
        }
        if (this.#connections.size >= this.limits.maxConnections) {
          this.#refuseBusy(socket.conn);
          continue;
        }
        let connection: Connection;
        try {
          connection = new Connection(this, socket);
        } catch (error) {
          // One connection that cannot be set up (its peer gone in the meantime, say) is not the server's end.
          this.report(error, "accept");
          socket.close();
          continue;
        }
        this.#connections.add(connection);
        const task = this.sched.add(connection.run());
        task.owner = connection.driver;
        connection.task = task;
      }
    } finally {
      clearTimeout(this.#listenerTimer);
      this.#listener.close();
      this.#dateTick.clear();
      this.#accepting = false;
      this.#closing = true;
      this.#checkFinished();
    }
  }

  /**
   * Stops listening without losing a connection: closing a listener while
   * an accept is pending can drop the connection the runtime had just taken
   * from the kernel. So it closes right after an accept returns (the loop
   * serves that connection, asks for no other, and closes), or after
   * `LISTENER_GRACE` ms with none — when the port is shared (`reusePort`):
   * the connections queued in the kernel then go to the other listeners of
   * the port when `tcp_migrate_req` is on (see the CLI).
   */
  #closeListener(): void {
    // Alone on its port, a closing listener resets what is queued to it anyway: no grace to give.
    if (!this.#accepting || !this.#reusePort) this.#listener.close();
    else this.#listenerTimer = setTimeout(() => this.#listener.close(), LISTENER_GRACE);
  }

  /** Over `maxConnections`: 503 and close, without reading the request. */
  #refuseBusy(conn: Deno.Conn): void {
    const body = "503 Service Unavailable\ntoo many connections; retry shortly\n";
    const response = `HTTP/1.1 503 Service Unavailable\r\n${dateHeader()}${this.serverLine}` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nRetry-After: 1\r\n` +
      `Connection: close\r\n\r\n${body}`;
    conn.write(new TextEncoder().encode(response)).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    });
  }

  #checkFinished(): void {
    if (this.#closing && !this.#accepting && this.#connections.size === 0) this.#finished.resolve();
  }
}

/** Options of {@linkcode serve}. */
export interface ServeOptions extends ServerOptions {
  /** The host to listen on. Default `"127.0.0.1"`; `"0.0.0.0"` for every interface. */
  hostname?: string;
  /** The port. Default 8000; 0 picks a free one (see `server.addr`). */
  port?: number;
  /** Listen on a Unix socket at this path instead. */
  path?: string;
  /** Shut down (gracefully, with `shutdownDeadline`) when this aborts. */
  signal?: AbortSignal;
  /** Ms `signal` gives requests in flight. Default 10000. */
  shutdownDeadline?: number;
  /** Called once listening, with the bound address. */
  onListen?: (addr: Deno.Addr) => void;
  /** Run in this scheduler (you run it) instead of a new one. */
  scheduler?: Scheduler;
  /**
   * The bus of the server's scheduler: what carries named signals and named
   * queues to other processes (a `RedisBus`, say). Default: this process
   * alone. With `scheduler`, give the bus to the scheduler instead.
   */
  bus?: Bus;
}

/** What {@linkcode serve} returns. */
export interface Server {
  /** The bound address. */
  readonly addr: Deno.Addr;
  /** Resolves once the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Graceful shutdown with a deadline in ms (see `WSGIServer.shutdown`). */
  shutdown(deadline?: number): Promise<void>;
  /** The server itself. */
  readonly server: WSGIServer;
}

/**
 * Serves `app` (or a list of `[prefix, app]` routes) over HTTP/1.1.
 *
 * @example
 * ```ts
 * import { serve } from "@cogen/cogen/wsgi";
 * const server = serve(async function* (_environ, startResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "Hello, World!";
 * }, { hostname: "127.0.0.1", port: 0 });
 * const response = await fetch(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`);
 * await response.text(); // "Hello, World!"
 * await server.shutdown(1000);
 * ```
 */
export function serve(app: App | Iterable<Route>, options: ServeOptions = {}): Server {
  const ownScheduler = options.scheduler === undefined;
  if (!ownScheduler && options.bus !== undefined && options.bus !== options.scheduler!.bus) {
    throw new TypeError(
      "serve: give the bus to the scheduler (new Scheduler({ bus })), not to serve, when you give both",
    );
  }
  const sched = options.scheduler ?? new Scheduler({ bus: options.bus });
  const address: ListenAddress = options.path !== undefined
    ? { path: options.path }
    : { hostname: options.hostname, port: options.port };
  const server = new WSGIServer(address, app, sched, options);
  sched.add(server.serve);
  if (ownScheduler) {
    sched.run();
    // Our scheduler only serves: once the server is done, release what apps left behind.
    server.finished.then(() => sched.stop());
  }
  const signal = options.signal;
  if (signal !== undefined) {
    const stop = () => server.shutdown(options.shutdownDeadline ?? 10_000);
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    server.finished.then(() => signal.removeEventListener("abort", stop));
  }
  options.onListen?.(server.addr);
  return {
    addr: server.addr,
    finished: server.finished,
    shutdown: (deadline?: number) => server.shutdown(deadline),
    server,
  };
}
