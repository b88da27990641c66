/**
 * The operations on a connected socket — `read`, `readline`, `write` and
 * `sendFile` — and `connect`, with cogen's weak timeouts: the timer restarts
 * whenever data moves, so a slow but live peer is not cut, while a silent
 * one is. A read that is abandoned (timeout, cancel, lost race) leaves what
 * arrives buffered for the next read; a write that is abandoned closes the
 * socket, because the peer may have received part of it and the stream can
 * no longer be framed.
 *
 * They use a socket only through {@linkcode SocketIO}, which `Socket`
 * satisfies: socket.ts makes these operations, so this file does not import
 * it.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";

const EMPTY = new Uint8Array(0);

/**
 * What the socket operations use of a socket (`Socket` implements it).
 *
 * @example
 * ```ts
 * import { Socket } from "@cogen/cogen/core";
 * import type { SocketIO } from "./socket_ops.ts";
 * function reader(socket: Socket): SocketIO {
 *   return socket;
 * }
 * ```
 */
export interface SocketIO {
  /** The socket's default operation timeout (ms), or `undefined` for the scheduler's. */
  readonly timeout: number | undefined;
  /** The bytes read and not consumed yet. */
  buffered(): Uint8Array;
  /** The length of the buffered line (with its `\n`) if it ends within `limit` bytes, else -1. */
  lineLength(limit: number): number;
  /** Copies and consumes `n` buffered bytes. */
  take(n: number): Uint8Array;
  /** Reads more bytes into the buffer; `false` at end of stream. */
  fill(): Promise<boolean>;
  /** Writes all of `data`; `onProgress` after each partial write. */
  writeAll(data: Uint8Array | string, onProgress?: () => void): Promise<number>;
  /** Closes the connection. */
  close(): void;
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

/** @ignore Base of the socket operations: runs an async body, delivers unless stale. */
export abstract class SocketOperation<T> extends Operation<T> {
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

/** @ignore `Socket.read` and `Socket.readline`. */
export class SocketRead extends SocketOperation<Uint8Array> {
  constructor(
    readonly socket: SocketIO,
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

/** @ignore `Socket.write`. */
export class SocketWrite extends SocketOperation<number> {
  constructor(readonly socket: SocketIO, readonly data: Uint8Array | string, options?: OperationOptions) {
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

/** @ignore `Socket.sendFile`. */
export class SocketSendFile extends SocketOperation<number> {
  readonly offset: number;
  readonly length: number;
  readonly blockSize: number;

  constructor(
    readonly socket: SocketIO,
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

/** @ignore `Socket.connect`: connects, then `wrap` makes the socket. */
export class SocketConnect<S> extends SocketOperation<S> {
  constructor(
    readonly options: Deno.ConnectOptions | { path: string },
    opOptions: OperationOptions | undefined,
    readonly wrap: (conn: Deno.Conn) => S,
  ) {
    super("Socket.connect", opOptions, undefined);
  }

  protected async perform(live: () => boolean): Promise<S> {
    const conn = "path" in this.options
      ? await Deno.connect({ transport: "unix", path: this.options.path })
      : await Deno.connect(this.options);
    if (!live()) {
      // Timed out or cancelled meanwhile: nobody will use this connection.
      conn.close();
      throw new Error("Socket.connect: abandoned");
    }
    return this.wrap(conn);
  }

  override toString(): string {
    return "path" in this.options
      ? `Socket.connect(${this.options.path})`
      : `Socket.connect(${this.options.hostname ?? "127.0.0.1"}:${this.options.port})`;
  }
}
