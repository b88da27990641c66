/**
 * The sockets' read buffers: what a `Socket` reads into, and the
 * policy that keeps thousands of connections cheap. A socket holds a 16 KiB
 * buffer from the shared pool only while it has unread bytes or a read
 * under way, and sockets hold at most `MAX_IN_USE` at once; past that, and
 * for a read that only watches for the peer leaving, they read into small
 * views of shared slabs.
 *
 * @module
 */
import { giveBuffer, POOLED_SIZE, SlabCarver, takeBuffer } from "./buffer_pool.ts";

/**
 * The default read buffer size: the shared pool's, 16 KiB.
 *
 * @example
 * ```ts
 * import { READ_BUFFER_SIZE } from "./socket_buffers.ts";
 * READ_BUFFER_SIZE; // 16384
 * ```
 */
export const READ_BUFFER_SIZE = POOLED_SIZE;

/** Read buffers of the default size that sockets hold now. */
let buffersInUse = 0;
/** How many sockets may hold one at once: a burst of readers beyond that reads small. */
const MAX_IN_USE = 256;

/**
 * A read buffer from the shared pool, or `undefined` when sockets hold
 * `MAX_IN_USE` (256) already: then read small.
 *
 * @example
 * ```ts
 * import { giveReadBuffer, takeReadBuffer } from "./socket_buffers.ts";
 * const buf = takeReadBuffer();
 * if (buf !== undefined) giveReadBuffer(buf);
 * ```
 */
export function takeReadBuffer(): Uint8Array | undefined {
  if (buffersInUse >= MAX_IN_USE) return undefined;
  buffersInUse++;
  return takeBuffer();
}

/**
 * Gives back a buffer from {@linkcode takeReadBuffer} once nothing reads
 * into it and no unread byte is left in it.
 *
 * @example
 * ```ts
 * import { giveReadBuffer, takeReadBuffer } from "./socket_buffers.ts";
 * const buf = takeReadBuffer();
 * if (buf !== undefined) giveReadBuffer(buf);
 * ```
 */
export function giveReadBuffer(buf: Uint8Array): void {
  buffersInUse--;
  giveBuffer(buf);
}

/**
 * Small reads (a watch, or a read made when no read buffer is spare) read
 * into views of 4 KiB slabs: ten thousand parked connections then hold a
 * 64-byte view each, not an array each.
 */
const smallReads = new SlabCarver(4096);
/** The size of the read that only watches for the peer leaving (or sending) while nothing is buffered. */
const WATCH_SIZE = 64;
/** The size of a read made when no read buffer is spare (most request heads fit). */
const IDLE_READ_SIZE = 512;

/**
 * A new 64-byte view for a read that only watches for the peer leaving (or
 * sending) while nothing is buffered; its bytes move to a read buffer once
 * the read ends.
 *
 * @example
 * ```ts
 * import { watchView } from "./socket_buffers.ts";
 * watchView().length; // 64
 * ```
 */
export function watchView(): Uint8Array {
  return smallReads.view(WATCH_SIZE);
}

/**
 * A new 512-byte view for a read made when no read buffer is spare (most
 * request heads fit); its bytes move to a read buffer once the read ends.
 *
 * @example
 * ```ts
 * import { idleReadView } from "./socket_buffers.ts";
 * idleReadView().length; // 512
 * ```
 */
export function idleReadView(): Uint8Array {
  return smallReads.view(IDLE_READ_SIZE);
}
