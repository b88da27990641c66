/**
 * `ChunkedDecoder`: the chunked transfer coding (RFC 9112, 7.1) decoded from
 * bytes as they arrive, in place and under any split of the input.
 *
 * @module
 */
import { CR, HEX, HTAB, latin1, LF, SP } from "./byte_classes.ts";
import { FieldLine } from "./field_line.ts";
import { HttpError } from "./http_error.ts";
import type { ParserLimits } from "./http_parser.ts";

/** States of the decoder. */
const SIZE = 0, // hex digits of the chunk size
  EXT = 1, // after the size: whitespace and `;extensions` up to CR
  SIZE_LF = 2, // the LF after the size line's CR
  DATA = 3, // chunk data
  DATA_CR = 4, // the CR after the data
  DATA_LF = 5, // the LF after it
  TRAILER = 6, // a trailer line (or the empty line that ends the body), up to its LF
  DONE = 7;

/**
 * Decodes a chunked body from the bytes it is fed, in place: `decode`
 * reports where the next data slice is, never copying it. Any split of the
 * input works. Chunk extensions are skipped; trailer fields are parsed like header fields and kept apart, never
 * merged into the headers.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "@cogen/cogen/wsgi";
 * const body = new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\n");
 * const decoder = new ChunkedDecoder({ maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 1e6 });
 * const out: string[] = [];
 * let pos = 0;
 * while (!decoder.done) {
 *   pos = decoder.decode(body, pos, body.length);
 *   out.push(new TextDecoder().decode(body.subarray(decoder.dataStart, decoder.dataEnd)));
 * }
 * out.join(""); // "hello"
 * ```
 */
export class ChunkedDecoder {
  /** Where the data slice of the last `decode` starts. */
  dataStart = 0;
  /** Where it ends (equal to `dataStart` when there was none). */
  dataEnd = 0;
  /** The trailer fields, flat `[name, value…]`. */
  trailers: string[] = [];
  /** Body bytes decoded so far. */
  total = 0;
  readonly #limits: ParserLimits;
  #state = SIZE;
  #size = 0;
  #digits = 0;
  #significant = 0;
  #remaining = 0;
  /** Whether a `;` was seen on the size line: what follows is an extension. */
  #inExtension = false;
  /** Whether whitespace followed the size (it may only lead to an extension). */
  #spaced = false;
  /** Bytes of the current size line (bounded by maxRequestLine). */
  #lineBytes = 0;
  /** Bytes of the trailer section so far (bounded by maxHeaderBytes). */
  #trailerBytes = 0;
  /** The trailer line being read (with its CRLF), made when the first one comes. */
  #line: Uint8Array | null = null;
  #lineLength = 0;
  #field: FieldLine | null = null;

  /** Creates a decoder bound by `limits` (maxBodyBytes; maxRequestLine for size lines; maxHeaderBytes and maxHeaders for trailers). */
  constructor(limits: ParserLimits) {
    this.#limits = limits;
  }

  /** Whether the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Consumes bytes of `buf[start, end)` and returns the index it stopped at.
   * When a data slice was found it is `buf[dataStart, dataEnd)`, and decoding
   * stopped right after it: hand it on, then call again.
   *
   * @throws {HttpError} 400 (bad chunk size or framing; bad trailer
   * field), 413 (body over the limit), 431 (trailers over the limits).
   */
  decode(buf: Uint8Array, start: number, end: number): number {
    this.dataStart = this.dataEnd = start;
    let pos = start;
    while (pos < end) {
      const b = buf[pos];
      switch (this.#state) {
        case SIZE: {
          const digit = HEX[b];
          if (digit >= 0) {
            this.#digits++;
            // Leading zeros do not count towards the 12 significant hex digits allowed.
            if ((this.#size > 0 || digit > 0) && ++this.#significant > 12) {
              throw new HttpError(400, "chunk size too large");
            }
            this.#size = this.#size * 16 + digit;
          } else if (this.#digits === 0) throw new HttpError(400, "chunk size is not a hexadecimal number");
          else {
            this.#state = EXT;
            continue; // look at this byte again as part of the extension
          }
          break;
        }
        case EXT:
          if (b === CR) {
            if (this.#spaced && !this.#inExtension) {
              throw new HttpError(400, "whitespace after a chunk size without an extension");
            }
            this.#state = SIZE_LF;
          } else if (b === LF) throw new HttpError(400, "bare LF in a chunk size line");
          else if ((b < 0x20 && b !== HTAB) || b === 0x7f) {
            throw new HttpError(400, "control byte in a chunk size line");
          } else if (b === 0x3b) this.#inExtension = true;
          else if (!this.#inExtension) {
            if (b !== SP && b !== HTAB) throw new HttpError(400, "invalid byte after the chunk size");
            this.#spaced = true;
          }
          break;
        case SIZE_LF:
          if (b !== LF) throw new HttpError(400, "bare CR in a chunk size line (a line ends with CRLF)");
          this.#endSizeLine();
          pos++;
          continue;
        case DATA: {
          const n = Math.min(this.#remaining, end - pos);
          this.dataStart = pos;
          this.dataEnd = pos + n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = DATA_CR;
          return pos + n;
        }
        case DATA_CR:
          if (b !== CR) throw new HttpError(400, "chunk data longer than its chunk size");
          this.#state = DATA_LF;
          pos++;
          continue;
        case DATA_LF:
          if (b !== LF) throw new HttpError(400, "chunk data not followed by CRLF");
          this.#state = SIZE;
          this.#size =
            this.#digits =
            this.#significant =
            this.#lineBytes =
              0;
          this.#inExtension = this.#spaced = false;
          pos++;
          continue;
        case TRAILER:
          pos = this.#trailerBytesFrom(buf, pos, end); // DONE after the empty line
          continue;
        case DONE:
          return pos;
      }
      if (++this.#lineBytes > this.#limits.maxRequestLine) {
        throw new HttpError(400, `chunk size line longer than ${this.#limits.maxRequestLine} bytes`);
      }
      pos++;
    }
    return pos;
  }

  #endSizeLine(): void {
    const size = this.#size;
    if (this.total + size > this.#limits.maxBodyBytes) {
      throw new HttpError(413, `chunked body over the limit of ${this.#limits.maxBodyBytes} bytes`);
    }
    this.total += size;
    if (size === 0) this.#state = TRAILER;
    else {
      this.#remaining = size;
      this.#state = DATA;
    }
  }

  /**
   * Takes the bytes of `buf[pos, end)` up to the next LF as (part of) a
   * trailer line; returns where it stopped. A line that arrived whole is
   * parsed where it lies; one split across reads is gathered first.
   */
  #trailerBytesFrom(buf: Uint8Array, pos: number, end: number): number {
    let lf = pos;
    while (lf < end && buf[lf] !== LF) lf++;
    const stop = lf < end ? lf + 1 : end;
    const max = this.#limits.maxHeaderBytes;
    if ((this.#trailerBytes += stop - pos) > max) {
      throw new HttpError(431, `trailer section larger than ${max} bytes`);
    }
    if (lf < end && this.#lineLength === 0) this.#endTrailerLine(buf, pos, stop);
    else {
      const line = this.#keep(buf, pos, stop);
      if (lf < end) {
        const length = this.#lineLength;
        this.#lineLength = 0;
        this.#endTrailerLine(line, 0, length);
      }
    }
    return stop;
  }

  /** Appends `buf[start, end)` to the trailer line gathered so far; returns the buffer holding it. */
  #keep(buf: Uint8Array, start: number, end: number): Uint8Array {
    let line = this.#line;
    const length = this.#lineLength + end - start;
    if (line === null || line.length < length) {
      const grown = new Uint8Array(Math.max(64, 2 * length));
      if (line !== null) grown.set(line.subarray(0, this.#lineLength));
      line = this.#line = grown;
    }
    line.set(buf.subarray(start, end), this.#lineLength);
    this.#lineLength = length;
    return line;
  }

  /**
   * A whole trailer line, `line[start, end)` with its LF: a field, or the
   * empty line that ends the body.
   */
  #endTrailerLine(line: Uint8Array, start: number, end: number): void {
    if (end - start < 2 || line[end - 2] !== CR) {
      throw new HttpError(400, "bare LF without CR as a line end in the trailer section");
    }
    if (end - start === 2) {
      this.#state = DONE;
      return;
    }
    if (this.trailers.length / 2 >= this.#limits.maxHeaders) {
      throw new HttpError(431, `more than ${this.#limits.maxHeaders} trailer fields`);
    }
    const field = this.#field ??= new FieldLine("trailer");
    field.parse(line, start, end);
    this.trailers.push(latin1(line, start, field.nameEnd), latin1(line, field.valueStart, field.valueEnd));
  }
}
