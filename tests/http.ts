/**
 * Shared helpers of the tests that talk HTTP to a real server (wsgi,
 * middleware, end to end): a server on 127.0.0.1 port 0 that records what it
 * logs, a raw-socket client that reads with a timeout (a hang is a failure,
 * never a stuck test) and reads pipelined or keep-alive responses one after
 * another, a strict HTTP/1.1 response parser, `Date` normalisation for
 * exact-byte comparisons, and `until` to wait for a condition.
 *
 * Every byte string here is ISO-8859-1: one code point per byte, so raw
 * requests can carry any octet and responses compare byte for byte.
 *
 * @module
 */
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { type App, type Route, serve, type ServeOptions, type Server } from "../wsgi/mod.ts";

/** The default `Server` header value. */
export const SOFTWARE = "cogen-deno/0.1.0";
/** A response's Date and Server lines, its date as {@linkcode normalizeDate} leaves it. */
export const DS = `Date: <date>\r\nServer: ${SOFTWARE}\r\n`;
/** `Content-Type: text/plain`, as a header list. */
export const TEXT: [string, string][] = [["Content-Type", "text/plain"]];
/** Where test servers listen. */
export const HOST = "127.0.0.1";
/** How long a read (or {@linkcode until}) may wait before the test calls it a hang (ms). */
export const HANG_MS = 2000;

/** A string of code points <= 0xFF as bytes, one byte each. */
export function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`bytes(): code point ${c} at ${i} is not one byte`);
    out[i] = c;
  }
  return out;
}

/** Bytes as a string, one code point per byte. */
export function latin1(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i += 8192) {
    s += String.fromCharCode(...data.subarray(i, i + 8192));
  }
  return s;
}

/** A string's UTF-8 bytes, as a one-byte-per-code-point string (to compare with received text). */
export function utf8AsLatin1(text: string): string {
  return latin1(new TextEncoder().encode(text));
}

// ---- servers ----

/** Something the server reported through `onError`. */
export interface Logged {
  error: unknown;
  context: string;
}

/** A server started for a test. */
export interface TestServer {
  server: Server;
  /** The port chosen (port 0 at start). */
  port: number;
  /** Everything reported through `onError`, in order. */
  errors: Logged[];
  /** Graceful shutdown with a deadline (ms, 100 by default); resolves when every connection is closed. */
  stop(deadline?: number): Promise<void>;
}

/** Starts `app` on 127.0.0.1, port 0; errors are recorded (and passed to `options.onError` too). */
export function startServer(app: App | Iterable<Route>, options: ServeOptions = {}): TestServer {
  const errors: Logged[] = [];
  const hook = options.onError;
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    ...options,
    onError: (error, context) => {
      errors.push({ error, context });
      hook?.(error, context);
    },
  });
  return {
    server,
    port: (server.addr as Deno.NetAddr).port,
    errors,
    stop: (deadline = 100) => server.shutdown(deadline),
  };
}

/** Runs `fn` with a server for `app`, and always shuts it down. */
export async function withServer(
  app: App | Iterable<Route>,
  options: ServeOptions,
  fn: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = startServer(app, options);
  try {
    await fn(server);
  } finally {
    await server.stop(500);
  }
}

/** An app answering `200 OK` with `text` (text/plain), via an array. */
export function textApp(text = "ok"): App {
  return (_environ, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [text];
  };
}

/** A promise and its resolvers. */
export function deferred<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

/** Resolves after `ms` (the timer is always cleared by then). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `check()` is true, polling every few ms.
 *
 * @throws {Error} naming `what` when it is still false after `timeout` ms.
 */
export async function until(check: () => boolean, timeout = HANG_MS, what = "a condition"): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

// ---- responses ----

/** A parsed response. */
export interface ParsedResponse {
  /** Its exact bytes (ISO-8859-1). */
  raw: string;
  /** `"HTTP/1.1"`… */
  version: string;
  status: number;
  reason: string;
  /** The fields as received, in order. */
  headers: [string, string][];
  /** The body, de-chunked (ISO-8859-1: one code point per byte). */
  body: string;
  /** The body decoded as UTF-8 (what an app's text reads as). */
  text: string;
  /** How the body was delimited. */
  framing: "none" | "length" | "chunked" | "close";
  /** Whether a chunked body ended with its last chunk (`0\r\n\r\n`). */
  terminated: boolean;
}

/** The first value of field `name` (case-insensitive), or `undefined`. */
export function header(response: ParsedResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  return response.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** Every value of field `name` (case-insensitive). */
export function headerAll(response: ParsedResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return response.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Thrown when the received bytes are not an HTTP/1.1 response. */
export class ResponseSyntaxError extends Error {
  override name = "ResponseSyntaxError";
}

/**
 * Parses one response from `text` at `start`, for a request of `method`.
 * Returns it and where it ends, or `null` when more bytes are needed (`eof`:
 * no more will come, so a close-delimited body ends at the end of `text`, and
 * a truncated one is returned with `terminated: false`).
 *
 * @throws {ResponseSyntaxError} when the bytes are not a response.
 */
export function parseResponse(
  text: string,
  start: number,
  method = "GET",
  eof = false,
): { response: ParsedResponse; end: number } | null {
  const headEnd = text.indexOf("\r\n\r\n", start);
  if (headEnd < 0) {
    if (eof && text.length > start) {
      throw new ResponseSyntaxError(`truncated head: ${JSON.stringify(text.slice(start))}`);
    }
    return null;
  }
  const lines = text.slice(start, headEnd).split("\r\n");
  const m = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0]);
  if (m === null) throw new ResponseSyntaxError(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ResponseSyntaxError(`bad header line: ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  const status = Number(m[2]);
  const response: ParsedResponse = {
    raw: "",
    version: m[1],
    status,
    reason: m[3],
    headers,
    body: "",
    text: "",
    framing: "none",
    terminated: true,
  };
  let pos = headEnd + 4;
  const finish = (end: number) => {
    response.raw = text.slice(start, end);
    response.text = new TextDecoder().decode(bytes(response.body));
    return { response, end };
  };
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return finish(pos);
  const te = header(response, "transfer-encoding");
  const cl = header(response, "content-length");
  if (te !== undefined) {
    if (te.toLowerCase() !== "chunked") throw new ResponseSyntaxError(`unexpected Transfer-Encoding ${te}`);
    response.framing = "chunked";
    let body = "";
    for (;;) {
      const lineEnd = text.indexOf("\r\n", pos);
      if (lineEnd < 0) break;
      const size = parseInt(text.slice(pos, lineEnd).split(";")[0], 16);
      if (!(size >= 0)) throw new ResponseSyntaxError(`bad chunk size line at ${pos}`);
      if (size === 0) {
        const trailerEnd = text.indexOf("\r\n", lineEnd + 2);
        if (trailerEnd < 0) break;
        // No trailers from this server: the last chunk is followed by an empty line.
        if (trailerEnd !== lineEnd + 2) throw new ResponseSyntaxError("unexpected trailer section");
        response.body = body;
        return finish(trailerEnd + 2);
      }
      if (lineEnd + 2 + size + 2 > text.length) break;
      if (text.slice(lineEnd + 2 + size, lineEnd + 4 + size) !== "\r\n") {
        throw new ResponseSyntaxError(`chunk data not followed by CRLF at ${lineEnd + 2 + size}`);
      }
      body += text.slice(lineEnd + 2, lineEnd + 2 + size);
      pos = lineEnd + 4 + size;
    }
    if (!eof) return null;
    response.body = body;
    response.terminated = false;
    return finish(text.length);
  }
  if (cl !== undefined) {
    response.framing = "length";
    const n = Number(cl);
    if (text.length - pos >= n) {
      response.body = text.slice(pos, pos + n);
      return finish(pos + n);
    }
    if (!eof) return null;
    response.body = text.slice(pos);
    response.terminated = false;
    return finish(text.length);
  }
  if (!eof) return null;
  response.framing = "close";
  response.body = text.slice(pos);
  return finish(text.length);
}

/**
 * Parses the responses in `text`, in order, one per request method in
 * `methods` (the last method repeats; interim 1xx responses take none).
 * Stops at the first incomplete one: `rest` holds what is left.
 */
export function parseResponses(
  text: string,
  methods: string[] = ["GET"],
  eof = true,
): { responses: ParsedResponse[]; rest: string } {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  let request = 0;
  while (pos < text.length) {
    const method = methods[Math.min(request, methods.length - 1)];
    const parsed = parseResponse(text, pos, method, eof);
    if (parsed === null) break;
    responses.push(parsed.response);
    pos = parsed.end;
    if (parsed.response.status >= 200) request++;
  }
  return { responses, rest: text.slice(pos) };
}

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

/** Replaces every `Date` field value with `<date>` after checking it is an IMF-fixdate. */
export function normalizeDate(text: string): string {
  return text.replace(/\r\nDate: ([^\r\n]*)\r\n/g, (_all, value: string) => {
    assert.match(value, IMF_FIXDATE, `Date must be an IMF-fixdate, got ${JSON.stringify(value)}`);
    return "\r\nDate: <date>\r\n";
  });
}

/** Asserts the fields every response from the server carries (Date, Server). */
export function assertServerFields(response: ParsedResponse, software = SOFTWARE): void {
  const date = header(response, "date");
  assert.ok(date !== undefined, `no Date in ${JSON.stringify(response.raw.slice(0, 300))}`);
  assert.match(date, IMF_FIXDATE);
  assert.equal(
    header(response, "server"),
    software,
    `Server field of ${JSON.stringify(response.raw.slice(0, 300))}`,
  );
}

// ---- clients ----

/** How a read ended. */
export interface ReadOutcome {
  /** What arrived (from where the client had consumed up to), ISO-8859-1. */
  text: string;
  /** Whether the server closed (EOF or reset). */
  closed: boolean;
  /** Whether the wait ran out first. */
  timedOut: boolean;
}

/**
 * A raw client connection: writes bytes, reads with timeouts, parses
 * responses one after another (pipelined or keep-alive). Always `close()` it
 * (tests keep the resource sanitizer on).
 */
export class Client {
  readonly conn: Deno.Conn;
  /** Every byte received so far (ISO-8859-1). */
  received = "";
  /** Where the next unread response starts in `received`. */
  offset = 0;
  /** Whether the server closed its side (EOF) or reset the connection. */
  eof = false;
  /** Whether the connection was reset. */
  reset = false;
  #pending: Promise<Uint8Array | null> | null = null;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`, or to a Unix socket `{ path }`. */
  static async connect(to: number | { path: string }): Promise<Client> {
    const conn = typeof to === "number"
      ? await Deno.connect({ hostname: HOST, port: to })
      : await Deno.connect({ transport: "unix", path: to.path });
    return new Client(conn);
  }

  /** Writes all of `data`; resolves `false` when the server had closed the connection. */
  async write(data: string | Uint8Array): Promise<boolean> {
    const b = typeof data === "string" ? bytes(data) : data;
    try {
      let written = 0;
      while (written < b.length) written += await this.conn.write(b.subarray(written));
      return true;
    } catch {
      return false;
    }
  }

  /** Half-closes: the server sees EOF, the client can still read. */
  async closeWrite(): Promise<void> {
    await (this.conn as Deno.TcpConn).closeWrite();
  }

  /** One read, waiting at most until `deadline` (Date.now()); false when it ran out. */
  async fill(deadline: number): Promise<boolean> {
    if (this.eof) return true;
    const ms = deadline - Date.now();
    if (ms <= 0) return false;
    if (this.#pending === null) {
      const buf = new Uint8Array(65536);
      this.#pending = this.conn.read(buf).then(
        (n) => (n === null ? null : buf.slice(0, n)),
        (error) => {
          if (error instanceof Deno.errors.ConnectionReset) this.reset = true;
          return null;
        },
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), ms));
    const result = await Promise.race([this.#pending, timeout]);
    clearTimeout(timer);
    if (result === "timeout") return false;
    this.#pending = null;
    if (result === null) this.eof = true;
    else this.received += latin1(result);
    return true;
  }

  /**
   * Reads until one more complete response is here (for a request of
   * `method`) and returns it; interim 1xx responses are returned too.
   *
   * @throws {Error} on a timeout, or when the server closed before it was complete.
   * @throws {ResponseSyntaxError} when the bytes are not a response.
   */
  async response(method = "GET", timeout = HANG_MS): Promise<ParsedResponse> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const parsed = parseResponse(this.received, this.offset, method, this.eof);
      if (parsed !== null) {
        if (!parsed.response.terminated) {
          throw new Error(
            `the server closed in the middle of a body; received ${
              JSON.stringify(this.received.slice(this.offset, this.offset + 500))
            }`,
          );
        }
        this.offset = parsed.end;
        return parsed.response;
      }
      if (this.eof) {
        throw new Error(
          `the server closed before a complete response; received ${
            JSON.stringify(this.received.slice(this.offset))
          }`,
        );
      }
      if (!(await this.fill(deadline))) {
        throw new Error(
          `no complete response within ${timeout} ms (a hang); received ${
            JSON.stringify(this.received.slice(this.offset, this.offset + 500))
          }`,
        );
      }
    }
  }

  /** Reads `n` responses (methods as {@linkcode parseResponses}), as {@linkcode Client.response}. */
  async responses(n: number, methods: string[] = ["GET"], timeout = HANG_MS): Promise<ParsedResponse[]> {
    const out: ParsedResponse[] = [];
    let request = 0;
    while (request < n) {
      const response = await this.response(methods[Math.min(request, methods.length - 1)], timeout);
      out.push(response);
      if (response.status >= 200) request++;
    }
    return out;
  }

  /** Reads until the server closes (or `timeout`); returns what arrived after `offset`. */
  async readUntilClose(timeout = HANG_MS): Promise<ReadOutcome> {
    const deadline = Date.now() + timeout;
    let timedOut = false;
    while (!this.eof) {
      if (!(await this.fill(deadline))) {
        timedOut = true;
        break;
      }
    }
    const text = this.received.slice(this.offset);
    this.offset = this.received.length;
    return { text, closed: this.eof, timedOut };
  }

  /** Reads until `received` (after `offset`) satisfies `done`, or `timeout`; returns whether it did. */
  async readUntil(done: (text: string) => boolean, timeout = HANG_MS): Promise<boolean> {
    const deadline = Date.now() + timeout;
    while (!done(this.received.slice(this.offset))) {
      if (this.eof || !(await this.fill(deadline))) return done(this.received.slice(this.offset));
    }
    return true;
  }

  /** Closes the connection and waits for a pending read to settle (no leaked op). */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.conn.close();
      } catch {
        // Already closed.
      }
    }
    if (this.#pending !== null) {
      await this.#pending;
      this.#pending = null;
    }
  }
}

/** The outcome of {@linkcode exchange}. */
export interface Exchange extends ReadOutcome {
  /** The responses parsed from `text` (the connection's whole output; none when it does not parse). */
  responses: ParsedResponse[];
  /** Bytes after the last complete response. */
  rest: string;
}

/**
 * Sends `request` on a new connection (optionally half-closing after it), reads
 * until the server closes or `timeout`, and parses what came back.
 */
export async function exchange(
  to: number | { path: string },
  request: string | Uint8Array,
  options: { methods?: string[]; timeout?: number; halfClose?: boolean } = {},
): Promise<Exchange> {
  const client = await Client.connect(to);
  try {
    await client.write(request);
    if (options.halfClose) await client.closeWrite();
    const outcome = await client.readUntilClose(options.timeout ?? HANG_MS);
    try {
      const { responses, rest } = parseResponses(outcome.text, options.methods ?? ["GET"], outcome.closed);
      return { ...outcome, responses, rest };
    } catch (error) {
      if (!(error instanceof ResponseSyntaxError)) throw error;
      return { ...outcome, responses: [], rest: outcome.text };
    }
  } finally {
    await client.close();
  }
}

/**
 * Sends `request` on a new connection and reads one response (as
 * {@linkcode Client.response}: complete, within `timeout`), then closes the
 * connection without waiting for the server to close it.
 */
export async function responseTo(
  to: number | { path: string },
  request: string | Uint8Array,
  options: { method?: string; timeout?: number } = {},
): Promise<ParsedResponse> {
  const client = await Client.connect(to);
  try {
    if (!(await client.write(request))) throw new Error("the server closed before the request was sent");
    return await client.response(options.method, options.timeout);
  } finally {
    await client.close();
  }
}

/** A plain HTTP/1.1 `GET path` closing the connection (`Host: localhost` unless `host` says otherwise). */
export function get(path = "/", { host = "localhost" }: { host?: string } = {}): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

/** Asserts that a fresh connection is answered 200 (the server still serves). */
export async function assertServes(port: number, body?: string): Promise<void> {
  const result = await exchange(port, get("/fresh"));
  assert.ok(result.closed, `a fresh request hung: ${JSON.stringify(result.text)}`);
  assert.equal(result.responses.length, 1, `a fresh request got ${JSON.stringify(result.text)}`);
  assert.equal(result.responses[0].status, 200);
  if (body !== undefined) assert.equal(result.responses[0].body, body);
}

// ---- compressed and chunked bodies ----

/** A gzip or deflate body, decompressed whole, as text. */
export async function decompress(body: string, coding: "gzip" | "deflate"): Promise<string> {
  const stream = new Blob([bytes(body) as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream(coding),
  );
  return new TextDecoder().decode(await new Response(stream).arrayBuffer());
}

/** Decompresses the start of a stream (what arrived so far), which must end on a flush. */
export function decompressPartial(body: string, coding: "gzip" | "deflate"): string {
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const data = bytes(body);
  return new TextDecoder().decode(
    coding === "gzip" ? zlib.gunzipSync(data, options) : zlib.inflateSync(data, options),
  );
}

/** The body data of a chunked message received so far (complete chunks only). */
export function chunkedSoFar(text: string): string {
  let pos = text.indexOf("\r\n\r\n") + 4;
  let body = "";
  for (;;) {
    const lineEnd = text.indexOf("\r\n", pos);
    if (lineEnd < 0) return body;
    const size = parseInt(text.slice(pos, lineEnd), 16);
    if (size === 0 || lineEnd + 2 + size + 2 > text.length) return body;
    body += text.slice(lineEnd + 2, lineEnd + 2 + size);
    pos = lineEnd + 4 + size;
  }
}

/** Runs `fn` with a server for `app` and one client connected to it; always closes both. */
export async function withClient(
  app: App | Iterable<Route>,
  options: ServeOptions,
  fn: (client: Client, server: TestServer) => Promise<void>,
): Promise<void> {
  await withServer(app, options, async (server) => {
    const client = await Client.connect(server.port);
    try {
      await fn(client, server);
    } finally {
      await client.close();
    }
  });
}
