/**
 * A WebSocket client on a raw socket, for tests that need frames no real
 * client would send: the handshake as bytes, client frames built by hand
 * (masked or not, fragmented, reserved bits), and the server's frames read
 * back one by one.
 *
 * @module
 */
import { bytes, Client, HOST } from "./http.ts";

/** The RFC 6455 sample key and its accept value. */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** The opening request for `path`, with `extra` header lines (each ending in CRLF). */
export function upgradeRequest(path = "/ws", extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/** How to build a client frame. */
export interface FrameSpec {
  fin?: boolean;
  /** RSV1-3 as a 3-bit number. */
  rsv?: number;
  /** The masking key; `null` for an unmasked frame. */
  mask?: number[] | null;
}

/** A client frame (masked with a fixed key unless told). */
export function clientFrame(opcode: number, payload: Uint8Array | string, spec: FrameSpec = {}): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const mask = spec.mask === undefined ? [0x12, 0x34, 0x56, 0x78] : spec.mask;
  const n = data.length;
  const head = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | opcode];
  const maskBit = mask === null ? 0 : 0x80;
  if (n <= 125) head.push(maskBit | n);
  else if (n <= 0xffff) head.push(maskBit | 126, n >> 8, n & 0xff);
  else head.push(maskBit | 127, 0, 0, 0, 0, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  if (mask !== null) head.push(...mask);
  const frame = new Uint8Array(head.length + n);
  frame.set(head);
  for (let i = 0; i < n; i++) frame[head.length + i] = mask === null ? data[i] : data[i] ^ mask[i & 3];
  return frame;
}

/** A close frame's payload: the code and the reason. */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

/** A frame from the server. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
  /** The payload as text. */
  text: string;
  /** For a close frame: its code (0 without one) and reason. */
  code: number;
  reason: string;
}

/** A raw WebSocket client: the handshake's answer, then the server's frames. */
export class RawWebSocket {
  readonly client: Client;
  /** The handshake's answer (head only), as text. */
  head = "";
  #pos = 0;

  constructor(client: Client) {
    this.client = client;
  }

  /** Connects to `port` and sends the opening request (plus `after`, bytes pipelined behind it). */
  static async open(port: number, path = "/ws", extra = "", after?: Uint8Array): Promise<RawWebSocket> {
    const client = await Client.connect(port);
    const request = bytes(upgradeRequest(path, extra));
    await client.write(after === undefined ? request : concat(request, after));
    const ws = new RawWebSocket(client);
    if (!await client.readUntil((text) => text.includes("\r\n\r\n"), 3000)) {
      throw new Error(`no answer to the handshake: ${JSON.stringify(client.received)}`);
    }
    const end = client.received.indexOf("\r\n\r\n") + 4;
    ws.head = client.received.slice(0, end);
    ws.#pos = end;
    return ws;
  }

  /** Sends bytes (frames). */
  async send(...frames: Uint8Array[]): Promise<boolean> {
    return await this.client.write(concat(...frames));
  }

  /** The next frame from the server (within `timeout` ms); `null` when the server closed the connection first. */
  async frame(timeout = 3000): Promise<ServerFrame | null> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const frame = this.#parse();
      if (frame !== null) return frame;
      if (this.client.eof) return null;
      if (Date.now() > deadline || !await this.client.fill(deadline)) {
        throw new Error(`no frame from the server within ${timeout} ms`);
      }
    }
  }

  /** Whether the server closes the connection within `timeout` ms (frames before the end are skipped). */
  async closedByServer(timeout = 3000): Promise<boolean> {
    return (await this.client.readUntilClose(timeout)).closed;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  #parse(): ServerFrame | null {
    const text = this.client.received;
    const at = this.#pos;
    if (text.length - at < 2) return null;
    const b0 = text.charCodeAt(at), b1 = text.charCodeAt(at + 1);
    if ((b1 & 0x80) !== 0) throw new Error("the server masked a frame");
    let length = b1 & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (text.length - at < 4) return null;
      length = (text.charCodeAt(at + 2) << 8) | text.charCodeAt(at + 3);
      start = at + 4;
    } else if (length === 127) {
      if (text.length - at < 10) return null;
      length = 0;
      for (let i = 2; i < 10; i++) length = length * 256 + text.charCodeAt(at + i);
      start = at + 10;
    }
    if (text.length - start < length) return null;
    this.#pos = start + length;
    const payload = bytes(text.slice(start, start + length));
    const opcode = b0 & 0x0f;
    const closeCode = opcode === 8 && length >= 2 ? (payload[0] << 8) | payload[1] : 0;
    return {
      fin: (b0 & 0x80) !== 0,
      opcode,
      payload,
      text: new TextDecoder().decode(payload),
      code: closeCode,
      reason: opcode === 8 && length > 2 ? new TextDecoder().decode(payload.subarray(2)) : "",
    };
  }
}

/** The bytes of several arrays, one after another. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
