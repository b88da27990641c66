/**
 * `PlatformLink`: a WebSocket's messages under `toFetchHandler`, carried by
 * the platform's own WebSocket (`Deno.upgradeWebSocket`): the app's
 * `ServerWebSocket` is the same; only how its messages travel differs.
 *
 * @module
 */
import type {
  ResolvedWebSocketOptions,
  ServerWebSocket,
  WebSocketLink,
  WebSocketMessage,
} from "../wsgi/websocket.ts";

/** Ms a close waits for the client's close before the connection counts as closed anyway. */
const CLOSE_WAIT = 2000;
/** Ms between two looks at `bufferedAmount` while the app waits for the client to read. */
const DRAIN_POLL = 5;
const ABNORMAL = 1006, TOO_BIG = 1009;

/**
 * Carries `ws`'s messages on `socket` (from `Deno.upgradeWebSocket`).
 * `peerGone` is told when the client vanishes without a close (the host
 * stops the app). Messages the app sends before the socket opens wait for
 * it; a message over `maxMessageBytes` closes with 1009 (once it has
 * arrived: the platform reads it whole).
 *
 * @example
 * ```ts ignore
 * const { socket, response } = Deno.upgradeWebSocket(request);
 * const link = new PlatformLink(ws, options, (reason) => stopTheApp(reason));
 * link.attach(socket); // once the 101 is committed
 * ```
 */
export class PlatformLink implements WebSocketLink {
  /** The fetch host cannot tell a shutdown: the app's end closes with 1000. */
  readonly shuttingDown = false;
  #socket: WebSocket | null = null;
  readonly #ws: ServerWebSocket;
  readonly #peerGone: (reason: string) => void;
  readonly #options: ResolvedWebSocketOptions;
  /** What the app sent before the socket opened. */
  #early: WebSocketMessage[] | null = [];
  /** A close the app asked for before the socket opened: made once it has. */
  #earlyClose: [number, string] | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** A link for `ws`; its socket comes with {@linkcode PlatformLink.attach}, once the request is upgraded. */
  constructor(ws: ServerWebSocket, options: ResolvedWebSocketOptions, peerGone: (reason: string) => void) {
    this.#ws = ws;
    this.#options = options;
    this.#peerGone = peerGone;
  }

  /** The platform's socket for the upgraded request: messages and closes go through it from now on. */
  attach(socket: WebSocket): void {
    this.#socket = socket;
    const ws = this.#ws;
    const peerGone = this.#peerGone;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      const early = this.#early;
      this.#early = null;
      if (early !== null) { for (const data of early) socket.send(data as string | Uint8Array<ArrayBuffer>); }
      const close = this.#earlyClose;
      this.#earlyClose = null;
      if (close !== null) this.close(...close);
    };
    socket.onmessage = (event: MessageEvent) => {
      const data = typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer);
      const size = typeof data === "string" ? data.length : data.byteLength;
      if (size > this.#options.maxMessageBytes) {
        this.close(TOO_BIG, `message over the limit of ${this.#options.maxMessageBytes} bytes`);
        return;
      }
      ws.deliver(data);
    };
    socket.onclose = (event: CloseEvent) => {
      clearTimeout(this.#closeTimer);
      if (event.code === ABNORMAL || (!event.wasClean && event.code === 0)) {
        ws.gone("the client closed the connection without a close frame");
        peerGone("the client went away");
      } else ws.finished(event.code, event.reason);
    };
    socket.onerror = () => {}; // a close event follows
  }

  /** Sends a message; asks the app to wait while more than `highWaterMark` bytes are buffered. */
  send(data: WebSocketMessage): Promise<void> | null {
    if (this.#early !== null) {
      this.#early.push(data);
      return null;
    }
    const socket = this.#socket!;
    socket.send(data as string | Uint8Array<ArrayBuffer>);
    if (socket.bufferedAmount <= this.#options.highWaterMark) return null;
    return new Promise((resolve) => {
      const look = () => {
        if (socket.bufferedAmount <= this.#options.highWaterMark || socket.readyState !== WebSocket.OPEN) {
          resolve();
        } else setTimeout(look, DRAIN_POLL);
      };
      setTimeout(look, DRAIN_POLL);
    });
  }

  /** Closes (the platform takes 1000 and 3000–4999 only: another code closes with 1000). */
  close(code: number, reason: string): void {
    if (this.#early !== null) {
      this.#earlyClose = [code, reason];
      return;
    }
    const socket = this.#socket!;
    try {
      socket.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
    } catch {
      socket.close();
    }
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(
      () => this.#ws.finished(ABNORMAL, "no close frame from the client"),
      CLOSE_WAIT,
    );
  }

  /** The platform reads on by itself: nothing to resume. */
  resume(): void {}
}
