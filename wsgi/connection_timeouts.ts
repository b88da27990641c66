/**
 * A connection's timeouts, as the server's {@linkcode StallWatch} sees them:
 * its reads (the next head within `headersTimeout`, an idle keep-alive
 * within `keepAliveTimeout`, a body read within `sockoperTimeout`) and its
 * writes (no progress for `sockoperTimeout`). Arming one is a field store;
 * the watch looks at every connection once a period.
 *
 * @module
 */
import type { ResolvedLimits } from "./options.ts";
import type { OutputWatchdog } from "./output.ts";
import type { Stallable, StallWatch } from "./stall_watch.ts";

/** What the timeouts act on. */
export interface TimedConnection {
  /** A read waited too long (see {@linkcode ConnectionTimeouts.readWait}). */
  readTimedOut(): void;
  /** A write made no progress for too long, or failed: the connection cannot go on. */
  writeFailed(): void;
  /** Whether a write is under way. */
  readonly flushing: boolean;
}

/**
 * The read and write timeouts of one connection.
 *
 * @example
 * ```ts ignore
 * const timeouts = new ConnectionTimeouts(connection, server.stallWatch, server.limits);
 * timeouts.readWait(limits.headersTimeout); // the next head must come within it
 * ```
 */
export class ConnectionTimeouts implements Stallable, OutputWatchdog {
  readonly #connection: TimedConnection;
  readonly #watch: StallWatch;
  readonly #limits: ResolvedLimits;
  /** @ignore For the stall watch: ms the read under way may make no progress (0: no read is timed). */
  stallTimeout = 0;
  /** @ignore For the stall watch: changes whenever a read wait begins or starts over. */
  stallMark = 0;
  /** How many body reads are waiting on the socket-operation timeout. */
  #bodyReads = 0;
  /** Writes begun and progress made (the write stall's mark). */
  #writes = 0;
  /** The writes as the stall watch sees them, made at the first write. */
  #writeStall: WriteStall | null = null;
  /** @ignore The stall watch's bookkeeping (see `Stallable`). */
  watchSlot = -1;
  /** @ignore */
  seenMark = 0;
  /** @ignore */
  seenChecks = 0;

  /** The timeouts of `connection`, watched by `watch`. */
  constructor(connection: TimedConnection, watch: StallWatch, limits: ResolvedLimits) {
    this.#connection = connection;
    this.#watch = watch;
    this.#limits = limits;
  }

  /** The connection's reads are watched from now on. */
  start(): void {
    this.#watch.add(this);
  }

  /** Nothing is watched any more (the connection is closing). */
  stop(): void {
    this.stallTimeout = 0;
    this.#watch.remove(this);
    if (this.#writeStall !== null) this.#watch.remove(this.#writeStall);
  }

  /** A read wait of `timeout` ms begins (or starts over): the watch counts from now. */
  readWait(timeout: number): void {
    this.stallTimeout = timeout;
    this.stallMark++;
  }

  /** No read is timed any more. */
  readDone(): void {
    this.stallTimeout = 0;
  }

  /** A body read begins waiting on the socket (`true`), or stops (`false`): `sockoperTimeout` runs meanwhile. */
  bodyRead(waiting: boolean): void {
    if (waiting) {
      if (this.#bodyReads++ === 0) this.readWait(this.#limits.sockoperTimeout);
    } else if (--this.#bodyReads === 0) this.stallTimeout = 0;
  }

  /** Whether a body read is waiting on the socket. */
  get readingBody(): boolean {
    return this.#bodyReads > 0;
  }

  /** @ignore For the stall watch: the read waited too long. */
  stalled(): void {
    this.stallTimeout = 0;
    this.#connection.readTimedOut();
  }

  /** @ignore For the output: a write began (`true`); its stall time counts from now. */
  writing(active: boolean): void {
    if (!active) return;
    this.#writes++;
    if (this.#writeStall === null) {
      this.#writeStall = new WriteStall(this);
      this.#watch.add(this.#writeStall);
    }
  }

  /** @ignore For the output: a write moved bytes; its stall time starts over. */
  progressed(): void {
    this.#writes++;
  }

  /** @ignore For the output: a write failed. */
  writeFailed(): void {
    this.#connection.writeFailed();
  }

  /** @ignore For the write stall: changes when a write begins or moves bytes. */
  get writeMark(): number {
    return this.#writes;
  }

  /** @ignore For the write stall: ms the write under way may move nothing (0 while none is). */
  get writeTimeout(): number {
    return this.#connection.flushing ? this.#limits.sockoperTimeout : 0;
  }
}

/** A connection's writes as the stall watch sees them: a write may move nothing for `sockoperTimeout`. */
class WriteStall implements Stallable {
  watchSlot = -1;
  seenMark = 0;
  seenChecks = 0;
  readonly #timeouts: ConnectionTimeouts;

  constructor(timeouts: ConnectionTimeouts) {
    this.#timeouts = timeouts;
  }

  get stallTimeout(): number {
    return this.#timeouts.writeTimeout;
  }

  get stallMark(): number {
    return this.#timeouts.writeMark;
  }

  stalled(): void {
    this.#timeouts.writeFailed();
  }
}
