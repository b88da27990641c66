/**
 * Byte buffers shared by every connection of the process: one pool of spare
 * 16 KiB buffers (the sockets' read buffers and the outputs' gathering
 * blocks), and slabs that small buffers are carved from. Only the mechanism
 * lives here; each user keeps its own policy (how many read buffers sockets
 * may hold, when an output gives back part of its range).
 *
 * @module
 */

/** The size of a pooled buffer: 16 KiB. */
export const POOLED_SIZE = 16 * 1024;

/**
 * How many spare buffers the pool keeps: 1024 for the outputs and 256 for
 * the sockets, as when each kept its own pool, so that no more memory is
 * held idle than before. Buffers given back past that are left to the
 * garbage collector.
 */
const MAX_SPARE = 1024 + 256;

const spare: Uint8Array[] = [];
/** The fewest spare buffers since the last trim: that many sat in the pool unused all along. */
let lowWater = 0;

/**
 * A spare pooled buffer, or `undefined` when none is spare. Its bytes are
 * whatever its last user left there.
 *
 * @example
 * ```ts
 * import { giveBuffer, POOLED_SIZE, spareBuffer } from "./buffer_pool.ts";
 * const buf = spareBuffer() ?? new Uint8Array(POOLED_SIZE);
 * giveBuffer(buf);
 * ```
 */
export function spareBuffer(): Uint8Array | undefined {
  const buf = spare.pop();
  if (spare.length < lowWater) lowWater = spare.length;
  return buf;
}

/**
 * A pooled buffer: a spare one, or a new one when none is spare.
 *
 * @example
 * ```ts
 * import { giveBuffer, POOLED_SIZE, takeBuffer } from "./buffer_pool.ts";
 * const buf = takeBuffer();
 * buf.length === POOLED_SIZE; // true
 * giveBuffer(buf);
 * ```
 */
export function takeBuffer(): Uint8Array {
  return spareBuffer() ?? new Uint8Array(POOLED_SIZE);
}

/**
 * Gives a buffer back to the pool once nothing reads or writes it any more.
 * A buffer of another size, or one past the pool's limit, is dropped.
 *
 * @example
 * ```ts
 * import { giveBuffer, takeBuffer } from "./buffer_pool.ts";
 * giveBuffer(takeBuffer());
 * ```
 */
export function giveBuffer(buf: Uint8Array): void {
  if (buf.length === POOLED_SIZE && spare.length < MAX_SPARE) spare.push(buf);
}

/**
 * Lets go of the spare buffers no one took since the last trim (the pool
 * had that many more than it needed all along), and returns how many. A
 * server calls it now and then (once a second): after a burst of
 * connections, the buffers it needed go back to the garbage collector
 * instead of staying pooled for good.
 *
 * @example
 * ```ts
 * import { giveBuffer, takeBuffer, trimSpareBuffers } from "./buffer_pool.ts";
 * giveBuffer(takeBuffer());
 * trimSpareBuffers(); // the first trim only starts counting…
 * trimSpareBuffers(); // …the second lets go of what no one took meanwhile
 * ```
 */
export function trimSpareBuffers(): number {
  const unused = lowWater;
  // The ones at the bottom of the stack: buffers are taken from the top.
  if (unused > 0) spare.splice(0, unused);
  lowWater = spare.length;
  return unused;
}

/**
 * Carves small buffers out of shared arrays ("slabs") of `size` bytes, one
 * after another: thousands of small buffers alive at once then cost a view
 * (or a range) of one array each, not a zeroed array each (an array costs
 * about 300 bytes more, in the heap and in native memory). A slab is
 * dropped, and collected once nothing refers to it, when the next range
 * does not fit; a range outliving its neighbours keeps at most its own slab.
 *
 * Each user has its own carver, so that short-lived ranges (an output's) do
 * not share a slab with long-lived ones (a watched socket's) and keep it
 * alive.
 *
 * @example
 * ```ts
 * import { SlabCarver } from "./buffer_pool.ts";
 * const carver = new SlabCarver(4096);
 * const a = carver.view(64);
 * const b = carver.view(64);
 * a.buffer === b.buffer; // true: one slab
 * b.byteOffset - a.byteOffset; // 64
 * ```
 */
export class SlabCarver {
  /** The size of each slab. */
  readonly size: number;
  #slab: Uint8Array;
  #used = 0;

  /**
   * A carver of `size`-byte slabs.
   *
   * @throws {RangeError} when `size` is not an integer >= 1.
   */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`SlabCarver: size must be an integer >= 1, got ${String(size)}`);
    }
    this.size = size;
    this.#slab = new Uint8Array(size);
  }

  /** The slab that ranges are carved from now (a new one after `reserve` found no room). */
  get slab(): Uint8Array {
    return this.#slab;
  }

  /**
   * Reserves the next `n` bytes (`n` ≤ `size`) and returns where they start
   * in {@linkcode SlabCarver.slab}, which is a new slab when the current one
   * had no room.
   *
   * @example
   * ```ts
   * import { SlabCarver } from "./buffer_pool.ts";
   * const carver = new SlabCarver(1024);
   * const start = carver.reserve(100);
   * const range = carver.slab.subarray(start, start + 100);
   * range.length; // 100
   * ```
   */
  reserve(n: number): number {
    if (this.size - this.#used < n) {
      this.#slab = new Uint8Array(this.size);
      this.#used = 0;
    }
    const start = this.#used;
    this.#used = start + n;
    return start;
  }

  /** A view of the next `n` bytes (`n` ≤ `size`): {@linkcode SlabCarver.reserve} as a view. */
  view(n: number): Uint8Array {
    const start = this.reserve(n);
    return this.#slab.subarray(start, start + n);
  }

  /**
   * Takes back the bytes from `from` to `end` of `slab`, if that range is the
   * newest of the current slab: the next `reserve` hands them out again.
   * Otherwise does nothing (a newer range follows, or the slab was dropped).
   *
   * @example
   * ```ts
   * import { SlabCarver } from "./buffer_pool.ts";
   * const carver = new SlabCarver(1024);
   * const start = carver.reserve(256);
   * carver.giveBack(carver.slab, start + 10, start + 256); // only 10 bytes were used
   * carver.reserve(1) === start + 10; // true
   * ```
   */
  giveBack(slab: Uint8Array, from: number, end: number): void {
    if (slab === this.#slab && end === this.#used) this.#used = from;
  }
}
