/**
 * `fromFetchHandler(handler)`: runs a fetch handler — `(request: Request) =>
 * Response`, as Hono's `app.fetch` or a `Deno.serve` handler — as one of our
 * apps, on our server. The request body and the response body both stream;
 * every wait on the handler is an operation, so other requests run meanwhile.
 *
 * @module
 */
import { Await, type Operation } from "../core/mod.ts";
import { isPromiseLike } from "../core/await.ts";
import type { App, Chunk, Environ } from "../wsgi/mod.ts";
import { decodePath } from "../wsgi/environ.ts";
import { STATUS_TEXT } from "../wsgi/http_error.ts";
import { HOP_BY_HOP } from "./hop_by_hop.ts";

/**
 * A fetch handler: the shape of `Deno.serve`'s handler and of Hono's
 * `app.fetch`. `info` carries the client's address and a `completed`
 * promise, as `Deno.serve` gives them.
 */
export type FetchHandler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/**
 * Runs a fetch handler as an app. The `Request` is built from the environ:
 * the method; the URL from `wsgi.url_scheme`, `Host` (else `SERVER_NAME` and
 * `SERVER_PORT`), `SCRIPT_NAME` + `PATH_INFO` and `QUERY_STRING` — the target
 * exactly as received when `REQUEST_URI` still matches them; the header
 * fields as received (`cogen.headers`, else the `HTTP_*` keys); the body as a
 * stream read from the connection as the handler reads it (never buffered up
 * front); and `signal`, aborted when the client goes away.
 *
 * The handler's promise is awaited as an operation. Then the response goes
 * out as it comes: its status and headers (each `Set-Cookie` kept apart;
 * hop-by-hop fields such as `Connection` dropped: the server manages the
 * connection),
 * then its body read chunk by chunk, each read an operation — so a
 * server-sent event stream reaches the client event by event. For HEAD, the
 * body is read only as far as it is in memory (for GET's framing), then
 * cancelled; a 204, 205 or 304's is cancelled unread. When the client leaves,
 * the response body is cancelled.
 *
 * @example
 * ```ts
 * import { fromFetchHandler } from "@cogen/cogen/middleware";
 * import { serve } from "@cogen/cogen/wsgi";
 * const server = serve(
 *   fromFetchHandler((request) => Response.json({ path: new URL(request.url).pathname })),
 *   { hostname: "127.0.0.1", port: 0 },
 * );
 * const response = await fetch(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/hello`);
 * await response.json(); // { path: "/hello" }
 * await server.shutdown(1000);
 * ```
 */
export function fromFetchHandler(handler: FetchHandler): App {
  if (typeof handler !== "function") {
    throw new TypeError(
      `fromFetchHandler: handler must be a function (request) => Response, got ${typeof handler}; for Hono pass app.fetch`,
    );
  }
  return async function* fetchHandler(
    environ,
    startResponse,
  ): AsyncGenerator<Chunk | Operation<unknown>, void, unknown> {
    let url: string;
    try {
      url = requestUrl(environ);
    } catch (error) {
      startResponse("400 Bad Request", [["Content-Type", "text/plain; charset=utf-8"]]);
      yield `400 Bad Request\n${error instanceof Error ? error.message : error}\n`;
      return;
    }
    const method = environ.REQUEST_METHOD;
    const input = environ["wsgi.input"];
    // GET and HEAD requests cannot carry a body in a Request; otherwise only when the head announced one.
    const hasBody = method !== "GET" && method !== "HEAD" &&
      (Number(environ.CONTENT_LENGTH) > 0 || environ.HTTP_TRANSFER_ENCODING !== undefined);
    const request = new Request(url, {
      method,
      headers: requestHeaders(environ),
      body: hasBody ? input.stream : null,
      signal: environ["cogen.signal"],
    });
    const completed = Promise.withResolvers<void>();
    completed.promise.catch(() => {}); // a handler need not watch it
    const info: Deno.ServeHandlerInfo = { remoteAddr: remoteAddr(environ), completed: completed.promise };
    let answer: unknown = null;
    let response: Response | null = null;
    let reader: ReadableStreamDefaultReader<unknown> | null = null;
    let finished = false;
    try {
      answer = handler(request, info);
      // Awaited as an operation: the server runs other requests while the handler works.
      const value: unknown = isPromiseLike(answer) ? yield new Await(answer) : answer;
      if (!(value instanceof Response)) {
        throw new TypeError(
          `fromFetchHandler: the handler gave ${
            value === null ? "null" : typeof value
          }; it must return a Response (or a promise of one)`,
        );
      }
      response = value;
      startResponse(
        `${response.status} ${response.statusText || STATUS_TEXT[response.status] || "Unknown"}`,
        responseHeaders(response.headers),
      );
      const status = response.status;
      if (status === 204 || status === 205 || status === 304) {
        cancelBody(response, new DOMException(`a ${status} response has no body`, "AbortError"));
      } else if (response.body !== null && method === "HEAD") {
        reader = response.body.getReader();
        yield* headBody(reader);
      } else if (response.body !== null) {
        reader = response.body.getReader();
        for (;;) {
          const next = reader.read();
          // A body in memory (text, JSON, bytes) answers at once: taken within this step, it ends the
          // response before its head goes out, so the server gives it a Content-Length.
          let step = await Promise.race([next, afterHops(READ_HOPS)]);
          // A stream still producing: the read is an operation, so the server waits for the next event
          // without blocking anyone, and notices a client that leaves meanwhile.
          if (step === PENDING) step = (yield new Await(next)) as ReadableStreamReadResult<unknown>;
          if (step.done) break;
          const chunk = bodyChunk(step.value);
          if (chunk.length > 0) yield chunk;
        }
      }
      finished = true;
      completed.resolve();
    } finally {
      if (!finished) {
        // The client left (or the response failed): stop whatever produces the body, even a response
        // still to come (request.signal has aborted; a handler may answer all the same).
        const reason = new DOMException("the response was not sent whole", "AbortError");
        completed.reject(new Deno.errors.Interrupted(reason.message));
        if (reader !== null) reader.cancel(reason).catch(() => {});
        else if (response !== null) cancelBody(response, reason);
        else if (isPromiseLike(answer)) {
          answer.then((late) => late instanceof Response && cancelBody(late, reason), () => {});
        }
      }
    }
  };
}

/**
 * The body of a response to HEAD, which is not sent: what it holds in memory
 * is read, for the server to frame the head as GET's (one chunk, then the
 * end: a Content-Length), then it is cancelled — a stream still producing
 * (an endless event stream) is never waited on.
 */
async function* headBody(reader: ReadableStreamDefaultReader<unknown>): AsyncGenerator<Chunk, void> {
  // From a second chunk on, GET's head is chunked whatever follows.
  for (let reads = 0; reads < 2; reads++) {
    const step = await Promise.race([reader.read(), afterHops(READ_HOPS)]);
    if (step === PENDING) break;
    if (step.done) return;
    const chunk = bodyChunk(step.value);
    if (chunk.length > 0) yield chunk;
  }
  yield ""; // the head goes out without a Content-Length for what was read, as GET's would
  reader.cancel(new DOMException("a response to HEAD has no body", "AbortError")).catch(() => {});
}

/** What {@linkcode afterHops} resolves with. */
const PENDING = Symbol("pending");
/** Microtask hops a read of a body in memory takes at most (Deno's take 1 or 2). */
const READ_HOPS = 8;

/** Resolves after `n` microtask hops: a bound that never lets the event loop turn. */
async function afterHops(n: number): Promise<typeof PENDING> {
  for (let i = 0; i < n; i++) await null;
  return PENDING;
}

/** The request's URL, keeping the target exactly as received when it still says the same. */
function requestUrl(environ: Environ): string {
  const scheme = environ["wsgi.url_scheme"] || "http";
  const path = environ.SCRIPT_NAME + environ.PATH_INFO || "/";
  const query = environ.QUERY_STRING;
  let target = `${encodePath(path)}${query ? `?${query}` : ""}`;
  const raw = environ.REQUEST_URI;
  if (typeof raw === "string" && raw.startsWith("/")) {
    // A middleware may have rewritten the path (or the query): the raw target counts only if it agrees.
    const q = raw.indexOf("?");
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? "" : raw.slice(q + 1);
    if (rawQuery === query && decodePath(rawPath) === path) target = raw;
  }
  let host = environ.HTTP_HOST;
  if (host === undefined || host === "") {
    const name = environ.SERVER_NAME.includes(":") ? `[${environ.SERVER_NAME}]` : environ.SERVER_NAME;
    const port = environ.SERVER_PORT;
    const standard = (scheme === "http" && port === "80") || (scheme === "https" && port === "443");
    host = port === "" || standard ? name : `${name}:${port}`;
  }
  const url = `${scheme}://${host}${target}`;
  if (!URL.canParse(url)) {
    throw new TypeError(
      `fromFetchHandler: the request's scheme, host and target do not make a URL: ${JSON.stringify(url)}`,
    );
  }
  return url;
}

/** Percent-encodes a decoded path for a URL; `%2F`, left encoded by the server, stays as is. */
function encodePath(path: string): string {
  return encodeURI(path).replaceAll("%252F", "%2F").replaceAll("%252f", "%2f")
    .replaceAll("?", "%3F").replaceAll("#", "%23");
}

/** The request's header fields: as received (`cogen.headers`) when the server gives them, else from `HTTP_*`. */
function requestHeaders(environ: Environ): Headers {
  const headers = new Headers();
  const cookies: string[] = [];
  const raw = environ["cogen.headers"];
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      // Headers would join repeated Cookie fields with ", ": they are joined with "; " instead (RFC 6265).
      if (raw[i].toLowerCase() === "cookie") cookies.push(raw[i + 1]);
      else headers.append(raw[i], raw[i + 1]);
    }
  } else {
    for (const key in environ) {
      const value = environ[key];
      if (!key.startsWith("HTTP_") || typeof value !== "string") continue;
      const name = key.slice(5).toLowerCase().replaceAll("_", "-");
      if (name === "cookie") cookies.push(value);
      else headers.append(name, value);
    }
    if (environ.CONTENT_TYPE) headers.set("content-type", environ.CONTENT_TYPE);
    if (environ.CONTENT_LENGTH) headers.set("content-length", environ.CONTENT_LENGTH);
  }
  if (cookies.length > 0) headers.set("cookie", cookies.join("; "));
  return headers;
}

/** The response's header fields for `startResponse`, each `Set-Cookie` apart. */
function responseHeaders(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    // Hop-by-hop fields describe the connection, which the server manages (Hono's streamSSE sets
    // `Connection: keep-alive`, for one); Set-Cookie comes next, one field per cookie.
    if (HOP_BY_HOP.has(name) || name === "set-cookie") continue;
    out.push([name, value]);
  }
  for (const cookie of headers.getSetCookie()) out.push(["set-cookie", cookie]);
  return out;
}

/** A chunk of the response body as the server takes it. */
function bodyChunk(value: unknown): Chunk {
  if (value instanceof Uint8Array || typeof value === "string") return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(
    `fromFetchHandler: the response body produced ${
      value === null ? "null" : typeof value
    }; a body stream must produce Uint8Arrays`,
  );
}

/** Cancels a response's body that nobody will read. */
function cancelBody(response: Response, reason: unknown): void {
  if (response.body !== null && !response.bodyUsed) response.body.cancel(reason).catch(() => {});
}

/** The client's address as `Deno.serve` gives it. */
function remoteAddr(environ: Environ): Deno.Addr {
  const port = environ.REMOTE_PORT;
  if (port === "") return { transport: "unix", path: environ.REMOTE_ADDR };
  return { transport: "tcp", hostname: environ.REMOTE_ADDR, port: Number(port) };
}
