/**
 * `Socket`: a connected socket over `Deno.Conn` (cogen's `cogen.core.sockets`).
 * `fill` and `watch` read into its one read buffer; the operations of
 * socket_ops.ts consume it. socket_listener.ts accepts connections.
 *
 * @module
 */
import type { Operation, OperationOptions } from "./operation.ts";
import { checkTimeout } from "./timeout.ts";
import {
  giveReadBuffer,
  idleReadView,
  READ_BUFFER_SIZE,
  takeReadBuffer,
  watchView,
} from "./socket_buffers.ts";
import { SocketListener } from "./socket_listener.ts";
import { SocketConnect, SocketRead, SocketSendFile, SocketWrite } from "./socket_ops.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Options of a {@linkcode Socket}. */
export interface SocketOptions {
  /**
   * The default timeout of this socket's operations, in ms (cogen's
   * `sockoper_timeout`); an operation's own `timeout` wins. Absent: the
   * scheduler's `defaultTimeout`.
   */
  timeout?: number;
  /** Size of the read buffer in bytes; it grows for long lines. Default 16 KiB. */
  bufferSize?: number;
}

/**
 * Told how a socket's watch read ended (see {@linkcode Socket.watchWith}).
 *
 * @example
 * ```ts
 * import type { SocketWatcher } from "@cogen/cogen/core";
 * const watcher: SocketWatcher = {
 *   watched(more) {
 *     if (!more) console.log("the peer left");
 *   },
 * };
 * ```
 */
export interface SocketWatcher {
  /** The read ended: `true` with bytes buffered, `false` at end of stream or when it failed. */
  watched(more: boolean): void;
}

/**
 * A connected socket: operations to read and write it from coroutines.
 *
 * @example
 * ```ts
 * import { Scheduler, Socket } from "@cogen/cogen/core";
 * const server = Socket.listen({ hostname: "127.0.0.1", port: 0 });
 * const sched = new Scheduler();
 * sched.add(function* () {
 *   const conn = yield* server.accept({ timeout: 5000 });
 *   const line = yield* conn.readline(1024);
 *   yield* conn.write(line); // echo it
 *   conn.close();
 *   server.close();
 * });
 * const client = sched.add(function* () {
 *   const sock = yield* Socket.connect({ hostname: "127.0.0.1", port: server.port });
 *   yield* sock.write("hello\n");
 *   const echoed = new TextDecoder().decode(yield* sock.read(1024));
 *   sock.close();
 *   return echoed;
 * });
 * await sched.run();
 * client.result; // "hello\n"
 * ```
 */
export class Socket {
  /** The connection. */
  readonly conn: Deno.Conn;
  /** The default timeout of operations (ms), or `undefined` for the scheduler's. */
  readonly timeout: number | undefined;
  /** The read buffer: `EMPTY` while it holds nothing and no read is under way (see socket_buffers.ts). */
  #buf: Uint8Array = EMPTY;
  /** Whether `#buf` came from `takeReadBuffer` (and goes back with `giveReadBuffer`). */
  #pooled = false;
  readonly #size: number;
  #start = 0;
  #end = 0;
  #eof = false;
  #closed = false;
  #filling: Promise<boolean> | null = null;
  /** Told when the pending watch read ends (see `watchWith`). */
  #watcher: SocketWatcher | null = null;

  /** Wraps `conn`. */
  constructor(conn: Deno.Conn, options: SocketOptions = {}) {
    this.conn = conn;
    this.timeout = checkTimeout("Socket", options.timeout);
    const size = options.bufferSize ?? READ_BUFFER_SIZE;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Socket: bufferSize must be an integer >= 1, got ${String(size)}`);
    }
    this.#size = size;
  }

  /**
   * Listens on a TCP address (`{ hostname, port }`, port 0 picks one), over
   * TLS when `cert` and `key` (PEM text) are given, or on a Unix socket
   * (`{ path }`). A TLS socket's handshake happens with its first read.
   */
  static listen(
    options:
      | Deno.TcpListenOptions
      | (Deno.TcpListenOptions & Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem)
      | {
        path: string;
      },
    socketOptions?: SocketOptions,
  ): SocketListener {
    const listener = "path" in options
      ? Deno.listen({ transport: "unix", path: options.path })
      : "cert" in options
      ? Deno.listenTls({ ...options, transport: "tcp" })
      : Deno.listen({ ...options, transport: "tcp" });
    return new SocketListener(listener, socketOptions);
  }

  /** An operation that connects to a TCP address or a Unix socket (`{ path }`). */
  static connect(
    options: Deno.ConnectOptions | { path: string },
    opOptions?: OperationOptions & SocketOptions,
  ): Operation<Socket> {
    return new SocketConnect(options, opOptions, (conn) => new Socket(conn, opOptions));
  }

  /** Whether the peer has closed its side and every byte was read. */
  get eof(): boolean {
    return this.#eof && this.#start === this.#end;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The read buffer: bytes `[start, end)` were read and not consumed yet. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Where the unconsumed bytes start in `buffer`. */
  get start(): number {
    return this.#start;
  }

  /** Where they end. */
  get end(): number {
    return this.#end;
  }

  /** The unconsumed bytes read from the connection: a view, valid until consumed or more is read. */
  buffered(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Marks `n` buffered bytes as consumed. */
  consume(n: number): void {
    this.#start = Math.min(this.#start + n, this.#end);
    // Give back an empty buffer, unless a read is under way: it writes into it.
    if (this.#start === this.#end && this.#filling === null) this.#release();
  }

  /**
   * Reads more bytes into the buffer (at most one `conn.read`; concurrent
   * calls share it). Resolves `false` at end of stream.
   */
  fill(): Promise<boolean> {
    if (this.#filling !== null) return this.#filling;
    if (this.#eof) return Promise.resolve(false);
    if (this.#buf === EMPTY) {
      if (this.#size !== READ_BUFFER_SIZE) this.#buf = new Uint8Array(this.#size);
      else {
        // Hundreds of connections reading at once (idle keep-alives after a long-poll wake-up,
        // say): a small read each costs far less than 16 KiB each.
        const buf = takeReadBuffer();
        if (buf === undefined) return this.#readSmall(idleReadView());
        this.#buf = buf;
        this.#pooled = true;
      }
    } else if (this.#end === this.#buf.length) this.#makeRoom();
    // The whole buffer when it is empty (the usual case: a request was consumed): no view to make.
    const into = this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end);
    const filling = this.conn.read(into).then(
      (n) => {
        this.#filling = null;
        if (n === null) {
          this.#eof = true;
          if (this.#start === this.#end) this.#release();
          return false;
        }
        this.#end += n;
        if (this.#closed) this.#release();
        return true;
      },
      (error) => {
        this.#filling = null;
        this.#release();
        throw error;
      },
    );
    this.#filling = filling;
    return filling;
  }

  /**
   * Like {@linkcode Socket.fill}, for a socket that is only watched (its
   * owner is waiting on something else and wants to notice the peer leaving):
   * with nothing buffered, the pending read holds a 64-byte buffer instead of
   * a read buffer, and the bytes it gets move to a read buffer when it ends.
   */
  watch(): Promise<boolean> {
    if (this.#filling !== null || this.#eof || this.#start !== this.#end) return this.fill();
    this.#release();
    return this.#readSmall(watchView());
  }

  /**
   * Like {@linkcode Socket.watch}, but tells `watcher` how the read ended
   * instead of returning a promise: `watched(true)` with bytes buffered,
   * `watched(false)` at end of stream or when the read failed. A socket held
   * idle for minutes (a long poll) then carries no promise chain of its
   * watcher's on top of the read's.
   */
  watchWith(watcher: SocketWatcher): void {
    if (this.#filling !== null || this.#eof || this.#start !== this.#end) {
      this.fill().then((more) => watcher.watched(more), () => watcher.watched(false));
      return;
    }
    this.#release();
    this.#watcher = watcher;
    this.#readSmall(watchView());
  }

  /** Tells the watcher, if any, how the watch read ended; returns `more`. */
  #settleWatch(more: boolean): boolean {
    const watcher = this.#watcher;
    if (watcher !== null) {
      this.#watcher = null;
      watcher.watched(more);
    }
    return more;
  }

  /** A read into `small`, a new small view, whose bytes then move to a read buffer. */
  #readSmall(small: Uint8Array): Promise<boolean> {
    const filling = this.conn.read(small).then(
      (n) => {
        this.#filling = null;
        if (n === null) {
          this.#eof = true;
          return this.#settleWatch(false);
        }
        if (this.#buf === EMPTY) {
          const buf = takeReadBuffer();
          if (buf === undefined) {
            // Still none to spare: the small array becomes the read buffer (it grows if a head needs more).
            this.#buf = small;
            this.#end = n;
            return this.#settleWatch(true);
          }
          this.#buf = buf;
          this.#pooled = true;
        }
        if (this.#buf.length - this.#end < n) this.#makeRoom();
        this.#buf.set(small.subarray(0, n), this.#end);
        this.#end += n;
        if (this.#closed) this.#release();
        return this.#settleWatch(true);
      },
      (error) => {
        this.#filling = null;
        // A watched read that fails tells its watcher (the peer is as good as gone) and resolves false:
        // no one else need be listening for the rejection.
        if (this.#watcher !== null) return this.#settleWatch(false);
        throw error;
      },
    );
    this.#filling = filling;
    return filling;
  }

  /** Writes all of `data` (strings as UTF-8); no operation, just a promise. */
  async writeAll(data: Uint8Array | string, onProgress?: () => void): Promise<number> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) {
      written += await this.conn.write(written === 0 ? bytes : bytes.subarray(written));
      onProgress?.();
    }
    return written;
  }

  /**
   * An operation that reads up to `n` bytes: what is buffered, else waits for
   * data. At end of stream it returns an empty array.
   */
  read(n = 65536, options?: OperationOptions): Operation<Uint8Array> {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Socket.read: n must be an integer >= 1, got ${n}`);
    }
    return new SocketRead(this, n, false, options);
  }

  /**
   * An operation that reads one line, up to and including `\n` (at end of
   * stream: what is left, possibly empty). More than `limit` bytes without a
   * line end throws {@linkcode LineTooLong} into the coroutine.
   */
  readline(limit = 65536, options?: OperationOptions): Operation<Uint8Array> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Socket.readline: limit must be an integer >= 1, got ${limit}`);
    }
    return new SocketRead(this, limit, true, options);
  }

  /** An operation that writes all of `data` (strings as UTF-8); returns the bytes written. */
  write(data: Uint8Array | string, options?: OperationOptions): Operation<number> {
    return new SocketWrite(this, data, options);
  }

  /** cogen's name for {@linkcode Socket.write}. */
  sendAll(data: Uint8Array | string, options?: OperationOptions): Operation<number> {
    return this.write(data, options);
  }

  /**
   * An operation that sends `length` bytes of `file` from `offset` (default:
   * from 0 to its end), `blockSize` bytes at a time; returns the bytes sent.
   */
  sendFile(
    file: Deno.FsFile,
    options: OperationOptions & { offset?: number; length?: number; blockSize?: number } = {},
  ): Operation<number> {
    return new SocketSendFile(this, file, options);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A pending read still writes into the buffer: it is released when that read ends.
    if (this.#filling === null) this.#release();
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer or the runtime: nothing left to release.
    }
  }

  /** @ignore Buffered line end search for `readline`: the line's length, or -1. */
  lineLength(limit: number): number {
    const buf = this.#buf;
    const stop = Math.min(this.#end, this.#start + limit);
    const i = buf.indexOf(10, this.#start);
    return i >= 0 && i < stop ? i + 1 - this.#start : -1;
  }

  /** Copies and consumes `n` buffered bytes. */
  take(n: number): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.consume(n);
    return out;
  }

  /** Returns an empty read buffer to the pool (a pool-sized one) and holds none. */
  #release(): void {
    const buf = this.#buf;
    this.#start = this.#end = 0;
    if (buf === EMPTY) return;
    this.#buf = EMPTY;
    if (this.#pooled) {
      this.#pooled = false;
      giveReadBuffer(buf);
    }
  }

  #makeRoom(): void {
    const pending = this.#end - this.#start;
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf.subarray(0, pending));
      if (this.#pooled) {
        this.#pooled = false;
        giveReadBuffer(this.#buf);
      }
      this.#buf = bigger;
    }
    this.#start = 0;
    this.#end = pending;
  }
}
