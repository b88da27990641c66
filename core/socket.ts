/**
 * Socket operations over `Deno.Conn` (cogen's `cogen.core.sockets`): accept,
 * connect, read, readline, write (sendAll) and sendFile, as operations with
 * cogen's weak timeouts — the timer restarts whenever data moves, so a slow
 * but live peer is not cut, while a silent one is.
 *
 * A `Socket` keeps one read buffer. A read that is abandoned (timeout, cancel,
 * lost race) leaves whatever arrives in that buffer for the next read: nothing
 * is lost. A write that is abandoned closes the socket, because the peer may
 * have received part of it and the stream can no longer be framed.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { checkTimeout } from "./timeout.ts";
import { giveBuffer, POOLED_SIZE, SlabCarver, takeBuffer } from "./buffer_pool.ts";

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
 * Thrown into the coroutine by `readline(limit)` when no line end comes within
 * `limit` bytes. The bytes stay buffered.
 *
 * @example
 * ```ts
 * import { LineTooLong } from "@cogen/cogen/core";
 * new LineTooLong(8192).message; // "Socket.readline: no line end within 8192 bytes; ..."
 * ```
 */
export class LineTooLong extends Error {
  /** The limit that was exceeded. */
  readonly limit: number;
  /** Creates the error for `limit`. */
  constructor(limit: number) {
    super(
      `Socket.readline: no line end within ${limit} bytes; raise the limit or read the data with read(n)`,
    );
    this.name = "LineTooLong";
    this.limit = limit;
  }
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** The default read buffer size: the shared pool's. */
const BUFFER_SIZE = POOLED_SIZE;
/**
 * Read buffers of the default size held by sockets now. A socket holds one
 * only while it has unread bytes or a read under way, so thousands of parked
 * connections do not each keep 16 KiB; past `MAX_IN_USE`, reads go small.
 */
let buffersInUse = 0;
const MAX_IN_USE = 256;

/** A read buffer from the shared pool, or `undefined` when sockets hold `MAX_IN_USE` already. */
function takeReadBuffer(): Uint8Array | undefined {
  if (buffersInUse >= MAX_IN_USE) return undefined;
  buffersInUse++;
  return takeBuffer();
}

/** Gives back a buffer from `takeReadBuffer`. */
function giveReadBuffer(buf: Uint8Array): void {
  buffersInUse--;
  giveBuffer(buf);
}
/** The size of the read that only watches for the peer leaving (or sending) while nothing is buffered. */
const WATCH_SIZE = 64;
/** The size of a read made when no spare read buffer is left (most request heads fit). */
const IDLE_READ_SIZE = 512;
/**
 * Small reads (a watch, or a read made when no read buffer is spare) read
 * into views of 4 KiB slabs: ten thousand parked connections then hold a
 * 64-byte view each, not an array each.
 */
const smallReads = new SlabCarver(4096);

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
  /** The read buffer: `EMPTY` while it holds nothing and no read is under way (see `buffersInUse`). */
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
    const size = options.bufferSize ?? BUFFER_SIZE;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Socket: bufferSize must be an integer >= 1, got ${String(size)}`);
    }
    this.#size = size;
  }

  /**
   * Listens on a TCP address (`{ hostname, port }`, port 0 picks one) or a
   * Unix socket (`{ path }`).
   */
  static listen(
    options: Deno.TcpListenOptions | { path: string },
    socketOptions?: SocketOptions,
  ): SocketListener {
    const listener = "path" in options
      ? Deno.listen({ transport: "unix", path: options.path })
      : Deno.listen({ ...options, transport: "tcp" });
    return new SocketListener(listener, socketOptions);
  }

  /** An operation that connects to a TCP address or a Unix socket (`{ path }`). */
  static connect(
    options: Deno.ConnectOptions | { path: string },
    opOptions?: OperationOptions & SocketOptions,
  ): Operation<Socket> {
    return new SocketConnect(options, opOptions);
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
      if (this.#size !== BUFFER_SIZE) this.#buf = new Uint8Array(this.#size);
      else {
        // Hundreds of connections reading at once (idle keep-alives after a long-poll wake-up,
        // say): a small read each costs far less than 16 KiB each.
        const buf = takeReadBuffer();
        if (buf === undefined) return this.#readSmall(IDLE_READ_SIZE);
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
    return this.#readSmall(WATCH_SIZE);
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
    this.#readSmall(WATCH_SIZE);
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

  /** A read into a new `size`-byte view whose bytes then move to a read buffer. */
  #readSmall(size: number): Promise<boolean> {
    const small = smallReads.view(size);
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

/**
 * A listening socket: `accept` is an operation.
 *
 * @example
 * ```ts
 * import { Socket } from "@cogen/cogen/core";
 * const server = Socket.listen({ hostname: "127.0.0.1", port: 0 });
 * server.port > 0; // true
 * server.close();
 * ```
 */
export class SocketListener {
  /** The listener. */
  readonly listener: Deno.Listener;
  #options: SocketOptions | undefined;
  #spare: Promise<Deno.Conn>[] = [];

  /** Wraps `listener`; accepted sockets get `socketOptions`. */
  constructor(listener: Deno.Listener, socketOptions?: SocketOptions) {
    this.listener = listener;
    this.#options = socketOptions;
  }

  /** The bound address. */
  get addr(): Deno.Addr {
    return this.listener.addr;
  }

  /** The bound TCP port (0 for a Unix socket). */
  get port(): number {
    const addr = this.listener.addr;
    return addr.transport === "tcp" ? addr.port : 0;
  }

  /**
   * An operation that waits for the next connection. An accept abandoned (a
   * timeout, a cancel) hands the connection it was waiting for to the next
   * `accept`: none is lost.
   */
  accept(options?: OperationOptions): Operation<Socket> {
    return new SocketAccept(this, options);
  }

  /** @ignore A pending accept: one an abandoned `accept` left, or a new one. */
  pending(): Promise<Deno.Conn> {
    return this.#spare.shift() ?? this.listener.accept();
  }

  /** @ignore Keeps the pending accept of an abandoned `accept` for the next one. */
  giveBack(accepting: Promise<Deno.Conn>): void {
    this.#spare.push(accepting);
  }

  /** @ignore Wraps an accepted connection. */
  wrap(conn: Deno.Conn): Socket {
    return new Socket(conn, this.#options);
  }

  /** Stops listening (idempotent). */
  close(): void {
    try {
      this.listener.close();
    } catch {
      // Already closed.
    }
  }
}

/** Base of the socket operations: runs an async body, delivers unless stale. */
abstract class SocketOperation<T> extends Operation<T> {
  constructor(where: string, options: OperationOptions | undefined, socketTimeout: number | undefined) {
    super();
    this.timeout = socketTimeout;
    this.applyOptions(where, options);
  }

  start(waiter: Waiter<T>): void {
    const epoch = waiter.epoch;
    const live = () => waiter.epoch === epoch;
    this.perform(live, () => live() && waiter.touch()).then(
      (value) => live() && waiter.resolve(value),
      (error) => live() && waiter.reject(error),
    );
  }

  /** The operation's work; `touch()` reports progress (restarts the weak timeout). */
  protected abstract perform(live: () => boolean, touch: () => void): Promise<T>;
}

class SocketRead extends SocketOperation<Uint8Array> {
  constructor(
    readonly socket: Socket,
    readonly n: number,
    readonly line: boolean,
    options?: OperationOptions,
  ) {
    super(line ? "Socket.readline" : "Socket.read", options, socket.timeout);
  }

  protected async perform(live: () => boolean, touch: () => void): Promise<Uint8Array> {
    const socket = this.socket;
    for (;;) {
      const available = socket.buffered().length;
      if (this.line) {
        const length = socket.lineLength(this.n);
        if (length >= 0) return socket.take(length);
        if (available >= this.n) throw new LineTooLong(this.n);
      } else if (available > 0) return socket.take(Math.min(available, this.n));
      const more = await socket.fill();
      // Abandoned meanwhile: leave the bytes buffered for the next read.
      if (!live()) return EMPTY;
      if (!more) return socket.take(socket.buffered().length);
      touch();
    }
  }

  override toString(): string {
    return this.line ? `Socket.readline(${this.n})` : `Socket.read(${this.n})`;
  }
}

class SocketWrite extends SocketOperation<number> {
  constructor(readonly socket: Socket, readonly data: Uint8Array | string, options?: OperationOptions) {
    super("Socket.write", options, socket.timeout);
  }

  protected perform(_live: () => boolean, touch: () => void): Promise<number> {
    return this.socket.writeAll(this.data, touch);
  }

  override withdraw(): void {
    this.socket.close();
  }

  override toString(): string {
    return "Socket.write";
  }
}

class SocketSendFile extends SocketOperation<number> {
  readonly offset: number;
  readonly length: number;
  readonly blockSize: number;

  constructor(
    readonly socket: Socket,
    readonly file: Deno.FsFile,
    options: OperationOptions & { offset?: number; length?: number; blockSize?: number },
  ) {
    super("Socket.sendFile", options, socket.timeout);
    this.offset = options.offset ?? 0;
    this.length = options.length ?? Infinity;
    this.blockSize = options.blockSize ?? 64 * 1024;
    for (const [name, value] of [["offset", this.offset], ["blockSize", this.blockSize]] as const) {
      if (!Number.isInteger(value) || value < (name === "offset" ? 0 : 1)) {
        throw new RangeError(
          `Socket.sendFile: ${name} must be an integer >= ${name === "offset" ? 0 : 1}, got ${value}`,
        );
      }
    }
    if (!(this.length >= 0)) throw new RangeError(`Socket.sendFile: length must be >= 0, got ${this.length}`);
  }

  protected async perform(live: () => boolean, touch: () => void): Promise<number> {
    await this.file.seek(this.offset, Deno.SeekMode.Start);
    const block = new Uint8Array(this.blockSize);
    let sent = 0;
    while (sent < this.length && live()) {
      const want = Math.min(block.length, this.length - sent);
      const n = await this.file.read(block.subarray(0, want));
      if (n === null) break;
      await this.socket.writeAll(block.subarray(0, n), touch);
      sent += n;
    }
    return sent;
  }

  override withdraw(): void {
    this.socket.close();
  }

  override toString(): string {
    return "Socket.sendFile";
  }
}

class SocketAccept extends Operation<Socket> {
  constructor(readonly server: SocketListener, options?: OperationOptions) {
    super();
    this.applyOptions("SocketListener.accept", options);
  }

  start(waiter: Waiter<Socket>): void {
    const accepting = this.server.pending();
    const epoch = waiter.epoch;
    waiter.item = accepting;
    accepting.then(
      (conn) => waiter.epoch === epoch && waiter.resolve(this.server.wrap(conn)),
      (error) => waiter.epoch === epoch && waiter.reject(error),
    );
  }

  /** The connection this accept waits for goes to the next accept. */
  override withdraw(waiter: Waiter<Socket>): void {
    this.server.giveBack(waiter.item as Promise<Deno.Conn>);
  }

  override toString(): string {
    return "SocketListener.accept";
  }
}

class SocketConnect extends SocketOperation<Socket> {
  constructor(
    readonly options: Deno.ConnectOptions | { path: string },
    readonly socketOptions?: OperationOptions & SocketOptions,
  ) {
    super("Socket.connect", socketOptions, undefined);
  }

  protected async perform(live: () => boolean): Promise<Socket> {
    const conn = "path" in this.options
      ? await Deno.connect({ transport: "unix", path: this.options.path })
      : await Deno.connect(this.options);
    if (!live()) {
      // Timed out or cancelled meanwhile: nobody will use this connection.
      conn.close();
      throw new Error("Socket.connect: abandoned");
    }
    return new Socket(conn, {
      timeout: this.socketOptions?.timeout,
      bufferSize: this.socketOptions?.bufferSize,
    });
  }

  override toString(): string {
    return "path" in this.options
      ? `Socket.connect(${this.options.path})`
      : `Socket.connect(${this.options.hostname ?? "127.0.0.1"}:${this.options.port})`;
  }
}
