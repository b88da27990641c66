/**
 * WebSocket (RFC 6455) for apps: `acceptWebSocket` answers the handshake
 * and hands the app a {@linkcode ServerWebSocket} whose `receive`, `send` and
 * `close` are operations, so that one generator can `Race` a message of the
 * client against a signal or a queue. How the messages travel is the host's
 * {@linkcode WebSocketLink}: frames on our own socket
 * (`wsgi/websocket_frame_link.ts`), or the platform's WebSocket under
 * `toFetchHandler`.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "../core/mod.ts";
import type { Environ } from "./environ.ts";
import type { StartResponse } from "./app.ts";
import { acceptKey, checkWebSocketRequest, chooseProtocol } from "./websocket_handshake.ts";

/** A message: text as a string, binary as bytes. */
export type WebSocketMessage = string | Uint8Array;

/** Options of {@linkcode acceptWebSocket}. */
export interface WebSocketOptions {
  /** The subprotocols the app speaks, preferred first; the first the client offers is chosen. Default: none. */
  protocols?: readonly string[];
  /** The largest message accepted (all its fragments); a larger one closes with 1009. Default 16 MiB. */
  maxMessageBytes?: number;
  /**
   * Ms without a frame from the client after which it is pinged; if nothing
   * comes back within as long again, the connection is closed as dead (the
   * app is stopped as when an HTTP client leaves). 0: never. Default 60000.
   */
  idleTimeout?: number;
  /** Unsent bytes above which `send` waits for the client to read. Default 256 KiB. */
  highWaterMark?: number;
}

/** {@linkcode WebSocketOptions}, checked, with the defaults filled in. */
export interface ResolvedWebSocketOptions {
  /** The largest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Ms of silence before a ping (0: never). */
  readonly idleTimeout: number;
  /** Unsent bytes above which `send` waits. */
  readonly highWaterMark: number;
}

/**
 * How a {@linkcode ServerWebSocket}'s messages travel, as its host made it:
 * it sends and closes for the app, and tells the socket what arrives
 * (`deliver`, `finished`, `gone`).
 */
export interface WebSocketLink {
  /** Sends a message; a promise when the app should wait for the client to read, else `null`. */
  send(data: WebSocketMessage): Promise<void> | null;
  /** Begins the closing handshake (`code` and `reason` checked). */
  close(code: number, reason: string): void;
  /** The app took messages: reading may go on. */
  resume(): void;
  /** Whether the server is shutting down (the app's end then closes with 1001 where the link allows it). */
  readonly shuttingDown: boolean;
}

/**
 * What a host offers apps for switching a request's connection to
 * WebSocket, as `environ["cogen.websocket"]`.
 */
export interface WebSocketHost {
  /**
   * Agrees to switch (the app may answer 101), and makes the link that
   * carries `ws`'s messages.
   */
  upgrade(ws: ServerWebSocket, protocol: string, options: ResolvedWebSocketOptions): WebSocketLink;
}

/** The connection's state: open, closing (a close frame went out, the client's is awaited), closed. */
export type WebSocketState = "open" | "closing" | "closed";

/** Messages received and not yet taken above which the link stops reading until the app takes some. */
export const INBOX_LIMIT = 64;
const NORMAL = 1000, GOING_AWAY = 1001, ABNORMAL = 1006, INTERNAL_ERROR = 1011;

/**
 * Answers the WebSocket handshake of the request and returns the socket for
 * the app: call it before `startResponse` (it calls it, with `101
 * Switching Protocols`), then yield its operations. The connection is the
 * app's until the app returns (its end sends a close frame, 1000, if the app
 * did not close) — or until the client leaves, which stops the app as when
 * an HTTP client leaves.
 *
 * Pings are answered and a client's close is answered by the server itself;
 * frames that break the protocol close the connection with 1002, text that
 * is not UTF-8 with 1007, a message over `maxMessageBytes` with 1009.
 *
 * @throws {HttpError} 400 (or 426 with `Sec-WebSocket-Version: 13`) when the
 *   request does not open a WebSocket: the server answers it.
 * @throws {Error} when the host cannot switch protocols (no
 *   `environ["cogen.websocket"]`).
 * @example
 * ```ts
 * import { acceptWebSocket, type App } from "@cogen/cogen/wsgi";
 * // An echo: each message back as it came.
 * export const echo: App = async function* (environ, startResponse) {
 *   const ws = acceptWebSocket(environ, startResponse);
 *   for (;;) {
 *     const message = yield* ws.receive();
 *     if (message === null) return; // the client closed
 *     yield* ws.send(message);
 *   }
 * };
 * ```
 */
export function acceptWebSocket(
  environ: Environ,
  startResponse: StartResponse,
  options: WebSocketOptions = {},
): ServerWebSocket {
  const host = environ["cogen.websocket"] as Partial<WebSocketHost> | undefined;
  if (typeof host?.upgrade !== "function") {
    throw new Error(
      "acceptWebSocket: this host cannot switch the connection to WebSocket (environ has no cogen.websocket); " +
        "serve the app with serve(), the CLI, or toFetchHandler on Deno.serve",
    );
  }
  const resolved = resolveWebSocketOptions(options);
  const request = checkWebSocketRequest(environ);
  const protocol = chooseProtocol(request.protocols, options.protocols ?? []);
  const headers: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKey(request.key)],
  ];
  if (protocol !== null) headers.push(["Sec-WebSocket-Protocol", protocol]);
  const ws = new ServerWebSocket(protocol ?? "");
  ws.link = host.upgrade!(ws, protocol ?? "", resolved);
  startResponse("101 Switching Protocols", headers);
  return ws;
}

/** The options checked, with their defaults. */
function resolveWebSocketOptions(options: WebSocketOptions): ResolvedWebSocketOptions {
  const resolved = {
    maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
    idleTimeout: options.idleTimeout ?? 60_000,
    highWaterMark: options.highWaterMark ?? 256 * 1024,
  };
  for (const [name, min] of [["maxMessageBytes", 1], ["idleTimeout", 0], ["highWaterMark", 0]] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`acceptWebSocket: ${name} must be an integer >= ${min}, got ${String(value)}`);
    }
  }
  return resolved;
}

/**
 * The app's side of a WebSocket (made by {@linkcode acceptWebSocket}):
 * `receive()`, `send(data)` and `close(code, reason)` are operations.
 */
export class ServerWebSocket {
  /** The subprotocol chosen (`""` for none). */
  readonly protocol: string;
  /** The close code: the client's (1005 when its close had none), ours, or 1006 when the connection dropped. 0 while open. */
  closeCode = 0;
  /** The close reason. */
  closeReason = "";
  /** @ignore The host's link (set by `acceptWebSocket`). */
  link: WebSocketLink | null = null;
  #state: WebSocketState = "open";
  /** Messages received, not yet taken by `receive`. */
  #inbox: WebSocketMessage[] = [];
  #inboxHead = 0;
  /** The receives waiting for a message. */
  #receivers: Waiter<WebSocketMessage | null>[] = [];
  /** Resolves once the connection is closed (the close handshake done, or the socket gone). */
  #closed: PromiseWithResolvers<void> | null = null;

  /** @ignore Use {@linkcode acceptWebSocket}. */
  constructor(protocol: string) {
    this.protocol = protocol;
  }

  /** Where the connection is: `"open"`, `"closing"` (our close is out) or `"closed"`. */
  get state(): WebSocketState {
    return this.#state;
  }

  /**
   * An operation: the next message (a string for text, a `Uint8Array` for
   * binary), or `null` once the connection is closed (`closeCode` says how).
   *
   * @example
   * ```ts ignore
   * const message = yield* ws.receive({ timeout: 30_000 });
   * ```
   */
  receive(options?: OperationOptions): Operation<WebSocketMessage | null> {
    return new WebSocketReceive(this, options);
  }

  /**
   * An operation: sends a message (a string as text, bytes as binary); it
   * completes at once, or once the client has read enough when more than
   * `highWaterMark` bytes wait to go out. Once the connection is closing or
   * closed (see `state`), the message is dropped, as a browser drops it.
   */
  send(data: WebSocketMessage, options?: OperationOptions): Operation<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError(`WebSocket.send: a string or a Uint8Array, got ${typeof data}`);
    }
    return new WebSocketSend(this, data, options);
  }

  /**
   * An operation: closes the connection with `code` (1000, or 3000–4999 of
   * your own) and a `reason` (up to 123 bytes of UTF-8), and completes once
   * the client has answered with its close (or after 2 s without one).
   */
  close(code = NORMAL, reason = "", options?: OperationOptions): Operation<void> {
    if (!(code === NORMAL || (code >= 3000 && code <= 4999)) || !Number.isInteger(code)) {
      throw new RangeError(`WebSocket.close: code must be 1000 or 3000-4999, got ${String(code)}`);
    }
    return new WebSocketClose(this, code, String(reason), options);
  }

  /**
   * @ignore For the host, when the app has ended: a connection still open
   * is closed (1000; 1001 while the server shuts down; 1011 when the app
   * failed); resolves once the client answered (or the link gave up waiting).
   */
  end(failed = false): Promise<void> {
    if (this.#state === "open") {
      this.#beginClose(failed ? INTERNAL_ERROR : this.link!.shuttingDown ? GOING_AWAY : NORMAL, "");
    }
    return this.#closedPromise();
  }

  // ---- for the operations ----

  /** @ignore */
  startReceive(waiter: Waiter<WebSocketMessage | null>): void {
    if (this.#inboxHead < this.#inbox.length) waiter.resolve(this.#take());
    else if (this.#state === "closed") waiter.resolve(null);
    else this.#receivers.push(waiter);
  }

  /** @ignore */
  withdrawReceive(waiter: Waiter<WebSocketMessage | null>): void {
    const i = this.#receivers.indexOf(waiter);
    if (i >= 0) this.#receivers.splice(i, 1);
  }

  /** @ignore */
  startSend(waiter: Waiter<void>, data: WebSocketMessage): void {
    // As a browser's WebSocket does: a message sent after the close began is dropped (the client may close at
    // any moment, so an echo that answers a last message must not fail for it). `state` tells.
    const wait = this.#state === "open" ? this.link!.send(data) : null;
    if (wait === null) {
      waiter.resolve(undefined);
      return;
    }
    const epoch = waiter.epoch;
    wait.then(
      () => waiter.epoch === epoch && waiter.resolve(undefined),
      (error) => waiter.epoch === epoch && waiter.reject(error),
    );
  }

  /** @ignore */
  startClose(waiter: Waiter<void>, code: number, reason: string): void {
    if (this.#state === "open") this.#beginClose(code, reason);
    if (this.#state === "closed") {
      waiter.resolve(undefined);
      return;
    }
    const epoch = waiter.epoch;
    this.#closedPromise().then(() => waiter.epoch === epoch && waiter.resolve(undefined));
  }

  // ---- for the link ----

  /** @ignore A message arrived. */
  deliver(message: WebSocketMessage): void {
    const receiver = this.#receivers.shift();
    if (receiver !== undefined) receiver.resolve(message);
    else this.#inbox.push(message);
  }

  /** @ignore Messages received and not taken yet (the link stops reading above {@linkcode INBOX_LIMIT}). */
  get backlog(): number {
    return this.#inbox.length - this.#inboxHead;
  }

  /**
   * @ignore The connection is closed: by the closing handshake (the
   * client's code), or by the link after a broken rule (its code). Waiting
   * receives get `null`.
   */
  finished(code: number, reason: string): void {
    if (this.#state === "closed") return;
    // Our own close keeps its code; otherwise the client's (or the link's) is the one.
    if (this.#state === "open") {
      this.closeCode = code;
      this.closeReason = reason;
    }
    this.#settle();
  }

  /** @ignore The client vanished without a close (1006): the host stops the app. */
  gone(reason: string): void {
    if (this.#state === "closed") return;
    this.closeCode = ABNORMAL;
    this.closeReason = reason;
    this.#settle();
  }

  #settle(): void {
    this.#state = "closed";
    for (const receiver of this.#receivers.splice(0)) receiver.resolve(null);
    this.#closed?.resolve();
  }

  #beginClose(code: number, reason: string): void {
    this.#state = "closing";
    this.closeCode = code;
    this.closeReason = reason;
    this.link!.close(code, reason);
  }

  #closedPromise(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    return (this.#closed ??= Promise.withResolvers<void>()).promise;
  }

  #take(): WebSocketMessage {
    const message = this.#inbox[this.#inboxHead++];
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox = [];
      this.#inboxHead = 0;
    }
    if (this.backlog === INBOX_LIMIT / 2) this.link!.resume();
    return message;
  }
}

/** The operation of `WebSocket.receive`. */
class WebSocketReceive extends Operation<WebSocketMessage | null> {
  constructor(readonly ws: ServerWebSocket, options: OperationOptions | undefined) {
    super();
    this.applyOptions("WebSocket.receive", options);
  }

  start(waiter: Waiter<WebSocketMessage | null>): void {
    this.ws.startReceive(waiter);
  }

  override withdraw(waiter: Waiter<WebSocketMessage | null>): void {
    this.ws.withdrawReceive(waiter);
  }

  override toString(): string {
    return "WebSocket.receive";
  }
}

/** The operation of `WebSocket.send`. */
class WebSocketSend extends Operation<void> {
  constructor(
    readonly ws: ServerWebSocket,
    readonly data: WebSocketMessage,
    options: OperationOptions | undefined,
  ) {
    super();
    this.applyOptions("WebSocket.send", options);
  }

  start(waiter: Waiter<void>): void {
    this.ws.startSend(waiter, this.data);
  }

  override toString(): string {
    return "WebSocket.send";
  }
}

/** The operation of `WebSocket.close`. */
class WebSocketClose extends Operation<void> {
  constructor(
    readonly ws: ServerWebSocket,
    readonly code: number,
    readonly reason: string,
    options: OperationOptions | undefined,
  ) {
    super();
    this.applyOptions("WebSocket.close", options);
  }

  start(waiter: Waiter<void>): void {
    this.ws.startClose(waiter, this.code, this.reason);
  }

  override toString(): string {
    return "WebSocket.close";
  }
}
