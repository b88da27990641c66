/**
 * `SocketListener`: a listening socket whose `accept` is an operation.
 *
 * It and socket.ts import each other, as their public API refers to each
 * other: `Socket.listen` makes a listener, whose `accept` makes sockets.
 *
 * @module
 */
import { Operation, type OperationOptions, type Waiter } from "./operation.ts";
import { Socket, type SocketOptions } from "./socket.ts";

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

/** The operation of `SocketListener.accept`. */
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
