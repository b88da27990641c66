/**
 * A connection's outgoing bytes: small pieces (a response head, short
 * chunks, chunk framing) are gathered into one buffer so that a response
 * usually leaves in one write; large chunks are written as they are, without
 * a copy. Writes happen one after another; a flush started while one is under
 * way joins it.
 *
 * @module
 */
import { giveBuffer, POOLED_SIZE, SlabCarver, spareBuffer, takeBuffer } from "../core/buffer_pool.ts";

const encoder = new TextEncoder();
/** Pieces at least this large are written directly rather than copied. */
const DIRECT = 16 * 1024;
/** Size of a gathering buffer: the shared pool's (idle connections hold none). */
const BLOCK = POOLED_SIZE;
/** Size of a gathering buffer carved from the slab when the pool is empty and the piece is small. */
const SMALL_BLOCK = 1024;

const RESOLVED = Promise.resolve();
/** The block slot of a queued piece that is the caller's own array (not copied). */
const BORROWED = new Uint8Array(0);

/**
 * Small gathering buffers are `SMALL_BLOCK`-byte ranges of 64 KiB slabs:
 * thousands of responses in flight at once (a long-poll wake-up) then cost
 * one array view each (made when the range is sealed), not one zeroed buffer
 * each. A range sealed while it is the newest gives back the bytes it did
 * not use, so short responses pack tightly.
 */
const smallBlocks = new SlabCarver(64 * 1024);

/**
 * What an {@linkcode Output} reports to: the owner of the socket, which
 * bounds how long a write may make no progress and closes the socket when
 * one fails.
 *
 * @example
 * ```ts
 * import type { OutputWatchdog } from "./output.ts";
 * const watchdog: OutputWatchdog = {
 *   writing(active) {
 *     console.log(active ? "a write began: start a timeout" : "all written: stop it");
 *   },
 *   progressed() {},
 *   writeFailed(error) {
 *     console.error("the client is gone:", error);
 *   },
 * };
 * ```
 */
export interface OutputWatchdog {
  /** Writing began (`true`), or everything queued is written or dropped (`false`). */
  writing(active: boolean): void;
  /** A write moved bytes and more is left: a write timeout starts over. */
  progressed(): void;
  /** A write failed: the connection cannot carry on (close it). */
  writeFailed(error: unknown): void;
}

/**
 * The outgoing side of a connection.
 *
 * @example
 * ```ts ignore
 * const out = new Output(conn);
 * out.latin1("HTTP/1.1 200 OK\r\n\r\n");
 * await out.flush();
 * ```
 */
export class Output {
  readonly #conn: Deno.Conn;
  /**
   * Full pieces waiting to be written, in order, each followed by the pool
   * block it is part of, `BORROWED` (the caller's own array) or null: one
   * array, grown once per connection and made at its first use (a held
   * connection that never wrote has none).
   */
  #queue: (Uint8Array | null)[] | null = null;
  /** The queue's live part is `[#queueHead, #queueEnd)`: taken by index, so the array never shifts or shrinks. */
  #queueHead = 0;
  #queueEnd = 0;
  /** The block slot of the piece `#takeGathered` returned last. */
  #gatheredSlot: Uint8Array | null = null;
  /** How many queued pieces are the caller's own arrays, not yet written. */
  #borrowed = 0;
  /**
   * The buffer being filled: a pooled block, a larger one, or a slab of
   * `smallBlocks` (`#small`), from `#base` (0 but in the slab) up to `#limit`; bytes
   * up to `#used` are filled. All three are positions in `#block`.
   */
  #block: Uint8Array | null = null;
  #small = false;
  #base = 0;
  #used = 0;
  #limit = 0;
  /** Bytes queued or gathered and not yet written. */
  #pending = 0;
  /** Whether a write is under way: `#piece` (from `#pieceBlock`) is being written, `#written` bytes so far. */
  #writing = false;
  #piece: Uint8Array | null = null;
  #pieceBlock: Uint8Array | null = null;
  #written = 0;
  /** What `flush()` callers wait on (made only when someone waits). */
  #flushed: PromiseWithResolvers<void> | null = null;
  /** The write's callbacks, made at the first write (a held connection that never wrote has none). */
  #onWritten: ((n: number) => void) | null = null;
  #onWriteFailed: ((error: unknown) => void) | null = null;
  #failed: unknown = null;
  /** Told when writing begins and ends, of progress, and of a failed write. */
  watchdog: OutputWatchdog | null = null;

  /** The output of `conn`. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Whether a large array from the caller (see {@linkcode Output.bytes}) is
   * queued and not yet written: until then the caller must not change it.
   */
  get holdsBorrowed(): boolean {
    return this.#borrowed > 0;
  }

  /** Whether a write is under way. */
  get flushing(): boolean {
    return this.#writing;
  }

  /** The error a write failed with, or `null`. */
  get failed(): unknown {
    return this.#failed;
  }

  /** Appends a string of code points <= 0xFF, one byte each (status lines, headers). */
  latin1(text: string): void {
    const n = text.length;
    const block = this.#room(n);
    let used = this.#used;
    if (n >= 32) {
      // The native encoder copies ASCII far faster than a loop; a byte above 0x7F (obs-text)
      // would come out as two UTF-8 bytes, so that rare text is copied again below, one byte each.
      const { read, written } = encoder.encodeInto(text, block.subarray(used, used + n));
      if (read === n && written === n) {
        this.#used = used + n;
        this.#pending += n;
        return;
      }
    }
    for (let i = 0; i < n; i++) block[used++] = text.charCodeAt(i);
    this.#used = used;
    this.#pending += n;
  }

  /** Appends a string as UTF-8; `byteLength` is its UTF-8 length. */
  utf8(text: string, byteLength: number): void {
    if (byteLength >= DIRECT) {
      this.#push(encoder.encode(text), null);
      return;
    }
    const block = this.#room(byteLength);
    const { written } = encoder.encodeInto(text, block.subarray(this.#used, this.#limit));
    this.#used += written;
    this.#pending += written;
  }

  /**
   * Appends bytes. Large ones are queued without a copy: do not change them
   * until written ({@linkcode Output.holdsBorrowed} says when).
   */
  bytes(data: Uint8Array): void {
    if (data.length >= DIRECT) {
      this.#push(data, BORROWED);
      return;
    }
    const block = this.#room(data.length);
    block.set(data, this.#used);
    this.#used += data.length;
    this.#pending += data.length;
  }

  /** Appends a non-negative integer in decimal. */
  decimal(n: number): void {
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    const block = this.#room(digits);
    let used = this.#used + digits;
    this.#used = used;
    this.#pending += digits;
    do {
      block[--used] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** Writes everything appended so far; resolves once it is written (or rejects if a write failed). */
  flush(): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (!this.#writing) {
      if (this.#pending === 0) return RESOLVED;
      this.#startWriting();
    }
    // Still writing (a write cannot finish synchronously): wait with whoever else flushes.
    this.#flushed ??= Promise.withResolvers<void>();
    return this.#flushed.promise;
  }

  /**
   * Starts writing everything appended so far and does not wait for it: a
   * write that fails is reported to the watchdog's `writeFailed` (and makes
   * later flushes reject). Appending more meanwhile is fine: it follows.
   */
  send(): void {
    if (this.#writing || this.#failed !== null || this.#pending === 0) return;
    this.#startWriting();
  }

  /** Forgets what was not written (the connection is closing). */
  discard(): void {
    this.#queue?.fill(null);
    this.#queueHead = this.#queueEnd = 0;
    this.#borrowed = 0;
    this.#release();
    this.#pending = 0;
  }

  // Writing is a chain of `conn.write(...).then(written, failed)` rather than an async loop: a small
  // response then costs one promise beyond the write's own, and no suspended frame.

  #startWriting(): void {
    this.#writing = true;
    this.watchdog?.writing(true);
    this.#writeNext();
  }

  /** Writes the next piece (queued ones first, then what is gathered), or ends the writing when none is left. */
  #writeNext(): void {
    const queue = this.#queue;
    if (queue !== null && this.#queueHead < this.#queueEnd) {
      const at = this.#queueHead;
      this.#piece = queue[at];
      this.#pieceBlock = queue[at + 1];
      queue[at] = queue[at + 1] = null;
      this.#queueHead = at + 2;
      if (at + 2 === this.#queueEnd) this.#queueHead = this.#queueEnd = 0;
    } else {
      const gathered = this.#takeGathered();
      if (gathered === null) {
        this.#writing = false;
        this.#piece = null;
        this.watchdog?.writing(false);
        const flushed = this.#flushed;
        this.#flushed = null;
        flushed?.resolve();
        return;
      }
      this.#piece = gathered;
      this.#pieceBlock = this.#gatheredSlot;
    }
    this.#written = 0;
    this.#write(this.#piece!);
  }

  #write(bytes: Uint8Array): void {
    let written: Promise<number>;
    try {
      written = this.#conn.write(bytes);
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(
      this.#onWritten ??= (n) => this.#wrote(n),
      this.#onWriteFailed ??= (error) => this.#writeFailed(error),
    );
  }

  /** `n` more bytes of the current piece were written. */
  #wrote(n: number): void {
    const piece = this.#piece!;
    this.#written += n;
    const more = this.#written < piece.length;
    // Progress restarts a write timeout: only worth a clock read when more is left to write.
    if (more || this.#queueHead < this.#queueEnd || this.#used > this.#base) this.watchdog?.progressed();
    if (more) {
      this.#write(piece.subarray(this.#written));
      return;
    }
    this.#pending -= piece.length;
    const block = this.#pieceBlock;
    this.#pieceBlock = null;
    if (block === BORROWED) this.#borrowed--;
    else if (block !== null) giveBuffer(block);
    this.#writeNext();
  }

  #writeFailed(error: unknown): void {
    this.#failed = error;
    this.#piece = null;
    this.#pieceBlock = null;
    this.discard();
    this.#writing = false;
    this.watchdog?.writing(false);
    this.watchdog?.writeFailed(error);
    const flushed = this.#flushed;
    this.#flushed = null;
    flushed?.reject(error);
  }

  /** Moves the gathering buffer, if used, to the write queue. */
  #seal(): void {
    const piece = this.#takeGathered();
    if (piece !== null) this.#enqueue(piece, this.#gatheredSlot);
  }

  /**
   * What is gathered, if anything, as a piece to write (its block slot in
   * `#gatheredSlot`), or null; the gathering buffer starts anew.
   */
  #takeGathered(): Uint8Array | null {
    const block = this.#block;
    if (block === null || this.#used === this.#base) return null;
    const piece = block.subarray(this.#base, this.#used);
    if (this.#small) {
      this.#gatheredSlot = null;
      this.#giveBackSmall(this.#used);
    } else this.#gatheredSlot = block.length === BLOCK ? block : null;
    this.#block = null;
    this.#small = false;
    this.#base = this.#used = this.#limit = 0;
    return piece;
  }

  #enqueue(piece: Uint8Array, slot: Uint8Array | null): void {
    const queue = this.#queue ??= [];
    queue[this.#queueEnd++] = piece;
    queue[this.#queueEnd++] = slot;
  }

  /** Takes a `SMALL_BLOCK`-byte range of a slab as the gathering buffer. */
  #takeSmall(): Uint8Array {
    const start = smallBlocks.reserve(SMALL_BLOCK);
    const slab = smallBlocks.slab;
    this.#block = slab;
    this.#small = true;
    this.#base = this.#used = start;
    this.#limit = start + SMALL_BLOCK;
    return slab;
  }

  /** Gives back the slab's bytes from `from` to the end of this range, if it is the newest range of the slab. */
  #giveBackSmall(from: number): void {
    smallBlocks.giveBack(this.#block!, from, this.#limit);
  }

  #push(data: Uint8Array, slot: Uint8Array | null): void {
    this.#seal();
    this.#enqueue(data, slot);
    if (slot === BORROWED) this.#borrowed++;
    this.#pending += data.length;
  }

  /** A gathering buffer with room for `n` more bytes (at `#used`). */
  #room(n: number): Uint8Array {
    const block = this.#block;
    if (block !== null) {
      if (this.#used + n <= this.#limit) return block;
      const gathered = this.#used - this.#base;
      if (this.#small && gathered + n <= BLOCK) {
        // A small range outgrown: move to a full block, so that what is gathered still leaves in one write.
        const full = takeBuffer();
        full.set(block.subarray(this.#base, this.#used));
        this.#giveBackSmall(this.#base);
        this.#block = full;
        this.#small = false;
        this.#base = 0;
        this.#used = gathered;
        this.#limit = BLOCK;
        return full;
      }
    }
    this.#seal();
    // A pooled block when there is one; else a small range: when thousands of responses are in flight at
    // once (a long-poll wake-up), a fresh 16 KiB each would cost more in zeroed pages than the writes.
    if (n > BLOCK) this.#block = new Uint8Array(n);
    else {
      const pooled = spareBuffer();
      if (pooled === undefined && n <= SMALL_BLOCK) return this.#takeSmall();
      this.#block = pooled ?? new Uint8Array(BLOCK);
    }
    this.#base = this.#used = 0;
    this.#limit = this.#block.length;
    return this.#block;
  }

  #release(): void {
    const block = this.#block;
    if (this.#small) this.#giveBackSmall(this.#base);
    else if (block !== null) giveBuffer(block);
    this.#block = null;
    this.#small = false;
    this.#base = this.#used = this.#limit = 0;
  }
}

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}
