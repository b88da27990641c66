/**
 * `ChunkedDecoder`: the chunked transfer coding (RFC 9112, 7.1) decoded from
 * bytes as they arrive, in place and under any split of the input.
 *
 * @module
 */
import { CR, FIELD_BYTE, HEX, hexByte, HTAB, latin1, LF, QDTEXT, SP, TCHAR } from "./byte_classes.ts";
import { FieldLine } from "./field_line.ts";
import { HttpError } from "./http_error.ts";
import type { ParserLimits } from "./http_parser.ts";

/** States of the decoder: the size line (digits, then the extensions' grammar), the data, the trailers. */
const SIZE = 0, // hex digits of the chunk size
  SIZE_WS = 1, // whitespace after the size: only a ";" may follow (BWS)
  EXT_NAME_START = 2, // after ";": BWS, then the extension's name
  EXT_NAME = 3, // in the name (a token)
  EXT_NAME_WS = 4, // whitespace after the name: "=" or ";" must follow
  EXT_VALUE_START = 5, // after "=": BWS, then a token or a quoted-string
  EXT_TOKEN = 6, // in a token value
  EXT_QUOTED = 7, // in a quoted-string value
  EXT_QUOTED_PAIR = 8, // the byte after a backslash in a quoted-string
  EXT_QUOTE_END = 9, // right after the closing quote
  EXT_VALUE_WS = 10, // whitespace after a value: only a ";" may follow
  SIZE_LF = 11, // the LF after the size line's CR
  DATA = 12, // chunk data
  DATA_CR = 13, // the CR after the data
  DATA_LF = 14, // the LF after it
  TRAILER = 15, // a trailer line (or the empty line that ends the body), up to its LF
  DONE = 16;

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Decodes a chunked body from the bytes it is fed, in place: `decode`
 * reports where the next data slice is, never copying it. Any split of the
 * input works. Chunk extensions are checked against their grammar, then
 * ignored; trailer fields are parsed like header fields and kept apart, never
 * merged into the headers.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "./chunked_decoder.ts";
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
   * @throws {HttpError} 400 (bad chunk size, extension or framing; bad
   * trailer field), 413 (body over the limit), 431 (trailers over the limits).
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
          else if (b === CR) this.#state = SIZE_LF;
          else this.#state = afterSize(b);
          break;
        }
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
          pos++;
          continue;
        case TRAILER:
          pos = this.#trailerBytesFrom(buf, pos, end); // DONE after the empty line
          continue;
        case DONE:
          return pos;
        default:
          this.#state = extensionStep(this.#state, b);
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

/** The state after the first byte that is not a hex digit (nor CR) after the chunk size. */
function afterSize(b: number): number {
  if (b === SEMICOLON) return EXT_NAME_START;
  if (b === SP || b === HTAB) return SIZE_WS;
  throw sizeLineError(SIZE, b);
}

/**
 * One step of the chunk-ext grammar (RFC 9112, 7.1.1):
 * `*( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`, the name a
 * token, the value a token or a quoted-string (with quoted-pairs). Returns
 * the state after byte `b`; a CR where the grammar allows the line to end
 * leads to `SIZE_LF`.
 *
 * @throws {HttpError} 400 where the grammar does not allow `b`.
 */
function extensionStep(state: number, b: number): number {
  const ws = b === SP || b === HTAB;
  switch (state) {
    case SIZE_WS:
      if (ws) return SIZE_WS;
      if (b === SEMICOLON) return EXT_NAME_START;
      if (b === CR) throw new HttpError(400, "whitespace after a chunk size without an extension");
      break;
    case EXT_NAME_START:
      if (TCHAR[b] === 1) return EXT_NAME;
      if (ws) return EXT_NAME_START;
      if (b === CR || b === SEMICOLON || b === EQUALS) {
        throw new HttpError(400, "chunk extension without a name (a ';' must be followed by a token)");
      }
      break;
    case EXT_NAME:
      if (TCHAR[b] === 1) return EXT_NAME;
      if (b === CR) return SIZE_LF;
      if (b === SEMICOLON) return EXT_NAME_START;
      if (b === EQUALS) return EXT_VALUE_START;
      if (ws) return EXT_NAME_WS;
      break;
    case EXT_NAME_WS:
      if (ws) return EXT_NAME_WS;
      if (b === EQUALS) return EXT_VALUE_START;
      if (b === SEMICOLON) return EXT_NAME_START;
      break;
    case EXT_VALUE_START:
      if (TCHAR[b] === 1) return EXT_TOKEN;
      if (b === DQUOTE) return EXT_QUOTED;
      if (ws) return EXT_VALUE_START;
      if (b === CR || b === SEMICOLON) throw new HttpError(400, "chunk extension with '=' but no value");
      break;
    case EXT_TOKEN:
      if (TCHAR[b] === 1) return EXT_TOKEN;
      if (b === CR) return SIZE_LF;
      if (b === SEMICOLON) return EXT_NAME_START;
      if (ws) return EXT_VALUE_WS;
      break;
    case EXT_QUOTED:
      if (QDTEXT[b] === 1) return EXT_QUOTED;
      if (b === DQUOTE) return EXT_QUOTE_END;
      if (b === BACKSLASH) return EXT_QUOTED_PAIR;
      break;
    case EXT_QUOTED_PAIR:
      if (FIELD_BYTE[b] === 1) return EXT_QUOTED;
      break;
    case EXT_QUOTE_END:
      if (b === CR) return SIZE_LF;
      if (b === SEMICOLON) return EXT_NAME_START;
      if (ws) return EXT_VALUE_WS;
      break;
    case EXT_VALUE_WS:
      if (ws) return EXT_VALUE_WS;
      if (b === SEMICOLON) return EXT_NAME_START;
      break;
  }
  throw sizeLineError(state, b);
}

/** Why byte `b` is refused in `state` of the size line. */
function sizeLineError(state: number, b: number): HttpError {
  if (b === LF) return new HttpError(400, "bare LF in a chunk size line (a line ends with CRLF)");
  if (state === EXT_QUOTED || state === EXT_QUOTED_PAIR) {
    return new HttpError(
      400,
      b === CR
        ? "unbalanced quote in a chunk extension (the quoted-string does not end before the line)"
        : `invalid byte 0x${hexByte(b)} in a quoted chunk extension value`,
    );
  }
  if (b === CR) return new HttpError(400, "whitespace at the end of a chunk size line");
  if ((b < 0x20 && b !== HTAB) || b === 0x7f) {
    return new HttpError(400, `control byte 0x${hexByte(b)} in a chunk size line`);
  }
  return new HttpError(
    400,
    state === SIZE || state === SIZE_WS
      ? `invalid byte 0x${hexByte(b)} after the chunk size (expected CRLF or ";" and an extension)`
      : `invalid byte 0x${hexByte(b)} in a chunk extension`,
  );
}
