/**
 * `FrameLink`: a WebSocket's messages as RFC 6455 frames on our server's own
 * socket — read and parsed as they arrive (pings answered, the client's
 * close answered, broken rules closed with their code), written through the
 * connection's output, with idle pings and a bounded wait for the client's
 * close.
 *
 * @module
 */
import type { Scheduler, Socket } from "../core/mod.ts";
import { Deadline } from "../core/deadline.ts";
import { concatBytes } from "./bytes.ts";
import type { Output } from "./output.ts";
import { utf8Length } from "./output.ts";
import {
  INBOX_LIMIT,
  type ResolvedWebSocketOptions,
  type ServerWebSocket,
  type WebSocketLink,
  type WebSocketMessage,
} from "./websocket.ts";
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

/** The connection a {@linkcode FrameLink} runs on, once the 101 answer is on its way. */
export interface WebSocketTransport {
  /** The socket: bytes read past the request's head are the first frames. */
  readonly socket: Socket;
  /** The output: frames are appended here. */
  readonly out: Output;
  /** The scheduler (for the idle timer). */
  readonly sched: Scheduler;
  /** Whether the server is shutting down. */
  readonly shuttingDown: boolean;
  /** The client is gone without a close (end of stream, reset, no answer to a ping): stop the app. */
  peerGone(reason: string): void;
  /** The closing handshake is over: an app that goes on is stopped after a moment. */
  closedCleanly(): void;
}

/** Ms a close waits for the client's close frame before the connection ends anyway. */
const CLOSE_WAIT = 2000;
const ABNORMAL = 1006;
/** A text message is what the client sent: a leading U+FEFF is kept, not taken for a byte order mark. */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Carries one {@linkcode ServerWebSocket}'s messages as frames on a
 * connection of our server (see the module doc).
 *
 * @example
 * ```ts ignore
 * const ws = new ServerWebSocket("");
 * ws.link = new FrameLink(connection, ws, { maxMessageBytes: 1 << 20, idleTimeout: 60_000, highWaterMark: 1 << 18 });
 * ```
 */
export class FrameLink implements WebSocketLink {
  readonly #transport: WebSocketTransport;
  readonly #ws: ServerWebSocket;
  readonly #socket: Socket;
  readonly #out: Output;
  readonly #parser: FrameParser;
  readonly #highWater: number;
  readonly #idleTimeout: number;
  readonly #head = new Uint8Array(10);
  /** The pieces of a fragmented message so far (copies), and their length. */
  #pieces: Uint8Array[] | null = null;
  #pieceBytes = 0;
  /** Whether a read is under way; whether reading waits for the app to take messages. */
  #reading = false;
  #paused = false;
  /** Whether our side is done: a close went out (or the connection failed). */
  #closing = false;
  #done = false;
  /** Whether a frame came since the idle timer was armed; whether a ping is unanswered. */
  #heard = false;
  #pinged = false;
  readonly #idle: Deadline | null;
  /** Ends a close handshake the client does not answer. */
  #closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Whether `start` was called (the 101 went out); whether reading stopped (a broken rule). */
  #started = false;
  #stopped = false;

  /** Carries `ws` on `transport`'s socket once {@linkcode FrameLink.start} is called. */
  constructor(transport: WebSocketTransport, ws: ServerWebSocket, options: ResolvedWebSocketOptions) {
    this.#transport = transport;
    this.#ws = ws;
    this.#socket = transport.socket;
    this.#out = transport.out;
    this.#parser = new FrameParser({ maxMessageBytes: options.maxMessageBytes });
    this.#highWater = options.highWaterMark;
    this.#idleTimeout = options.idleTimeout;
    this.#idle = options.idleTimeout > 0 ? new Deadline(transport.sched, () => this.#idleCheck()) : null;
  }

  /**
   * The 101 went out: the socket is the WebSocket's from here (bytes read
   * past the request's head are its first frames). Until then nothing is
   * read: an app that answers otherwise leaves the connection to HTTP.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#idle?.arm(this.#idleTimeout);
    this.#read();
  }

  /** Whether the server is shutting down. */
  get shuttingDown(): boolean {
    return this.#transport.shuttingDown;
  }

  /** Appends a data frame; asks the app to wait while much is unwritten, or while its own array is queued. */
  send(data: WebSocketMessage): Promise<void> | null {
    this.#frame(typeof data === "string" ? OP_TEXT : OP_BINARY, data);
    const out = this.#out;
    return out.pending > this.#highWater || out.holdsBorrowed ? out.flush() : null;
  }

  /** Sends our close frame; the connection ends when the client answers (or after 2 s). */
  close(code: number, reason: string): void {
    if (this.#closing || this.#done) return;
    this.#closing = true;
    this.#out.bytes(encodeCloseFrame(code, reason));
    this.#out.send();
    // The client's answer must be read even if reading paused for the app: what comes before it is dropped.
    if (this.#paused) this.resume();
    this.#closeTimer = setTimeout(() => {
      this.#ws.finished(ABNORMAL, "no close frame from the client");
      this.#finish();
    }, CLOSE_WAIT);
  }

  /** Reading goes on, if it paused for the app. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#read();
  }

  // ---- reading ----

  /** Parses what is buffered; reads more when it has used it all (unless paused). */
  #read(): void {
    const socket = this.#socket;
    const parser = this.#parser;
    while (!this.#done && !this.#stopped && !parser.closed) {
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
        if (!this.#closing && this.#ws.backlog >= INBOX_LIMIT) {
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
      this.#gone("the client closed the connection without a close frame");
      return;
    }
    this.#read();
  }

  /** What the parser completed. */
  #handle(parser: FrameParser): void {
    const event = parser.event;
    if (event === OP_TEXT || event === OP_BINARY) {
      if (this.#closing) return; // our close is out: the app takes no more messages
      const piece = parser.data.subarray(parser.dataStart, parser.dataEnd);
      if (parser.messageStart && parser.messageEnd) {
        // The socket's buffer is read into again: text is decoded from it, bytes copied out.
        this.#ws.deliver(event === OP_TEXT ? decoder.decode(piece) : piece.slice());
        return;
      }
      if (piece.length > 0) {
        (this.#pieces ??= []).push(piece.slice());
        this.#pieceBytes += piece.length;
      }
      if (!parser.messageEnd) return;
      const whole = concatBytes(this.#pieces ?? [], this.#pieceBytes);
      this.#pieces = null;
      this.#pieceBytes = 0;
      this.#ws.deliver(event === OP_TEXT ? decoder.decode(whole) : whole);
    } else if (event === OP_PING) {
      if (!this.#closing) {
        this.#frame(OP_PONG, parser.data.subarray(parser.dataStart, parser.dataEnd));
        this.#out.send();
      }
    } else if (event === OP_PONG) {
      this.#pinged = false;
    } else if (event === OP_CLOSE) {
      if (this.#closing) {
        this.#ws.finished(parser.closeCode, parser.closeReason);
        this.#finish();
        return;
      }
      // Answered with the client's code (an empty close with an empty one).
      const code = parser.closeCode;
      this.#endAfterTurn(
        code === 1005 ? encodeCloseFrame() : encodeCloseFrame(code),
        code,
        parser.closeReason,
      );
    }
  }

  // ---- writing and ending ----

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

  /**
   * The client broke the protocol: a close frame says how, then the
   * connection ends — after the app's turn, so that what came before the
   * broken frame is still answered.
   */
  #failed(error: unknown): void {
    const code = error instanceof WebSocketError ? error.code : 1011;
    const reason = error instanceof Error ? error.message : String(error);
    this.#stopped = true; // nothing more is read
    this.#endAfterTurn(this.#closing ? null : encodeCloseFrame(code, reason), code, reason);
  }

  /**
   * Ends the connection once the app has had its turn, so that the messages
   * that came before (an echo of one sent right before the close) are still
   * answered: then `frame` (our close, if one is owed) goes out, and the
   * socket closes.
   */
  #endAfterTurn(frame: Uint8Array | null, code: number, reason: string): void {
    this.#closing = true;
    setTimeout(() => {
      if (this.#done) return;
      if (frame !== null) this.#out.bytes(frame);
      this.#ws.finished(code, reason);
      this.#finish();
    }, 0);
  }

  /** The close handshake is over (or cut short): the socket closes once the output is written. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#closing = true;
    this.#idle?.clear();
    clearTimeout(this.#closeTimer);
    this.#pieces = null;
    const socket = this.#socket;
    // The server closes the TCP connection first (RFC 6455, 7.1.1), once what it wrote is out.
    this.#out.flush().finally(() => socket.close()).catch(() => {});
    this.#transport.closedCleanly();
  }

  /** The client vanished (end of stream, reset, silence after a ping): the app stops. */
  #gone(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#closing = true;
    this.#idle?.clear();
    clearTimeout(this.#closeTimer);
    this.#ws.gone(reason);
    this.#socket.close();
    this.#transport.peerGone(reason);
  }

  /** The idle timer: a quiet client is pinged; one that stays quiet after the ping is gone. */
  #idleCheck(): void {
    if (this.#done) return;
    if (this.#heard) {
      this.#heard = false;
      this.#pinged = false;
    } else if (!this.#pinged) {
      this.#pinged = true;
      if (!this.#closing) {
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
