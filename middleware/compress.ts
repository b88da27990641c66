/**
 * `compress`: gzip or deflate an app's response as it streams, chosen by the
 * request's `Accept-Encoding`.
 *
 * @module
 */
import type { Operation } from "../core/mod.ts";
import type { App, AppResult, Chunk, Environ, StartResponse, Write } from "../wsgi/mod.ts";
import { concatBytes } from "../wsgi/bytes.ts";
import { relay } from "./relay.ts";

/** Options of {@linkcode compress}. */
export interface CompressOptions {
  /**
   * Bodies smaller than this many bytes are sent as they are (compression
   * would save little and cost a round of CPU). Default 1024.
   */
  threshold?: number;
  /**
   * The media types to compress: exact (`"application/json"`) or a whole
   * family (`"text/*"`; `*` over `*` takes every type). Default
   * {@linkcode COMPRESSIBLE_TYPES}.
   */
  types?: readonly string[];
  // No `level`: CompressionStream takes none; it compresses at the platform's default level.
}

/**
 * The media types {@linkcode compress} compresses by default: text, and the
 * JSON, JavaScript, XML, SVG, WebAssembly and font formats that are not
 * compressed already (images, audio, video, woff/woff2 and archives are).
 *
 * @example
 * ```ts
 * import { compress, COMPRESSIBLE_TYPES } from "./compress.ts";
 * import type { App } from "@cogen/cogen/wsgi";
 * const events: App = (_environ, startResponse) => {
 *   startResponse("200 OK", [["Content-Type", "application/x-ndjson"]]);
 *   return ['{"n":1}\n'];
 * };
 * const app = compress(events, { types: [...COMPRESSIBLE_TYPES, "application/x-ndjson"] });
 * ```
 */
export const COMPRESSIBLE_TYPES: readonly string[] = Object.freeze([
  "text/*",
  "application/json",
  "application/javascript",
  "application/xml",
  "application/xhtml+xml",
  "application/rss+xml",
  "application/atom+xml",
  "application/ld+json",
  "application/manifest+json",
  "application/wasm",
  "image/svg+xml",
  "image/x-icon",
  "font/ttf",
  "font/otf",
]);

/** A content coding this middleware produces. */
type Coding = "gzip" | "deflate";

/**
 * Compresses the responses of `app` with gzip or deflate, whichever the
 * request's `Accept-Encoding` prefers (q-values honoured; on a tie, gzip).
 * The body is compressed as it streams: the compressed bytes of each
 * non-empty chunk are passed on at once, flushed so that the client can
 * decompress them before the app's next chunk — the first lines of a long
 * poll reach it before the poll's wait ends. Empty chunks and operations
 * pass through where they arrive; `return()` reaches the app when the
 * client leaves.
 *
 * A compressed response gets `Content-Encoding`, loses the app's
 * `Content-Length` and `Accept-Ranges` (both describe the uncompressed
 * bytes), and a strong `ETag` becomes weak (`W/"…"`, as nginx does: the
 * bytes differ from the uncompressed ones'). `Vary: Accept-Encoding` is
 * added (or appended to the app's `Vary`) to every response whose type could
 * be compressed, compressed or not, so that caches keep the versions apart.
 *
 * Sent as they are:
 * - HEAD requests (with `Vary`), requests without `Accept-Encoding`, or whose
 *   `Accept-Encoding` accepts neither gzip nor deflate (`gzip;q=0`), or
 *   prefers `identity`. An entry that does not parse (`gzip;q=abc`,
 *   `;;;,=q`) counts as absent;
 * - 204, 206 and 304 responses, and any with `Content-Range`; a 304 of a
 *   type that could be compressed still gets its `ETag` made weak, as the
 *   compressed 200 has it (RFC 9110 §15.4.5);
 * - responses with `Content-Encoding` already, or `Cache-Control:
 *   no-transform`, or no `Content-Type`, or one not in `types`;
 * - bodies under `threshold` bytes: by the app's `Content-Length` when it
 *   gives one; otherwise the first chunks are held until they reach
 *   `threshold` bytes (then it compresses), the app yields an operation
 *   (then it compresses: the body goes on after the wait, size unknown), or
 *   the app ends (then the total decides).
 *
 * When the response is not compressed and the app returned an array or a
 * `wsgi.file_wrapper`, the result goes to the server untouched (a file is
 * still sent by the server's own file loop).
 *
 * @throws {RangeError} when `threshold` is not an integer >= 0.
 * @throws {TypeError} when `types` is not a list of media types.
 * @example
 * ```ts
 * import { compress } from "@cogen/cogen/middleware";
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * async function* feed(environ: Environ, startResponse: StartResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
 *   yield "first news\n"; // reaches the client, compressed, before the wait below ends
 *   yield environ.cogen.core.events.Sleep(1000);
 *   yield "more news\n";
 * }
 * const app = compress(feed, { threshold: 512 });
 * ```
 */
export function compress(app: App, options: CompressOptions = {}): App {
  const threshold = options.threshold ?? 1024;
  if (!Number.isInteger(threshold) || threshold < 0) {
    throw new RangeError(`compress: threshold must be an integer number of bytes >= 0, got ${threshold}`);
  }
  const settings: Settings = { threshold, types: compileTypes(options.types ?? COMPRESSIBLE_TYPES) };
  return function compressed(environ: Environ, startResponse: StartResponse) {
    const coding = environ.REQUEST_METHOD === "HEAD" ? null : negotiate(environ.HTTP_ACCEPT_ENCODING);
    if (coding === null) {
      // Nothing will be compressed: the headers only get their Vary, the result goes on untouched.
      return app(environ, (status, headers, excInfo) => {
        const facts = inspect(status, headers, settings);
        return startResponse(status, facts.varies ? withVary(headers) : headers, excInfo);
      });
    }
    return compressing(app, environ, new ResponseState(startResponse, coding, settings));
  };
}

/** The options, checked. */
interface Settings {
  threshold: number;
  /** Exact media types, and families as `"text/"` (`""` for all). */
  types: { exact: Set<string>; prefixes: string[] };
}

/** Calls the app; returns its result untouched when the answer is known to be uncompressed, else streams it. */
async function compressing(
  app: App,
  environ: Environ,
  response: ResponseState,
): Promise<AppResult> {
  const result = await app(environ, response.startResponse);
  // Apps that answer at once (an array, a file_wrapper) have called startResponse already.
  if (response.pending !== null && !response.needsSize()) {
    response.start(-1);
    if (response.encoder === null) {
      for (const chunk of response.held.splice(0)) response.write!(chunk);
      return result;
    }
  }
  return stream(result, environ, response);
}

/** The state of one response: the app's headers until they are passed on, then how the body goes. */
class ResponseState {
  /** The app's `startResponse` arguments, until they are passed on. */
  pending: { status: string; headers: [string, string][]; excInfo: unknown } | null = null;
  /** Whether the headers were passed on (the decision is made). */
  started = false;
  /** The compressor, when compressing. */
  encoder: Encoder | null = null;
  /** The server's `write`, once started. */
  write: Write | null = null;
  /** Body bytes not passed on yet, in order (held before the decision; `write()` output while compressing). */
  held: Uint8Array[] = [];
  heldBytes = 0;
  readonly #startResponse: StartResponse;
  readonly #coding: Coding;
  readonly #settings: Settings;

  constructor(startResponse: StartResponse, coding: Coding, settings: Settings) {
    this.#startResponse = startResponse;
    this.#coding = coding;
    this.#settings = settings;
  }

  /** The `startResponse` the app gets. */
  readonly startResponse: StartResponse = (status, headers, excInfo) => {
    if (this.started) {
      // A later call (with excInfo, after an error): the same treatment as the first.
      const facts = inspect(status, headers, this.#settings);
      let out = facts.varies ? withVary(headers) : headers;
      if (this.encoder !== null) out = encodedHeaders(out, this.#coding);
      return this.#startResponse(status, out, excInfo);
    }
    if (this.pending !== null && (excInfo === undefined || excInfo === null)) {
      throw new Error("startResponse: called a second time without excInfo; pass the error being handled");
    }
    this.pending = { status, headers, excInfo };
    return this.#appWrite;
  };

  /** The app's legacy `write`: straight through when not compressing, else held for the stream. */
  readonly #appWrite: Write = (chunk) => {
    if (this.started && this.encoder === null) {
      this.write!(chunk);
      return;
    }
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    if (bytes.length === 0) return;
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  };

  /** Bodies under this many bytes are not compressed. */
  get threshold(): number {
    return this.#settings.threshold;
  }

  /** Whether the decision waits for the body's size (no Content-Length, and compressible). */
  needsSize(): boolean {
    const p = this.pending!;
    const facts = inspect(p.status, p.headers, this.#settings);
    return facts.compressible && facts.length < 0;
  }

  /**
   * Decides and passes the headers on (once). `size`: the body's size when
   * known, -1 when not (it goes on past what is held).
   */
  start(size: number): void {
    if (this.started || this.pending === null) return;
    this.started = true;
    const { status, headers, excInfo } = this.pending;
    this.pending = null;
    const facts = inspect(status, headers, this.#settings);
    let out = facts.varies ? withVary(headers) : headers;
    const length = facts.length >= 0 ? facts.length : size;
    const compressing = facts.compressible && (length < 0 || length >= this.#settings.threshold);
    if (compressing) out = encodedHeaders(out, this.#coding);
    // RFC 9110 §15.4.5: a 304 carries the ETag its 200 would have had, made weak when compressed.
    else if (facts.varies && Number.parseInt(status, 10) === 304) out = weakened(out);
    this.write = this.#startResponse(status, out, excInfo);
    if (compressing) this.encoder = new Encoder(this.#coding);
  }
}

/**
 * Relays the app's output, compressing its chunks. Each non-empty chunk is
 * written to the compressor and what comes out is yielded before the app is
 * resumed: see {@linkcode Encoder} for why that output is complete.
 */
async function* stream(
  result: AppResult,
  environ: Environ,
  response: ResponseState,
): AsyncGenerator<Chunk | Operation<unknown>, void> {
  const inner = relay(result);
  let finished = false;
  try {
    let step = await inner.next();
    while (!step.done) {
      const item = step.value;
      const isChunk = typeof item === "string" || item instanceof Uint8Array;
      if (isChunk && item.length > 0) {
        if (response.pending === null && !response.started) {
          // Body before startResponse: the server says what is wrong.
          yield item;
        } else if (response.started && response.encoder === null && response.held.length === 0) {
          yield item; // not compressing: as it came
        } else {
          const bytes = typeof item === "string" ? encoder.encode(item) : item;
          response.held.push(bytes);
          response.heldBytes += bytes.length;
          // Decided by the app's Content-Length or type if they suffice, else by the threshold.
          if (!response.started && (response.heldBytes >= response.threshold || !response.needsSize())) {
            response.start(-1);
          }
          if (response.started) yield* send(response);
        }
        step = await inner.next();
        continue;
      }
      // An empty chunk or an operation: the server may wait on it, so what is held goes out first.
      response.start(-1);
      if (response.held.length > 0) {
        // The app recorded its operation on environ.cogen just before this "", and the server takes
        // body bytes that arrive while one is recorded for a dropped operation: set it aside meanwhile.
        const recorded = environ.cogen.operation;
        environ.cogen.operation = null;
        yield* send(response);
        environ.cogen.operation = recorded;
      }
      let sent: unknown;
      try {
        sent = yield item;
      } catch (error) {
        step = await inner.throw(error);
        continue;
      }
      step = await inner.next(sent);
    }
    response.start(response.heldBytes);
    yield* send(response);
    if (response.encoder !== null) yield* pieces(await response.encoder.finish());
    finished = true;
  } finally {
    // The relay calls the result's close() (PEP 3333; a file_wrapper closes its file) as it ends.
    if (!finished) {
      response.encoder?.abort();
      await inner.return();
    }
  }
}

/**
 * Yields what is held, as one chunk: compressed (and flushed) when
 * compressing, else as is. One chunk, because each costs a flush when
 * compressed, and because an uncompressed body that ends with it then gets
 * a Content-Length from the server.
 */
async function* send(response: ResponseState): AsyncGenerator<Uint8Array, void> {
  const held = response.held;
  if (held.length === 0) return;
  const chunk = held.length === 1 ? held[0] : concatBytes(held, response.heldBytes);
  response.held = [];
  response.heldBytes = 0;
  if (response.encoder === null) yield chunk;
  else yield* pieces(await response.encoder.push(chunk));
}

function* pieces(parts: Uint8Array[]): Generator<Uint8Array, void> {
  for (const part of parts) yield part;
}

const encoder = new TextEncoder();

/** A marker that no compressed output is waiting. */
const NOTHING = Symbol("nothing");
const nothing: Promise<typeof NOTHING> = Promise.resolve(NOTHING);

/**
 * A `CompressionStream` used chunk by chunk.
 *
 * Why it works: the web's CompressionStream has no flush(), but Deno's
 * writes each chunk with a sync flush (zlib's Z_SYNC_FLUSH: the output ends
 * on a byte boundary with an empty stored block, `00 00 ff ff`), so the
 * output of one chunk decompresses completely on its own — the tests check
 * this, and would catch a Deno that stopped doing it. `node:zlib`'s
 * `flush()` would say so explicitly, but it adds a Node stream per response
 * for nothing more here.
 *
 * And how the output is collected without waiting on a timer: a read is
 * always pending on the readable side, so the transform never waits on
 * backpressure; `write()` resolves only after the transform ran, which
 * enqueued its output (fulfilling the pending read); what is already
 * fulfilled then wins a race against an already-resolved promise, and what
 * is not yet there is not there at all.
 */
class Encoder {
  readonly #writer: WritableStreamDefaultWriter<BufferSource>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pending: Promise<ReadableStreamReadResult<Uint8Array>>;

  constructor(coding: Coding) {
    const stream = new CompressionStream(coding);
    this.#writer = stream.writable.getWriter();
    this.#reader = stream.readable.getReader();
    this.#pending = this.#read();
  }

  /** Compresses `chunk` (non-empty); resolves with all the output so far, flushed. */
  async push(chunk: Uint8Array): Promise<Uint8Array[]> {
    await this.#writer.write(chunk as Uint8Array<ArrayBuffer>);
    const out: Uint8Array[] = [];
    for (;;) {
      const result = await Promise.race([this.#pending, nothing]);
      if (result === NOTHING || result.done) return out;
      out.push(result.value);
      this.#pending = this.#read();
    }
  }

  /** Ends the stream; resolves with the rest of the output (the trailer). */
  async finish(): Promise<Uint8Array[]> {
    const closed = this.#writer.close();
    const out: Uint8Array[] = [];
    for (;;) {
      const result = await this.#pending;
      if (result.done) break;
      out.push(result.value);
      this.#pending = this.#read();
    }
    await closed;
    return out;
  }

  /** Drops the stream (the response was cut short). */
  abort(): void {
    this.#writer.abort().catch(() => {});
  }

  #read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const read = this.#reader.read();
    read.catch(() => {}); // after abort() the pending read rejects: nobody waits for it any more
    return read;
  }
}

/** What the headers of a response say, for the decision. */
interface Facts {
  /** The representation could be compressed for some request: it gets `Vary: Accept-Encoding`. */
  varies: boolean;
  /** This response may be compressed (size aside). */
  compressible: boolean;
  /** The app's Content-Length, or -1. */
  length: number;
}

function inspect(status: string, headers: [string, string][], settings: Settings): Facts {
  const code = Number.parseInt(status, 10);
  let type: string | undefined;
  let length = -1;
  let encoded = false;
  let noTransform = false;
  let ranged = false;
  for (const [name, value] of headers) {
    switch (name.toLowerCase()) {
      case "content-type":
        type = value;
        break;
      case "content-length":
        if (/^\s*\d+\s*$/.test(value)) length = Number(value);
        break;
      case "content-encoding":
        encoded = true;
        break;
      case "content-range":
        ranged = true;
        break;
      case "cache-control":
        if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(value)) noTransform = true;
        break;
    }
  }
  // A 304 rarely names its type: it gets the Vary its 200 would have had.
  const typeOk = type === undefined ? code === 304 : typeMatches(type, settings);
  const varies = typeOk && !encoded && !noTransform && code !== 204;
  const compressible = varies && code !== 206 && code !== 304 && !ranged;
  return { varies, compressible, length };
}

function typeMatches(contentType: string, settings: Settings): boolean {
  const semicolon = contentType.indexOf(";");
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (settings.types.exact.has(type)) return true;
  for (const prefix of settings.types.prefixes) if (type.startsWith(prefix)) return true;
  return false;
}

function compileTypes(types: readonly string[]): Settings["types"] {
  if (!Array.isArray(types)) {
    throw new TypeError(
      `compress: types must be a list of media types such as "text/*", got ${typeof types}`,
    );
  }
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of types) {
    if (typeof entry !== "string" || !/^[^\s/;]+\/[^\s/;]+$/.test(entry)) {
      throw new TypeError(
        `compress: types must hold media types such as "text/*" or "application/json", got ${
          JSON.stringify(entry)
        }`,
      );
    }
    const type = entry.toLowerCase();
    if (type === "*/*") prefixes.push("");
    else if (type.endsWith("/*")) prefixes.push(type.slice(0, -1));
    else exact.add(type);
  }
  return { exact, prefixes };
}

/** `headers` with `Accept-Encoding` in its Vary (appended to the app's, unless already there or `*`). */
function withVary(headers: [string, string][]): [string, string][] {
  const out: [string, string][] = [];
  let found = false;
  for (const [name, value] of headers) {
    if (!found && name.toLowerCase() === "vary") {
      found = true;
      const tokens = value.split(",").map((token) => token.trim().toLowerCase());
      const covered = tokens.includes("*") || tokens.includes("accept-encoding");
      out.push([
        name,
        covered ? value : value.trim() === "" ? "Accept-Encoding" : `${value}, Accept-Encoding`,
      ]);
    } else {
      out.push([name, value]);
    }
  }
  if (!found) out.push(["Vary", "Accept-Encoding"]);
  return out;
}

/** The headers of the compressed response. */
function encodedHeaders(headers: [string, string][], coding: Coding): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of weakened(headers)) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "accept-ranges") continue;
    out.push([name, value]);
  }
  out.push(["Content-Encoding", coding]);
  return out;
}

/** `headers` with a strong `ETag` made weak: compressed bytes differ from the app's. */
function weakened(headers: [string, string][]): [string, string][] {
  return headers.map(([name, value]) =>
    name.toLowerCase() === "etag" && value.startsWith('"') ? [name, `W/${value}`] : [name, value]
  );
}

/** A `token` of RFC 9110 §5.6.2. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** A `qvalue` of RFC 9110 §12.4.2. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The coding to use for `Accept-Encoding` (RFC 9110 §12.5.3), or `null` for
 * none: gzip or deflate by their q-value (or that of `*`), gzip first on a
 * tie; `null` when neither is acceptable or an explicit `identity` has a
 * higher q. Entries that do not parse are ignored, as if absent.
 */
function negotiate(field: string | undefined): Coding | null {
  if (field === undefined) return null;
  let gzip = -1;
  let deflate = -1;
  let identity = -1;
  let star = -1;
  for (const entry of field.split(",")) {
    const parts = entry.split(";");
    const name = parts[0].trim().toLowerCase();
    if (!TOKEN.test(name)) continue;
    let q = 1;
    let valid = true;
    for (let i = 1; i < parts.length && valid; i++) {
      const param = parts[i];
      const equals = param.indexOf("=");
      if (equals < 0) valid = false;
      else if (param.slice(0, equals).trim().toLowerCase() === "q") {
        const value = param.slice(equals + 1).trim();
        if (QVALUE.test(value)) q = Number(value);
        else valid = false;
      }
    }
    if (!valid) continue;
    // The first valid entry for a coding counts; x-gzip is gzip (RFC 9110 §8.4.1.3).
    if ((name === "gzip" || name === "x-gzip") && gzip < 0) gzip = q;
    else if (name === "deflate" && deflate < 0) deflate = q;
    else if (name === "identity" && identity < 0) identity = q;
    else if (name === "*" && star < 0) star = q;
  }
  const qGzip = gzip >= 0 ? gzip : Math.max(star, 0);
  const qDeflate = deflate >= 0 ? deflate : Math.max(star, 0);
  const best: Coding = qDeflate > qGzip ? "deflate" : "gzip";
  const q = Math.max(qGzip, qDeflate);
  if (q <= 0 || identity > q) return null;
  return best;
}
