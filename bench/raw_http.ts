/**
 * A minimal HTTP/1.1 client on raw sockets, for the benchmark's checks, the
 * long-polling client and the conformance table: it sends bytes exactly as
 * given (pipelined or malformed requests too) and parses the responses
 * (interim ones too), so that what a server sent can be compared byte for
 * byte.
 *
 * @module
 */

/** One parsed response. */
export interface RawResponse {
  /** The status code. */
  status: number;
  /** Header fields, names lower-cased (the last value of a repeated field). */
  headers: Map<string, string>;
  /** The body (after chunked decoding), bytes as ISO-8859-1. */
  body: string;
}

/** The outcome of {@linkcode parseResponse}. */
export type Parsed =
  | { complete: false }
  | { complete: true; response: RawResponse; end: number }
  | { complete: true; error: string };

const STATUS = /^HTTP\/1\.[01] (\d{3})(?: |$)/;

/**
 * Parses the response that starts at `text[from]` (bytes as ISO-8859-1):
 * `{ complete: false }` until all of it is there, then the response and the
 * offset just past it, or what is wrong with it. A 1xx, 204 or 304 response
 * has no body; one framed by neither `Content-Length` nor `chunked` runs to
 * the end of the connection, so it is complete once `closed` (RFC 9112
 * §6.3), and an error otherwise.
 */
export function parseResponse(text: string, from = 0, closed = false): Parsed {
  const headEnd = text.indexOf("\r\n\r\n", from);
  if (headEnd < 0) return { complete: false };
  const lines = text.slice(from, headEnd).split("\r\n");
  const status = STATUS.exec(lines[0]);
  if (status === null) return { complete: true, error: `bad status line ${JSON.stringify(lines[0])}` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return { complete: true, error: `bad header line ${JSON.stringify(line)}` };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let at = headEnd + 4;
  const code = Number(status[1]);
  if (code < 200 || code === 204 || code === 304) {
    return { complete: true, response: { status: code, headers, body: "" }, end: at };
  }
  if (!(headers.get("transfer-encoding") ?? "").toLowerCase().endsWith("chunked")) {
    const field = headers.get("content-length");
    if (field === undefined && closed) {
      return { complete: true, response: { status: code, headers, body: text.slice(at) }, end: text.length };
    }
    const length = Number(field ?? NaN);
    if (!Number.isInteger(length)) return { complete: true, error: "neither Content-Length nor chunked" };
    if (text.length < at + length) return { complete: false };
    return {
      complete: true,
      response: { status: code, headers, body: text.slice(at, at + length) },
      end: at + length,
    };
  }
  let body = "";
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    if (eol < 0) return { complete: false };
    const size = parseInt(text.slice(at, eol).split(";")[0], 16);
    if (!Number.isFinite(size)) return { complete: true, error: "bad chunk size" };
    at = eol + 2;
    if (size === 0) {
      for (;;) { // trailer fields, then an empty line
        const end = text.indexOf("\r\n", at);
        if (end < 0) return { complete: false };
        const empty = end === at;
        at = end + 2;
        if (empty) return { complete: true, response: { status: code, headers, body }, end: at };
      }
    }
    if (text.length < at + size + 2) return { complete: false };
    body += text.slice(at, at + size);
    at += size + 2;
  }
}

/** `GET path` as one raw HTTP/1.1 request. */
export const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

/** Throws `what` unless `condition` holds: a check of what a server answered. */
export function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

const latin1 = new TextDecoder("latin1");

/** Closes `conn` unless it is closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Writes all of `bytes` to `conn` (one `write` may take only part of them). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/**
 * Reads from `conn` until `count` complete responses have arrived and returns
 * them, with the number of bytes that came after the last one (0 unless the
 * server sent too much). Throws if the connection closes first, a response
 * is malformed, or `timeoutMs` passes.
 */
export async function readResponses(
  conn: Deno.Conn,
  count: number,
  timeoutMs = 10_000,
): Promise<{ responses: RawResponse[]; extra: number }> {
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const buf = new Uint8Array(65536);
  const responses: RawResponse[] = [];
  let text = "";
  let at = 0;
  try {
    for (;;) {
      while (responses.length < count) {
        const parsed = parseResponse(text, at);
        if (!parsed.complete) break;
        if ("error" in parsed) throw new Error(parsed.error);
        responses.push(parsed.response);
        at = parsed.end;
      }
      if (responses.length === count) return { responses, extra: text.length - at };
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (error) {
        throw new Error(`no complete answer within ${timeoutMs} ms (${error})`);
      }
      if (n === null) throw new Error(`closed after ${responses.length} of ${count} response(s)`);
      text += latin1.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to 127.0.0.1:`port` (over TLS, trusting `caCerts`, when given),
 * writes `request` (one request, or several pipelined), reads `count`
 * responses, closes. See {@linkcode readResponses}.
 */
export async function exchange(
  port: number,
  request: string | Uint8Array,
  count = 1,
  timeoutMs = 10_000,
  caCerts?: string[],
): Promise<{ responses: RawResponse[]; extra: number }> {
  const conn = caCerts === undefined
    ? await Deno.connect({ hostname: "127.0.0.1", port })
    : await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts });
  try {
    const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
    await writeAll(conn, bytes).catch(() => {}); // a server may answer and close before reading it all
    return await readResponses(conn, count, timeoutMs);
  } finally {
    closeQuietly(conn);
  }
}
