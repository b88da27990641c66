/**
 * A raw HTTP/1.1 client for the end-to-end tests: write bytes, read a whole
 * response (Content-Length, chunked, or until close), with a time bound.
 *
 * @module
 */
import { type App, type Route, serve, type ServeOptions, type Server } from "../../wsgi/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server on 127.0.0.1 and a port to reach it. */
export interface TestServer {
  server: Server;
  port: number;
  /** Errors the server reported through `onError`. */
  errors: [unknown, string][];
  /** Shuts the server down (deadline 100 ms by default). */
  close(deadline?: number): Promise<void>;
}

/** Starts `app` on a free port; errors are collected instead of logged. */
export function start(app: App | Route[], options: ServeOptions = {}): TestServer {
  const errors: [unknown, string][] = [];
  const server = serve(app, {
    hostname: "127.0.0.1",
    port: 0,
    onError: (error, context) => errors.push([error, context]),
    ...options,
  });
  return {
    server,
    port: (server.addr as Deno.NetAddr).port,
    errors,
    close: (deadline = 100) => server.shutdown(deadline),
  };
}

/** A parsed response. */
export interface Response {
  status: number;
  /** The status line. */
  line: string;
  /** Lower-cased names to values (repeats joined with ", "). */
  headers: Record<string, string>;
  /** The body, decoded from its framing. */
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text: string;
  /** The raw bytes of the response as text (ISO-8859-1), framing included. */
  raw: string;
}

/** A connection that reads responses one after another. */
export class Client {
  readonly conn: Deno.Conn;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<Client> {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes a request (a string is sent as ISO-8859-1 bytes when it has no code point above 0xFF). */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1Bytes(data) : data;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Reads one response; `head` for a response to HEAD (no body). Rejects after `timeout` ms. */
  async response(options: { head?: boolean; timeout?: number } = {}): Promise<Response> {
    const deadline = Date.now() + (options.timeout ?? 5000);
    for (;;) {
      const parsed = parse(this.#buf, options.head ?? false, this.#eof);
      if (parsed !== null) {
        this.#buf = this.#buf.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.#eof) {
        throw new Error(`connection closed before a full response: ${JSON.stringify(text(this.#buf))}`);
      }
      await this.#more(deadline);
    }
  }

  /** Resolves true if the server closes the connection (EOF or reset) within `timeout` ms. */
  async closed(timeout = 3000): Promise<boolean> {
    const deadline = Date.now() + timeout;
    while (!this.#eof) {
      try {
        await this.#more(deadline);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return true;
        if (error instanceof Error && error.message === "timeout") return false;
        throw error;
      }
    }
    return true;
  }

  /** Everything until the server closes (bounded by `timeout`). */
  async readAll(timeout = 5000): Promise<string> {
    const deadline = Date.now() + timeout;
    while (!this.#eof) await this.#more(deadline);
    return text(this.#buf);
  }

  /** Closes the client side. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  async #more(deadline: number): Promise<void> {
    const chunk = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), Math.max(0, deadline - Date.now()));
    });
    try {
      const n = await Promise.race([this.conn.read(chunk), timeout]);
      if (n === null) this.#eof = true;
      else this.#buf = concat(this.#buf, chunk.subarray(0, n));
    } catch (error) {
      if (error instanceof Error && error.message === "timeout") throw error;
      if (error instanceof Deno.errors.ConnectionReset) {
        this.#eof = true;
        return;
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One request on a new connection; the response, and whether the server then closed. */
export async function exchange(
  port: number,
  request: string | Uint8Array,
  options: { head?: boolean; timeout?: number } = {},
): Promise<Response> {
  const client = await Client.connect(port);
  try {
    await client.send(request);
    return await client.response(options);
  } finally {
    client.close();
  }
}

/** `GET path` over HTTP/1.1 with `Connection: close`. */
export function get(port: number, path: string, headers = ""): Promise<Response> {
  return exchange(port, `GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n${headers}\r\n`);
}

/** Replaces the Date header's value by a fixed one, for byte-exact comparisons. */
export function normalizeDate(raw: string): string {
  return raw.replace(/\r\nDate: [^\r]+\r\n/g, "\r\nDate: X\r\n");
}

function parse(
  buf: Uint8Array,
  head: boolean,
  eof: boolean,
): { response: Response; consumed: number } | null {
  const end = indexOf(buf, "\r\n\r\n");
  if (end < 0) return null;
  const headText = text(buf.subarray(0, end));
  const [line, ...fields] = headText.split("\r\n");
  const status = Number(line.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon).toLowerCase();
    const value = field.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let pos = end + 4;
  let body: Uint8Array;
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) body = new Uint8Array(0);
  else if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
    const parts: Uint8Array[] = [];
    for (;;) {
      const lineEnd = indexOf(buf, "\r\n", pos);
      if (lineEnd < 0) return null;
      const size = parseInt(text(buf.subarray(pos, lineEnd)).split(";")[0], 16);
      pos = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = indexOf(buf, "\r\n\r\n", pos - 2);
        if (trailerEnd < 0) return null;
        pos = trailerEnd + 4;
        break;
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = parts.reduce((a, b) => concat(a, b), new Uint8Array(0));
  } else if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (buf.length < pos + length) return null;
    body = buf.subarray(pos, pos + length);
    pos += length;
  } else {
    if (!eof) return null;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  return {
    response: { status, line, headers, body, text: decoder.decode(body), raw: text(buf.subarray(0, pos)) },
    consumed: pos,
  };
}

function indexOf(buf: Uint8Array, needle: string, from = 0): number {
  const first = needle.charCodeAt(0);
  for (
    let i = buf.indexOf(first, from);
    i >= 0 && i <= buf.length - needle.length;
    i = buf.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && buf[i + j] === needle.charCodeAt(j)) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function text(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function latin1Bytes(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return encoder.encode(s);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Waits until `check()` is true, polling every few ms, for at most `timeout` ms. */
export async function until(check: () => boolean, timeout = 3000, what = "a condition"): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
