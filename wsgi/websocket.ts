/**
 * WebSocket (RFC 6455) for apps: `acceptWebSocket` answers the handshake
 * and hands the app a {@linkcode ServerWebSocket} whose `receive`, `send` and
 * `close` are operations, so that one generator can `Race` a message of the
 * client against a signal or a queue.
 *
 * @module
 */
import { Operation, type OperationOptions, type Scheduler, type Socket, type Waiter } from "../core/mod.ts";
import { Deadline } from "../core/deadline.ts";
import type { Environ } from "./environ.ts";
import type { StartResponse } from "./app.ts";
import type { Output } from "./output.ts";
import { utf8Length } from "./output.ts";
import { acceptKey, checkWebSocketRequest, chooseProtocol } from "./websocket_handshake.ts";
import {
  encodeCloseFrame,
  FrameParser,
  NEED_MORE,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  WebSocketError,
  writeFrameHead,
} from "./websocket_frames.ts";

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

/**
 * The connection a {@linkcode ServerWebSocket} runs on, as its host offers it: the
 * socket's reads and the output, once the 101 answer is on its way.
 */
export interface WebSocketTransport {
  /** The socket: bytes read past the request's head are the first frames. */
  readonly socket: Socket;
  /** The output: frames are appended here. */
  readonly out: Output;
  /** The scheduler (for the idle timer). */
  readonly sched: Scheduler;
  /** Whether the server is shutting down (the app's end then closes with 1001). */
  readonly shuttingDown: boolean;
  /** The client is gone without a close (end of stream, reset, no answer to a ping): stop the app. */
  peerGone(reason: string): void;
  /** The WebSocket made on it: the host ends it (`end()`) when the app has ended. */
  opened(ws: ServerWebSocket): void;
}

/**
 * What a server offers apps for switching to WebSocket: the connection of
 * the request (`environ["cogen.http_connection"]`) has `upgrade()`.
 */
export interface WebSocketHost {
  /** Agrees to switch the request's connection to WebSocket; returns it. */
  upgrade(): WebSocketTransport;
}

/** The connection's state: open, closing (a close frame went out, the client's is awaited), closed. */
export type WebSocketState = "open" | "closing" | "closed";

/** Messages received and not yet taken above which reading pauses until the app takes some. */
const INBOX_LIMIT = 64;
/** Ms a close waits for the client's close frame before the connection ends anyway. */
const CLOSE_WAIT = 2000;
const NORMAL = 1000, GOING_AWAY = 1001, ABNORMAL = 1006;
const decoder = new TextDecoder();

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
 * @throws {Error} when the server cannot switch protocols (no
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
  const host = environ["cogen.http_connection"] as Partial<WebSocketHost> | undefined;
  if (typeof host?.upgrade !== "function") {
    throw new Error(
      "acceptWebSocket: this server cannot switch the connection to WebSocket (its environ's " +
        "cogen.http_connection has no upgrade()); serve the app with serve() or the CLI",
    );
  }
  const request = checkWebSocketRequest(environ);
  const protocol = chooseProtocol(request.protocols, options.protocols ?? []);
  const headers: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKey(request.key)],
  ];
  if (protocol !== null) headers.push(["Sec-WebSocket-Protocol", protocol]);
  const transport = host.upgrade!();
  startResponse("101 Switching Protocols", headers);
  return new ServerWebSocket(transport, protocol ?? "", options);
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
  #state: WebSocketState = "open";
  readonly #transport: WebSocketTransport;
  readonly #socket: Socket;
  readonly #out: Output;
  readonly #parser: FrameParser;
  readonly #highWater: number;
  readonly #idleTimeout: number;
  readonly #head = new Uint8Array(10);
  /** Messages received, not yet taken by `receive`. */
  #inbox: WebSocketMessage[] = [];
  #inboxHead = 0;
  /** The receives waiting for a message. */
  #receivers: Waiter<WebSocketMessage | null>[] = [];
  /** The pieces of a fragmented message so far (copies), and their length. */
  #pieces: Uint8Array[] = [];
  #pieceBytes = 0;
  /** Whether a read is under way, or reading waits for the app to take messages. */
  #reading = false;
  #paused = false;
  /** Whether a frame came since the idle timer was armed; whether a ping is unanswered. */
  #heard = false;
  #pinged = false;
  readonly #idle: Deadline | null;
  /** Ends a close handshake the client does not answer. */
  #closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Resolves once the connection is closed (the close handshake done, or the socket gone). */
  #closed = Promise.withResolvers<void>();

  /** @ignore Use {@linkcode acceptWebSocket}. */
  constructor(transport: WebSocketTransport, protocol: string, options: WebSocketOptions) {
    this.#transport = transport;
    this.#socket = transport.socket;
    this.#out = transport.out;
    this.protocol = protocol;
    const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
    const idleTimeout = options.idleTimeout ?? 60_000;
    const highWater = options.highWaterMark ?? 256 * 1024;
    for (
      const [name, value, min] of [["maxMessageBytes", maxMessageBytes, 1], ["idleTimeout", idleTimeout, 0], [
        "highWaterMark",
        highWater,
        0,
      ]] as const
    ) {
      if (!Number.isSafeInteger(value) || value < min) {
        throw new RangeError(`acceptWebSocket: ${name} must be an integer >= ${min}, got ${String(value)}`);
      }
    }
    this.#parser = new FrameParser({ maxMessageBytes });
    this.#highWater = highWater;
    this.#idleTimeout = idleTimeout;
    this.#idle = idleTimeout > 0 ? new Deadline(transport.sched, () => this.#idleCheck()) : null;
    this.#idle?.arm(idleTimeout);
    transport.opened(this);
    this.#read();
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

  // ---- for the operations ----

  /** @ignore */
  startReceive(waiter: Waiter<WebSocketMessage | null>): void {
    if (this.#inboxHead < this.#inbox.length) {
      waiter.resolve(this.#take());
      return;
    }
    if (this.#state === "closed" || this.#parser.closed) {
      waiter.resolve(null);
      return;
    }
    this.#receivers.push(waiter);
  }

  /** @ignore */
  withdrawReceive(waiter: Waiter<WebSocketMessage | null>): void {
    const i = this.#receivers.indexOf(waiter);
    if (i >= 0) this.#receivers.splice(i, 1);
  }

  /** @ignore */
  startSend(waiter: Waiter<void>, data: WebSocketMessage): void {
    if (this.#state !== "open") {
      // As a browser's WebSocket does: a message sent after the close began is dropped (the client may close at
      // any moment, so an echo that answers a last message must not fail for it). `state` tells.
      waiter.resolve(undefined);
      return;
    }
    this.#frame(typeof data === "string" ? OP_TEXT : OP_BINARY, data);
    const out = this.#out;
    if (out.pending <= this.#highWater && !out.holdsBorrowed) {
      waiter.resolve(undefined);
      return;
    }
    const epoch = waiter.epoch;
    out.flush().then(
      () => waiter.epoch === epoch && waiter.resolve(undefined),
      (error) => waiter.epoch === epoch && waiter.reject(error),
    );
  }

  /** @ignore */
  startClose(waiter: Waiter<void>, code: number, reason: string): void {
    if (this.#state === "open") this.#sendClose(code, reason);
    if (this.#state === "closed") {
      waiter.resolve(undefined);
      return;
    }
    const epoch = waiter.epoch;
    this.#closed.promise.then(() => waiter.epoch === epoch && waiter.resolve(undefined));
  }

  /**
   * @ignore For the host, when the app has ended: a connection still open
   * is closed (1000, or 1001 while the server shuts down); resolves once
   * the client answered (or after 2 s).
   */
  end(): Promise<void> {
    if (this.#state === "open") this.#sendClose(this.#transport.shuttingDown ? GOING_AWAY : NORMAL, "");
    return this.#closed.promise;
  }

  // ---- reading ----

  /** Parses what is buffered; reads more when it has used it all (unless paused). */
  #read(): void {
    const socket = this.#socket;
    const parser = this.#parser;
    while (this.#state !== "closed" && !parser.closed) {
      if (socket.end > socket.start) {
        let pos: number;
        try {
          pos = parser.parse(socket.buffer, socket.start, socket.end);
          this.#heard = true;
          if (parser.event !== NEED_MORE) this.#handle(parser);
        } catch (error) {
          socket.consume(socket.end - socket.start);
          this.#failed(error);
          return;
        }
        socket.consume(pos - socket.start);
        if (this.#inbox.length - this.#inboxHead >= INBOX_LIMIT) {
          this.#paused = true;
          return;
        }
        continue;
      }
      if (socket.eof || socket.closed) {
        this.#gone("the client closed the connection without a close frame");
        return;
      }
      if (this.#reading) return;
      this.#reading = true;
      socket.fill().then((more) => this.#filled(more), () => this.#filled(false));
      return;
    }
  }

  #filled(more: boolean): void {
    this.#reading = false;
    if (!more && this.#socket.end === this.#socket.start) {
      if (this.#state !== "closed") this.#gone("the client closed the connection without a close frame");
      return;
    }
    this.#read();
  }

  /** What the parser completed. */
  #handle(parser: FrameParser): void {
    const event = parser.event;
    if (event === OP_TEXT || event === OP_BINARY) {
      const piece = parser.data.subarray(parser.dataStart, parser.dataEnd);
      if (parser.messageStart && parser.messageEnd) {
        this.#deliver(event === OP_TEXT ? decoder.decode(piece) : piece.slice());
        return;
      }
      if (piece.length > 0) {
        this.#pieces.push(piece.slice());
        this.#pieceBytes += piece.length;
      }
      if (!parser.messageEnd) return;
      const whole = new Uint8Array(this.#pieceBytes);
      let at = 0;
      for (const p of this.#pieces) {
        whole.set(p, at);
        at += p.length;
      }
      this.#pieces = [];
      this.#pieceBytes = 0;
      this.#deliver(event === OP_TEXT ? decoder.decode(whole) : whole);
    } else if (event === OP_PING) {
      if (this.#state === "open") {
        this.#frame(OP_PONG, parser.data.subarray(parser.dataStart, parser.dataEnd));
        this.#out.send();
      }
    } else if (event === OP_PONG) {
      this.#pinged = false;
    } else if (event === OP_CLOSE) {
      if (this.#state === "open") {
        // Answer with the client's code (an empty close is answered with an empty one).
        const code = parser.closeCode;
        this.#out.bytes(code === 1005 ? encodeCloseFrame() : encodeCloseFrame(code));
      }
      this.#finish(parser.closeCode, parser.closeReason);
    }
  }

  #deliver(message: WebSocketMessage): void {
    const receiver = this.#receivers.shift();
    if (receiver !== undefined) receiver.resolve(message);
    else this.#inbox.push(message);
  }

  #take(): WebSocketMessage {
    const message = this.#inbox[this.#inboxHead++];
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox = [];
      this.#inboxHead = 0;
    }
    if (this.#paused && this.#inbox.length - this.#inboxHead < INBOX_LIMIT / 2) {
      this.#paused = false;
      queueMicrotask(() => this.#read());
    }
    return message;
  }

  // ---- writing and closing ----

  /** Appends a frame (head, then payload) to the output. */
  #frame(opcode: number, data: WebSocketMessage): void {
    const out = this.#out;
    const head = this.#head;
    if (typeof data === "string") {
      const length = utf8Length(data);
      out.bytes(head.subarray(0, writeFrameHead(head, 0, opcode, length)));
      if (length > 0) out.utf8(data, length);
    } else {
      out.bytes(head.subarray(0, writeFrameHead(head, 0, opcode, data.length)));
      if (data.length > 0) out.bytes(data);
    }
  }

  #sendClose(code: number, reason: string): void {
    this.#state = "closing";
    this.closeCode = code;
    this.closeReason = reason;
    this.#out.bytes(encodeCloseFrame(code, reason));
    this.#out.send();
    this.#closeTimer = setTimeout(() => this.#finish(ABNORMAL, "no close frame from the client"), CLOSE_WAIT);
  }

  /** The client broke the protocol: a close frame says how, then the connection ends. */
  #failed(error: unknown): void {
    const code = error instanceof WebSocketError ? error.code : 1011;
    const reason = error instanceof Error ? error.message : String(error);
    if (this.#state === "open") {
      this.#out.bytes(encodeCloseFrame(code, reason));
    }
    this.#finish(code, reason);
  }

  /** The close handshake is over (or cut short): the socket closes once the output is written. */
  #finish(code: number, reason: string): void {
    if (this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    if (wasOpen || this.closeCode === 0) {
      this.closeCode = code;
      this.closeReason = reason;
    }
    this.#idle?.clear();
    clearTimeout(this.#closeTimer);
    for (const receiver of this.#receivers.splice(0)) receiver.resolve(null);
    const socket = this.#socket;
    // The server closes the TCP connection first (RFC 6455, 7.1.1), once what it wrote is out.
    this.#out.flush().finally(() => socket.close()).catch(() => {});
    this.#closed.resolve();
  }

  /** The client vanished (end of stream, reset, silence after a ping): the app stops. */
  #gone(reason: string): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.closeCode = ABNORMAL;
    this.closeReason = reason;
    this.#idle?.clear();
    clearTimeout(this.#closeTimer);
    for (const receiver of this.#receivers.splice(0)) receiver.resolve(null);
    this.#closed.resolve();
    this.#socket.close();
    this.#transport.peerGone(reason);
  }

  /** The idle timer: a quiet client is pinged; one that stays quiet after the ping is gone. */
  #idleCheck(): void {
    if (this.#state === "closed") return;
    if (this.#heard) {
      this.#heard = false;
      this.#pinged = false;
    } else if (!this.#pinged) {
      this.#pinged = true;
      if (this.#state === "open") {
        this.#frame(OP_PING, "");
        this.#out.send();
      }
    } else {
      this.#gone(`no answer to a ping within ${this.#idleTimeout} ms`);
      return;
    }
    this.#idle!.arm(this.#idleTimeout);
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
