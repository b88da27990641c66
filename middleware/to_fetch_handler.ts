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
import { Scheduler, type Task } from "../core/mod.ts";
import {
  type App,
  type Chunk,
  CogenProxy,
  Input,
  logError,
  PathInfoDispatcher,
  type Route,
} from "../wsgi/mod.ts";
import { concatBytes } from "../wsgi/bytes.ts";
import { STATUS_TEXT } from "../wsgi/http_error.ts";
import { HeadCache } from "../wsgi/response_head.ts";
import { AppDriver } from "../wsgi/app_driver.ts";
import type { RequestSource, ResponseSink } from "../wsgi/app_host.ts";
import { fetchEnviron } from "./fetch_environ.ts";
import { PlatformLink } from "./fetch_websocket.ts";
import type {
  ResolvedWebSocketOptions,
  ServerWebSocket,
  WebSocketHost,
  WebSocketLink,
} from "../wsgi/websocket.ts";
import { StreamBody } from "./stream_body.ts";

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
    report: options.onError ?? logError,
    debug: options.debug ?? false,
    heads: new HeadCache(),
  };
  return (request, info) => {
    const exchange = new FetchExchange(settings, request, info);
    const sched = settings.sched;
    const task = exchange.task = sched.add(exchange.driver.run());
    task.owner = exchange.driver;
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
  readonly heads: HeadCache;
}

/** Bytes the body stream queues before the app waits for the client to read. */
const HIGH_WATER = 64 * 1024;
const encoder = new TextEncoder();

/**
 * One request: the source of the driver that runs its app (one request,
 * then none), and the sink that makes its `Response`.
 */
class FetchExchange implements RequestSource, ResponseSink, WebSocketHost {
  /** Settles with the response once its head is known. */
  readonly response: PromiseWithResolvers<Response> = Promise.withResolvers<Response>();
  /** Runs the app. */
  readonly driver: AppDriver;
  /** The driver's task. */
  task: Task<void> | null = null;
  readonly #settings: Settings;
  readonly #request: Request;
  readonly #info: Deno.ServeHandlerInfo | undefined;
  readonly #body: StreamBody | null;
  readonly #onAbort = () => this.#clientGone();
  #served = false;
  /** Whether `response` was settled. */
  #settled = false;
  /** The body's bytes when its length is known at the head: the `Response` is made at the end, with them. */
  #parts: Uint8Array[] | null = null;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  #pulled: PromiseWithResolvers<void> | null = null;
  #releaseScheduled = false;
  /** The driver ended the response (or failed it); a later abort is not the client leaving. */
  #answered = false;
  #closed = false;
  /** The WebSocket the app switched to, and what its upgrade needs until the 101 is committed. */
  #websocket: ServerWebSocket | null = null;
  #upgrade: { link: PlatformLink; protocol: string; options: ResolvedWebSocketOptions } | null = null;

  constructor(settings: Settings, request: Request, info: Deno.ServeHandlerInfo | undefined) {
    this.#settings = settings;
    this.#request = request;
    this.#info = info;
    this.#body = request.body === null ? null : new StreamBody(request.body);
    this.driver = new AppDriver(this, this, settings);
  }

  /** Listens for the client leaving before the app is done. */
  watchClient(): void {
    // Reading request.signal makes Deno 2 (legacy abort) print a one-time notice; it is the only
    // sign of a client that leaves while the app waits before its head, as a long poll does.
    const signal = this.#request.signal;
    if (signal.aborted) this.#clientGone();
    else signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  // ---- the request, for the driver ----

  nextRequest(): "ready" | "end" {
    if (this.#served) return "end";
    this.#served = true;
    const request = this.#request;
    const input = new Input(this.#body);
    const length = request.headers.get("content-length");
    const proxy = new CogenProxy(
      length !== null && /^\d+$/.test(length) ? Number(length) : -1,
      input,
    );
    const environ = fetchEnviron(request, this.#info, input, proxy, this.#settings.sched);
    environ["cogen.websocket"] = this;
    this.driver.begin(environ, proxy, input, request.method, environ.REQUEST_URI);
    return "ready";
  }

  pausing(): void {
    // The app is taking a while: a held first chunk goes out at the end of this turn.
    if (!this.driver.holding || this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      this.driver.release();
    });
  }

  backpressure(): Promise<void> | null {
    const controller = this.#controller;
    if (controller === null || controller.desiredSize === null || controller.desiredSize > 0) return null;
    // The client reads slower than the app writes: wait (without blocking anyone) for it to catch up.
    return (this.#pulled = Promise.withResolvers<void>()).promise;
  }

  sendFile(): null {
    return null;
  }

  afterExchange(): boolean {
    return false;
  }

  report(error: unknown, context: string): void {
    this.#settings.report(error, context);
  }

  /** The exchange is over, whichever way: settle what is still pending, let go of the request. Runs once. */
  end(): void | Promise<void> {
    // A WebSocket the app did not close is closed first (once its 101 went out).
    const ws = this.#websocket;
    if (ws !== null && this.driver.upgraded && this.#upgrade === null && ws.state !== "closed") {
      this.#websocket = null;
      return ws.end().then(() => this.end());
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#request.signal.removeEventListener("abort", this.#onAbort);
    if (!this.#answered) {
      // Cancelled: the client left. Nobody reads this response; the host still wants its promise settled.
      this.#settle(new Response(null, { status: 499, statusText: "Client Closed Request" }));
      failStream(this.#controller, new DOMException("the client went away", "AbortError"));
    }
    this.#body?.release();
  }

  // ---- the response, for the driver ----

  commit(driver: AppDriver, length: number): void {
    if (driver.upgraded) {
      // The platform makes the 101 (with its accept key): the exchange is answered.
      this.#answered = true;
      this.#settle(this.#upgradeNow());
      return;
    }
    if (nullBodyStatus(driver.code)) this.#respond(null);
    else if (length >= 0) this.#parts = [];
    else {
      this.#respond(
        new ReadableStream<Uint8Array>({
          start: (controller) => {
            this.#controller = controller;
          },
          pull: () => {
            const pulled = this.#pulled;
            this.#pulled = null;
            pulled?.resolve();
          },
          cancel: () => this.#clientGone(),
        }, { highWaterMark: HIGH_WATER, size: (chunk) => chunk.byteLength }),
      );
    }
  }

  /** Body bytes are not copied: as on the server, an app must not change them once yielded. */
  frame(chunk: Chunk): void {
    // A HEAD keeps its body: Deno.serve takes the length from it and sends none of it.
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    if (this.#parts !== null) this.#parts.push(bytes);
    else this.#controller?.enqueue(bytes);
  }

  finish(): void {
    this.#answered = true;
    const parts = this.#parts;
    if (parts !== null) {
      this.#parts = null;
      this.#respond(
        parts.length === 1 ? parts[0] : concatBytes(parts, parts.reduce((n, p) => n + p.length, 0)),
      );
    } else closeStream(this.#controller);
    this.#controller = null; // what is queued still goes out: a later cut must not error the stream
  }

  cut(error: unknown): void {
    this.#answered = true;
    // A body of known length whose head is not made yet: nothing went out, so the client gets a 500.
    if (this.#parts !== null) this.answerError(500, "");
    else {
      // Deno.serve prints the reason a body stream errors with: one line (the report has the error itself).
      const why = error instanceof Error ? error.message : String(error);
      failStream(this.#controller, `cogen: ${this.driver.context}: the response was cut short (${why})`);
    }
  }

  answerError(status: number, detail: string, headers: readonly [string, string][] = []): void {
    this.#answered = true;
    this.#parts = null;
    const text = `${status} ${STATUS_TEXT[status] ?? "Error"}\n${detail}`;
    const fields = new Headers();
    for (const [name, value] of headers) {
      try {
        fields.append(name, value);
      } catch {
        // A field Headers refuses is left out, as the socket server leaves it out.
      }
    }
    fields.set("Content-Type", "text/plain; charset=utf-8");
    this.#settle(new Response(this.#request.method === "HEAD" ? null : text, { status, headers: fields }));
  }

  // ---- switching to WebSocket ----

  /**
   * @ignore For `acceptWebSocket`: the platform's WebSocket will carry the
   * messages. The request is upgraded only when the 101 is committed
   * (`Deno.upgradeWebSocket` then): an app that answers otherwise answers
   * over HTTP as usual.
   */
  upgrade(ws: ServerWebSocket, protocol: string, options: ResolvedWebSocketOptions): WebSocketLink {
    this.driver.allowUpgrade();
    this.#websocket = ws;
    const link = new PlatformLink(ws, options, (reason) => this.#peerGone(reason));
    this.#upgrade = { link, protocol, options };
    return link;
  }

  /** The 101 is committed: the platform takes the request over, and its response answers it. */
  #upgradeNow(): Response {
    const { link, protocol, options } = this.#upgrade!;
    this.#upgrade = null;
    // Deno aborts the request's signal as it upgrades: from now on the WebSocket tells when the client leaves.
    this.#request.signal.removeEventListener("abort", this.#onAbort);
    const { socket, response } = Deno.upgradeWebSocket(this.#request, {
      idleTimeout: options.idleTimeout > 0 ? Math.max(1, Math.round(options.idleTimeout / 1000)) : 0,
    });
    // Chosen here, as on our server: Deno's own check splits the client's list on ", " only, and clients that
    // write "chat,other" (npm:ws does) would be refused.
    if (protocol !== "") response.headers.set("Sec-WebSocket-Protocol", protocol);
    link.attach(socket);
    return response;
  }

  /** The WebSocket's client vanished: its app stops, as when an HTTP client leaves. */
  #peerGone(reason: string): void {
    if (this.#closed) return;
    this.driver.abandon(reason);
    this.task?.cancel().then(
      () => this.end(),
      (error) => this.report(error, "cancel"),
    );
  }

  /** Makes the response with the app's head and `body`. */
  #respond(body: Uint8Array | ReadableStream<Uint8Array> | null): void {
    const known = this.driver.known!;
    const headers = new Headers();
    const fields = known.fields;
    let response: Response;
    try {
      for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
      // (An app's Uint8Array is typed over any ArrayBufferLike; Response takes it as bytes all the same.)
      response = new Response(body as BodyInit | null, {
        status: this.driver.code,
        statusText: known.status.slice(4),
        headers,
      });
    } catch (error) {
      // What Headers or Response refuse beyond our own checks: a 500 settles the response instead.
      this.#controller = null;
      this.report(error, this.driver.context);
      this.answerError(500, "");
      return;
    }
    this.#settle(response);
  }

  #settle(response: Response): void {
    if (this.#settled) return;
    this.#settled = true;
    this.response.resolve(response);
  }

  /** The client went away before the app was done: stop the app, abort `cogen.signal`. */
  #clientGone(): void {
    if (this.#answered || this.#closed) return; // Deno's legacy abort after a response that went out whole
    this.driver.abandon("the client went away");
    // A task cancelled before its first step never runs the driver, whose end would close the exchange.
    this.task!.cancel().then(
      () => this.end(),
      (error) => this.report(error, "cancel"),
    );
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
