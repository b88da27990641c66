/**
 * WebSocket frames (RFC 6455, 5): `FrameParser` reads a client's frames from
 * bytes as they arrive, unmasking in place and under any split of the input;
 * `writeFrameHead`, `encodeFrameHead`, `encodeFrame` and `encodeCloseFrame`
 * write a server's frames (never masked). No sockets: a connection feeds it its read buffer.
 *
 * @module
 */
import { Utf8Validator } from "./utf8_validator.ts";

/**
 * Opcode of a continuation frame: the next fragment of a text or binary message.
 *
 * @example
 * ```ts
 * import { OP_CONTINUATION } from "./websocket_frames.ts";
 * OP_CONTINUATION; // 0
 * ```
 */
export const OP_CONTINUATION = 0x0;

/**
 * Opcode of a text frame: a message of UTF-8 text (or its first fragment).
 *
 * @example
 * ```ts
 * import { OP_TEXT } from "./websocket_frames.ts";
 * OP_TEXT; // 1
 * ```
 */
export const OP_TEXT = 0x1;

/**
 * Opcode of a binary frame: a message of bytes (or its first fragment).
 *
 * @example
 * ```ts
 * import { OP_BINARY } from "./websocket_frames.ts";
 * OP_BINARY; // 2
 * ```
 */
export const OP_BINARY = 0x2;

/**
 * Opcode of a close frame: an optional 2-byte close code, then a UTF-8 reason.
 *
 * @example
 * ```ts
 * import { OP_CLOSE } from "./websocket_frames.ts";
 * OP_CLOSE; // 8
 * ```
 */
export const OP_CLOSE = 0x8;

/**
 * Opcode of a ping frame: to be answered by a pong with the same payload.
 *
 * @example
 * ```ts
 * import { OP_PING } from "./websocket_frames.ts";
 * OP_PING; // 9
 * ```
 */
export const OP_PING = 0x9;

/**
 * Opcode of a pong frame: the answer to a ping, or a heartbeat on its own.
 *
 * @example
 * ```ts
 * import { OP_PONG } from "./websocket_frames.ts";
 * OP_PONG; // 10
 * ```
 */
export const OP_PONG = 0xa;

/**
 * `FrameParser.event` when the bytes fed completed nothing to hand out.
 *
 * @example
 * ```ts
 * import { FrameParser, NEED_MORE } from "./websocket_frames.ts";
 * const parser = new FrameParser();
 * parser.parse(new Uint8Array([0x81]), 0, 1); // 1: the first byte of a frame head
 * parser.event === NEED_MORE; // true
 * ```
 */
export const NEED_MORE: number = -1;

/**
 * A client broke the protocol: `code` is the close code to answer with (1002
 * protocol error, 1007 invalid payload, 1009 message too big), `message` says
 * what was wrong. The connection is to be closed.
 *
 * @example
 * ```ts
 * import { WebSocketError } from "./websocket_frames.ts";
 * new WebSocketError(1009, "message over the limit of 1024 bytes").code; // 1009
 * ```
 */
export class WebSocketError extends Error {
  /** The close code to send. */
  readonly code: number;

  /** Creates the error. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "WebSocketError";
    this.code = code;
  }
}

/** Whether `code` may be sent in a close frame (1005, 1006 and 1015 only report locally a close without one). */
function isValidCloseCode(code: number): boolean {
  return Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999));
}

/** Options of a {@linkcode FrameParser}. */
export interface FrameParserOptions {
  /** The largest message accepted, all its fragments together, in bytes (default 16 MiB); larger: 1009. */
  maxMessageBytes?: number;
}

/** States of the parser: the frame head byte by byte, then the payload; nothing after a close frame. */
const HEAD0 = 0, // FIN, RSV1-3 and the opcode
  HEAD1 = 1, // MASK and the 7-bit length
  LENGTH = 2, // the 16- or 64-bit extended length
  MASK_KEY = 3, // the 4 bytes of the masking key
  PAYLOAD = 4,
  CLOSED = 5;

const PROTOCOL_ERROR = 1002, INVALID_PAYLOAD = 1007, MESSAGE_TOO_BIG = 1009, NO_STATUS = 1005;
const MAX_CONTROL = 125;
const NAMES = ["continuation", "text", "binary", "", "", "", "", "", "close", "ping", "pong"];
const EMPTY = new Uint8Array(0);
const REASON = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads the frames of a client from the bytes it is fed, unmasking payloads
 * in place in the caller's buffer. `parse` stops after each thing to hand
 * out, named by `event`: a piece of a text or binary message (`OP_TEXT`,
 * `OP_BINARY`), a whole control frame (`OP_CLOSE`, `OP_PING`, `OP_PONG`), or
 * `NEED_MORE`. The payload is `data[dataStart, dataEnd)`: the caller's buffer,
 * except for a control frame split across feeds (gathered in the parser's
 * own, valid until the next `parse`). A message in one frame fed whole comes
 * out as one piece (`messageStart && messageEnd`). Text is checked as UTF-8
 * piece by piece, so a bad byte is refused before the rest arrives.
 *
 * @example
 * ```ts
 * import { FrameParser, OP_TEXT } from "./websocket_frames.ts";
 * // A masked text frame "hi" (a zero masking key leaves the payload as it is).
 * const buf = new Uint8Array([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]);
 * const parser = new FrameParser({ maxMessageBytes: 1 << 20 });
 * const texts: string[] = [];
 * let pos = 0;
 * while (pos < buf.length) {
 *   pos = parser.parse(buf, pos, buf.length);
 *   if (parser.event === OP_TEXT && parser.messageStart && parser.messageEnd) {
 *     texts.push(new TextDecoder().decode(parser.data.subarray(parser.dataStart, parser.dataEnd)));
 *   }
 * }
 * texts; // ["hi"]
 * ```
 */
export class FrameParser {
  /** What the last `parse` completed: `NEED_MORE`, or the opcode of a message (piece) or control frame. */
  event: number = NEED_MORE;
  /** The FIN bit of the current frame. */
  fin = false;
  /** The opcode of the current frame (`OP_CONTINUATION` for a later fragment; `event` names the message). */
  opcode: number = OP_CONTINUATION;
  /** The buffer holding the payload handed out: the one given to `parse`, or a control frame's own. */
  data: Uint8Array = EMPTY;
  /** Where the payload handed out starts in `data`. */
  dataStart = 0;
  /** Where it ends. */
  dataEnd = 0;
  /** Whether the piece handed out is the first of its message. */
  messageStart = false;
  /** Whether it is the last: the message is complete (and, if text, valid UTF-8). */
  messageEnd = false;
  /** The code of the close frame read (1005 when it had none). */
  closeCode = 0;
  /** The reason of the close frame read. */
  closeReason = "";
  readonly #maxMessageBytes: number;
  #state = HEAD0;
  #need = 0; // bytes of the extended length or the masking key still to read
  #length = 0; // payload bytes of the current frame
  #received = 0; // of which were read
  readonly #mask = new Uint8Array(4);
  readonly #control = new Uint8Array(MAX_CONTROL);
  readonly #utf8 = new Utf8Validator();
  #message = 0; // OP_TEXT or OP_BINARY while a message is in progress, else 0
  #announced = 0; // payload bytes of the message's frames, as their heads announced
  #offset = 0; // bytes of the message handed out

  /** Creates a parser for one connection. */
  constructor(options: FrameParserOptions = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  }

  /** Whether a close frame was read: the bytes after it are ignored. */
  get closed(): boolean {
    return this.#state === CLOSED;
  }

  /**
   * Consumes bytes of `buf[start, end)`, unmasking payload bytes in place,
   * and returns the index it stopped at: right after what `event` names, or
   * `end`. Call again from there until `end`.
   *
   * @throws {WebSocketError} 1002 (a broken rule of the protocol), 1007 (text
   * or close reason not UTF-8), 1009 (message over `maxMessageBytes`). The
   * parser is unusable after.
   */
  parse(buf: Uint8Array, start: number, end: number): number {
    this.event = NEED_MORE;
    let pos = start;
    while (pos < end) {
      const state = this.#state;
      if (state === PAYLOAD) {
        pos = this.#payload(buf, pos, end);
        if (this.event !== NEED_MORE) return pos;
      } else if (state === HEAD0) this.#head0(buf[pos++]);
      else if (state === HEAD1) this.#head1(buf[pos++]);
      else if (state === LENGTH) this.#lengthByte(buf[pos++]);
      else if (state === MASK_KEY) {
        this.#mask[4 - this.#need] = buf[pos++];
        if (--this.#need === 0) {
          this.#maskRead(buf, pos);
          if (this.event !== NEED_MORE) return pos;
        }
      } else return end;
    }
    return pos;
  }

  #head0(b: number): void {
    const opcode = b & 0x0f;
    if ((b & 0x70) !== 0) {
      const bits = [0x40, 0x20, 0x10].flatMap((bit, i) => (b & bit) !== 0 ? [`RSV${i + 1}`] : []);
      throw protocolError(
        `frame with ${bits.join(", ")} set, but no extension was negotiated (RSV1-3 must be 0)`,
      );
    }
    if (opcode > OP_PONG || (opcode > OP_BINARY && opcode < OP_CLOSE)) {
      throw protocolError(`frame with reserved opcode 0x${opcode.toString(16)} (known: 0x0-0x2, 0x8-0xa)`);
    }
    this.fin = (b & 0x80) !== 0;
    this.opcode = opcode;
    if (opcode >= OP_CLOSE) {
      if (!this.fin) {
        throw protocolError(`fragmented ${NAMES[opcode]} frame (a control frame must have FIN set)`);
      }
    } else if (opcode === OP_CONTINUATION) {
      if (this.#message === 0) {
        throw protocolError(
          "continuation frame without a message to continue (expected a text or binary frame)",
        );
      }
    } else if (this.#message !== 0) {
      throw protocolError(
        `${NAMES[opcode]} frame in the middle of a fragmented message (expected a continuation)`,
      );
    } else {
      this.#message = opcode;
      this.#announced = this.#offset = 0;
      this.#utf8.reset();
    }
    this.#state = HEAD1;
  }

  #head1(b: number): void {
    if ((b & 0x80) === 0) {
      throw protocolError("unmasked frame from the client (a client must mask every frame)");
    }
    const length = b & 0x7f;
    if (this.opcode >= OP_CLOSE && length > MAX_CONTROL) {
      throw protocolError(
        `${NAMES[this.opcode]} frame longer than 125 bytes (the most a control frame holds)`,
      );
    }
    this.#length = length < 126 ? length : 0;
    if (length < 126) this.#lengthRead();
    else {
      this.#need = length === 126 ? 2 : 8;
      this.#state = LENGTH;
    }
  }

  #lengthByte(b: number): void {
    if (this.#need === 8 && b >= 0x80) {
      throw protocolError("64-bit payload length with the most significant bit set (it must be 0)");
    }
    this.#length = this.#length * 256 + b;
    if (--this.#need === 0) this.#lengthRead();
  }

  /** The length is known: a data frame that would take its message over the limit is refused now. */
  #lengthRead(): void {
    if (this.opcode < OP_CLOSE) {
      const announced = this.#announced + this.#length;
      if (announced > this.#maxMessageBytes) {
        throw new WebSocketError(
          MESSAGE_TOO_BIG,
          `message over the limit of ${this.#maxMessageBytes} bytes (${announced} bytes announced so far)`,
        );
      }
      this.#announced = announced;
    }
    this.#need = 4;
    this.#state = MASK_KEY;
  }

  /** The head is read: an empty frame is handed out at once. */
  #maskRead(buf: Uint8Array, pos: number): void {
    this.#received = 0;
    this.#state = PAYLOAD;
    if (this.#length > 0) return;
    if (this.opcode >= OP_CLOSE) this.#controlFrame(this.#control, 0, 0);
    else if (this.fin) this.#dataPiece(buf, pos, pos, true);
    else this.#state = HEAD0; // an empty fragment: nothing to hand out
  }

  #payload(buf: Uint8Array, pos: number, end: number): number {
    const at = this.#received;
    const stop = pos + Math.min(this.#length - at, end - pos);
    unmask(buf, pos, stop, this.#mask, at);
    this.#received = at + stop - pos;
    const done = this.#received === this.#length;
    if (this.opcode < OP_CLOSE) this.#dataPiece(buf, pos, stop, done);
    else if (done && at === 0) this.#controlFrame(buf, pos, stop);
    else {
      const control = this.#control;
      for (let i = pos; i < stop; i++) control[at + i - pos] = buf[i];
      if (done) this.#controlFrame(control, 0, this.#length);
    }
    return stop;
  }

  #dataPiece(buf: Uint8Array, start: number, stop: number, frameDone: boolean): void {
    const last = frameDone && this.fin;
    if (this.#message === OP_TEXT) {
      const utf8 = this.#utf8;
      if (!utf8.feed(buf, start, stop)) {
        const at = utf8.invalidAt;
        throw new WebSocketError(
          INVALID_PAYLOAD,
          `text message is not valid UTF-8 (byte 0x${buf[at].toString(16)} at offset ${
            this.#offset + at - start
          } of the message)`,
        );
      }
      if (last && !utf8.complete) {
        throw new WebSocketError(INVALID_PAYLOAD, "text message ends in the middle of a UTF-8 sequence");
      }
    }
    this.event = this.#message;
    this.data = buf;
    this.dataStart = start;
    this.dataEnd = stop;
    this.messageStart = this.#offset === 0;
    this.messageEnd = last;
    this.#offset += stop - start;
    if (frameDone) this.#state = HEAD0;
    if (last) this.#message = 0;
  }

  #controlFrame(data: Uint8Array, start: number, end: number): void {
    this.#state = HEAD0;
    if (this.opcode === OP_CLOSE) {
      this.#readClose(data, start, end);
      this.#state = CLOSED;
    }
    this.event = this.opcode;
    this.data = data;
    this.dataStart = start;
    this.dataEnd = end;
  }

  #readClose(data: Uint8Array, start: number, end: number): void {
    if (end - start === 0) {
      this.closeCode = NO_STATUS;
      this.closeReason = "";
      return;
    }
    if (end - start === 1) {
      throw protocolError("close frame with a 1-byte payload (a close code takes 2 bytes)");
    }
    const code = (data[start] << 8) | data[start + 1];
    if (!isValidCloseCode(code)) {
      throw protocolError(
        `close frame with invalid close code ${code} (valid: 1000-1003, 1007-1011, 3000-4999)`,
      );
    }
    try {
      this.closeReason = REASON.decode(data.subarray(start + 2, end));
    } catch {
      throw new WebSocketError(INVALID_PAYLOAD, "close frame reason is not valid UTF-8");
    }
    this.closeCode = code;
  }
}

function protocolError(message: string): WebSocketError {
  return new WebSocketError(PROTOCOL_ERROR, message);
}

/** XORs `buf[start, end)` with the masking key, the first byte being byte `offset` of the payload. */
function unmask(buf: Uint8Array, start: number, end: number, mask: Uint8Array, offset: number): void {
  let i = start;
  for (let k = offset & 3; k !== 0 && i < end; k = (k + 1) & 3) buf[i++] ^= mask[k];
  const m0 = mask[0], m1 = mask[1], m2 = mask[2], m3 = mask[3];
  for (; i + 4 <= end; i += 4) {
    buf[i] ^= m0;
    buf[i + 1] ^= m1;
    buf[i + 2] ^= m2;
    buf[i + 3] ^= m3;
  }
  for (let k = 0; i < end; k++) buf[i++] ^= mask[k];
}

/** The bytes of a frame head for a payload of `length` bytes. */
function headLength(length: number): number {
  return length <= MAX_CONTROL ? 2 : length <= 0xffff ? 4 : 10;
}

/**
 * Writes the head of a server frame (not masked) at `out[offset]`, which must
 * have room for 10 bytes, and returns where it ends: 2, 4 or 10 bytes later.
 * Write the payload after it, or send it on its own (a gathered write).
 *
 * @example
 * ```ts
 * import { OP_BINARY, writeFrameHead } from "./websocket_frames.ts";
 * const head = new Uint8Array(10); // reusable
 * const n = writeFrameHead(head, 0, OP_BINARY, 300);
 * head.subarray(0, n); // Uint8Array [0x82, 126, 0x01, 0x2c]
 * ```
 *
 * @throws {RangeError} for an unknown opcode, a length that is not a whole
 * number >= 0, a control frame of more than 125 bytes or without FIN.
 */
export function writeFrameHead(
  out: Uint8Array,
  offset: number,
  opcode: number,
  length: number,
  fin = true,
): number {
  if (!(Number.isInteger(opcode) && opcode >= 0 && opcode <= OP_PONG && NAMES[opcode] !== "")) {
    throw new RangeError(`writeFrameHead: opcode must be 0x0-0x2 or 0x8-0xa, got ${opcode}`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`writeFrameHead: length must be a whole number of bytes >= 0, got ${length}`);
  }
  if (opcode >= OP_CLOSE && (length > MAX_CONTROL || !fin)) {
    throw new RangeError(
      `writeFrameHead: a ${NAMES[opcode]} frame needs FIN and at most 125 bytes, got ${length}`,
    );
  }
  out[offset] = (fin ? 0x80 : 0) | opcode;
  if (length <= MAX_CONTROL) {
    out[offset + 1] = length;
    return offset + 2;
  }
  if (length <= 0xffff) {
    out[offset + 1] = 126;
    out[offset + 2] = length >>> 8;
    out[offset + 3] = length & 0xff;
    return offset + 4;
  }
  out[offset + 1] = 127;
  const high = Math.floor(length / 0x1_0000_0000);
  for (let i = 0; i < 4; i++) {
    out[offset + 2 + i] = high >>> (24 - 8 * i);
    out[offset + 6 + i] = length >>> (24 - 8 * i);
  }
  return offset + 10;
}

/**
 * The head of a server frame (not masked) for a payload of `length` bytes,
 * in a new array of 2, 4 or 10 bytes: send it, then the payload.
 *
 * @example
 * ```ts
 * import { encodeFrameHead, OP_TEXT } from "./websocket_frames.ts";
 * encodeFrameHead(OP_TEXT, 5); // Uint8Array [0x81, 5]
 * encodeFrameHead(OP_TEXT, 5, false); // Uint8Array [0x01, 5]: more fragments follow
 * ```
 *
 * @throws {RangeError} as {@linkcode writeFrameHead}.
 */
export function encodeFrameHead(opcode: number, length: number, fin = true): Uint8Array {
  const head = new Uint8Array(headLength(length));
  writeFrameHead(head, 0, opcode, length, fin);
  return head;
}

/**
 * A whole server frame, head and payload in one new array (one write): a
 * small message, a ping, or the pong that echoes a ping's payload.
 *
 * @example
 * ```ts
 * import { encodeFrame, OP_PONG } from "./websocket_frames.ts";
 * encodeFrame(OP_PONG, new Uint8Array([1, 2])); // Uint8Array [0x8a, 2, 1, 2]
 * ```
 *
 * @throws {RangeError} as {@linkcode writeFrameHead}.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const frame = new Uint8Array(headLength(payload.length) + payload.length);
  frame.set(payload, writeFrameHead(frame, 0, opcode, payload.length, fin));
  return frame;
}

/**
 * A close frame: with no code, an empty payload; else the code and the
 * reason in UTF-8, cut to 123 bytes at a character boundary.
 *
 * @example
 * ```ts
 * import { encodeCloseFrame } from "./websocket_frames.ts";
 * encodeCloseFrame(1000, "bye"); // Uint8Array [0x88, 5, 0x03, 0xe8, 0x62, 0x79, 0x65]
 * encodeCloseFrame(); // Uint8Array [0x88, 0]
 * ```
 *
 * @throws {RangeError} for a code other than 1000-1003, 1007-1011, 3000-4999, or a reason without a code.
 */
export function encodeCloseFrame(code?: number, reason = ""): Uint8Array {
  if (code === undefined) {
    if (reason !== "") throw new RangeError("encodeCloseFrame: a reason needs a close code, got none");
    return encodeFrame(OP_CLOSE, EMPTY);
  }
  if (!isValidCloseCode(code)) {
    throw new RangeError(`encodeCloseFrame: code must be 1000-1003, 1007-1011 or 3000-4999, got ${code}`);
  }
  const text = new TextEncoder().encode(reason);
  let n = Math.min(text.length, MAX_CONTROL - 2);
  while (n < text.length && (text[n] & 0xc0) === 0x80) n--; // not inside a character
  const frame = new Uint8Array(4 + n);
  frame[0] = 0x80 | OP_CLOSE;
  frame[1] = 2 + n;
  frame[2] = code >>> 8;
  frame[3] = code & 0xff;
  frame.set(text.subarray(0, n), 4);
  return frame;
}
