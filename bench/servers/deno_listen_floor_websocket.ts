/**
 * The `websocket` section's floor on `Deno.listen`: the least a WebSocket
 * server written on Deno's sockets can do for the section's contract, so
 * that a run shows how close ours comes to what `Deno.Conn` allows (the
 * broadcast writes one frame per socket, each an async `conn.write`). It is
 * not a conforming server: it trusts its input completely (no limits, no
 * UTF-8 check, no checks of the handshake beyond its key).
 *
 * - `/ws`: the handshake (101 with the `Sec-WebSocket-Accept` of the key),
 *   then every frame echoed with its payload unmasked and its opcode and FIN
 *   kept (the echoes of one read in one write); a ping answered with a pong;
 *   a close answered with a close of the same code, then the TCP close.
 * - `/news`: the same, held; `GET /signal?value=V` writes V as one text
 *   frame to every held socket (writes not awaited) and answers how many;
 *   `GET /stats` answers how many are held. A held socket is let go when
 *   its read ends.
 *
 * It listens on `HOST`:`PORT` (default 127.0.0.1:0) and prints
 * `listening on http://HOST:PORT/`; SIGTERM ends it.
 *
 * Run: `deno run -A bench/servers/deno_listen_floor_websocket.ts`
 *
 * @module
 */
import { listening, settings } from "./contract.mjs";

const { hostname, port } = settings(Deno.env.toObject(), "deno_listen_floor_websocket.ts", ["websocket"]);
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const IGNORE = () => {};
const held = new Set<Deno.Conn>();

/** Writes `data` without waiting for it; a write that took part of it is followed by one for the rest. */
function send(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  return conn.write(data).then((n) => n < data.length ? send(conn, data.subarray(n)) : undefined);
}

/** An unmasked frame: FIN and opcode in `first`, then `payload`. */
function frame(first: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + n);
  out[0] = first;
  if (head === 2) out[1] = n;
  else if (head === 4) {
    out[1] = 126;
    out[2] = n >> 8;
    out[3] = n & 255;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head);
  return out;
}

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function answer(conn: Deno.Conn, body: string): void {
  const text = `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${
    encoder.encode(body).length
  }\r\nConnection: close\r\n\r\n${body}`;
  send(conn, encoder.encode(text)).then(() => conn.close(), IGNORE).catch(IGNORE);
}

/** Serves one connection: its request head, then (for a WebSocket) its frames until the read ends. */
async function serveConnection(conn: Deno.Conn): Promise<void> {
  let buf = new Uint8Array(512); // grows as a head or a frame needs; a held socket costs little
  let len = 0;
  let end = -1;
  while (end < 0) {
    if (len === buf.length) buf = doubled(buf);
    const n = await conn.read(buf.subarray(len));
    if (n === null) return conn.close();
    len += n;
    end = findHeadEnd(buf, len);
  }
  const head = new TextDecoder().decode(buf.subarray(0, end));
  const target = head.slice(head.indexOf(" ") + 1, head.indexOf(" ", head.indexOf(" ") + 1));
  const url = new URL(target, "http://floor");
  if (url.pathname === "/signal") {
    const value = frame(0x81, encoder.encode(url.searchParams.get("value") ?? ""));
    for (const socket of held) send(socket, value).catch(IGNORE);
    return answer(conn, `${held.size}\n`);
  }
  if (url.pathname === "/stats") return answer(conn, `${held.size}\n`);
  const key = /\r\nsec-websocket-key: *([^\r]+)/i.exec(head)?.[1].trim() ?? "";
  await send(
    conn,
    encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );
  if (url.pathname === "/news") held.add(conn);
  buf.copyWithin(0, end + 4, len);
  len -= end + 4;
  try {
    for (;;) {
      const replies: Uint8Array[] = [];
      let at = 0;
      let closing = false;
      for (;;) {
        const parsed = parseFrame(buf, at, len);
        if (parsed === null) break;
        at = parsed.next;
        const opcode = parsed.first & 15;
        if (opcode === 8) {
          replies.push(frame(0x88, parsed.payload.subarray(0, 2)));
          closing = true;
          break;
        }
        if (opcode === 9) replies.push(frame(0x8a, parsed.payload));
        else if (opcode !== 10) replies.push(frame(parsed.first, parsed.payload));
      }
      if (replies.length > 0) {
        const out = replies.length === 1 ? replies[0] : concat(replies);
        if (closing) {
          await send(conn, out);
          break;
        }
        send(conn, out).catch(IGNORE);
      }
      buf.copyWithin(0, at, len);
      len -= at;
      if (len === buf.length) buf = doubled(buf);
      const n = await conn.read(buf.subarray(len));
      if (n === null) break;
      len += n;
    }
  } finally {
    held.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

/** `buf` copied into one twice its size: room for a longer head or frame. */
function doubled(buf: Uint8Array): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(buf.length * 2);
  bigger.set(buf);
  return bigger;
}

/** Where `\r\n\r\n` starts in `buf[0, len)`, or -1. */
function findHeadEnd(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i - 3;
  }
  return -1;
}

/** The client frame at `at` (masked), unmasked; `null` when it is not all in `buf[at, len)` yet. */
function parseFrame(
  buf: Uint8Array,
  at: number,
  len: number,
): { first: number; payload: Uint8Array; next: number } | null {
  if (len - at < 2) return null;
  let n = buf[at + 1] & 127;
  let off = at + 2;
  if (n === 126) {
    if (len - at < 4) return null;
    n = (buf[at + 2] << 8) | buf[at + 3];
    off = at + 4;
  } else if (n === 127) {
    if (len - at < 10) return null;
    n = Number(new DataView(buf.buffer, buf.byteOffset + at + 2, 8).getBigUint64(0));
    off = at + 10;
  }
  if (len - off < 4 + n) return null;
  const mask = buf.subarray(off, off + 4);
  const payload = buf.slice(off + 4, off + 4 + n);
  for (let i = 0; i < n; i++) payload[i] ^= mask[i & 3];
  return { first: buf[at], payload, next: off + 4 + n };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const listener = Deno.listen({ hostname, port });
console.log(listening(hostname, (listener.addr as Deno.NetAddr).port));
for await (const conn of listener) {
  conn.setNoDelay(true);
  serveConnection(conn).catch(() => {
    held.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  });
}
