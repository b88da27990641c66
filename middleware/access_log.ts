/**
 * `accessLog`: one line per response, in the Common or Combined Log Format
 * (or your own), written once the response is over.
 *
 * @module
 */
import type { Operation } from "../core/mod.ts";
import { type App, type Chunk, type Environ, HttpError, type StartResponse } from "../wsgi/mod.ts";
import { utf8Length } from "../wsgi/output.ts";
import { relay } from "./relay.ts";

/** What is known of one response when its line is written. */
export interface AccessLogEntry {
  /** The client's address (`REMOTE_ADDR`), `""` when unknown. */
  remoteAddr: string;
  /** The user name of Basic credentials (`REMOTE_USER`, not verified by the server), else `""`. */
  remoteUser: string;
  /** When the request reached this middleware. */
  time: Date;
  /** The method. */
  method: string;
  /** The request target exactly as received (`REQUEST_URI`). */
  target: string;
  /** The request's version, such as `"HTTP/1.1"`. */
  protocol: string;
  /** The status code the client got: the app's, 500 when the app failed before its response started (as the server answers then), 0 when the client left before the app chose one. */
  status: number;
  /** Body bytes sent (strings counted as UTF-8; no head, no chunked framing); 0 for HEAD, 204 and 304. */
  bytes: number;
  /** The `Referer` header, or `""`. */
  referer: string;
  /** The `User-Agent` header, or `""`. */
  userAgent: string;
  /** Milliseconds from the request reaching this middleware to the end of the response. */
  duration: number;
  /**
   * How the response ended: `"complete"` (the app's iterator ran out),
   * `"error"` (the app failed; the server answered 500 or cut the response
   * short) or `"gone"` (the client left, and the app was `return()`ed).
   */
  outcome: "complete" | "error" | "gone";
  /** What the app failed with (`outcome` `"error"`), else `null`. */
  error: unknown;
  /** The request's environ, for fields of your own (as it was at the end: inner middleware may have changed it). */
  environ: Environ;
}

/** Options of {@linkcode accessLog}. */
export interface AccessLogOptions {
  /**
   * The line's format: `"common"` (the default: `host ident user [time]
   * "request" status bytes`), `"combined"` (common, then `"referer"
   * "user-agent"`), or a function from the entry to the line.
   */
  format?: "common" | "combined" | ((entry: AccessLogEntry) => string);
  /**
   * Where each line goes (without a line break). Default: `console.log`, to
   * stdout. An error it throws is written to `wsgi.errors`: the response is
   * never cut short by its log.
   */
  write?: (line: string) => void;
}

/**
 * Logs one line per response, written after its last byte: when the app's
 * iterator ends, when the app fails, or when the client leaves (the app is
 * then `return()`ed; its line shows the status it had chosen, or `-`, and the
 * bytes sent until then — {@linkcode AccessLogEntry.outcome} tells the three
 * apart). Times are in UTC. Streams: it only counts what passes, and passes
 * empty chunks and operations through at the point they arrive.
 *
 * @example
 * ```ts
 * import { accessLog } from "@cogen/cogen/middleware";
 * import { type App, serve } from "@cogen/cogen/wsgi";
 * const app: App = function* (_environ, startResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "logged";
 * };
 * // 127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 6 "-" "curl/8.5.0"
 * const logged = accessLog(app, { format: "combined" });
 * const server = serve(logged, { hostname: "127.0.0.1", port: 0 });
 * await server.shutdown(0);
 * ```
 *
 * @throws {TypeError} when `format` is not `"common"`, `"combined"` or a function, or `write` is not a function.
 */
export function accessLog(app: App, options: AccessLogOptions = {}): App {
  const format = formatterOf(options.format ?? "common");
  const write = options.write ?? ((line: string) => console.log(line));
  if (typeof write !== "function") {
    throw new TypeError(`accessLog: write must be a function (line) => void, got ${typeof write}`);
  }
  return (environ, startResponse) => logged(app, environ, startResponse, format, write);
}

/**
 * The Common Log Format line of an entry: `host ident user [time] "request"
 * status bytes`, with `-` for what is unknown or 0 bytes; quotes, backslashes
 * and control characters in the request are escaped (`\"`, `\\`, `\xhh`) so
 * that a line cannot be forged.
 *
 * @example
 * ```ts
 * import { type AccessLogEntry, accessLog, commonLogFormat } from "@cogen/cogen/middleware";
 * import type { App } from "@cogen/cogen/wsgi";
 * const app: App = () => [];
 * // The common line, then the time taken.
 * const timed = accessLog(app, {
 *   format: (entry: AccessLogEntry) => `${commonLogFormat(entry)} ${entry.duration.toFixed(1)}ms`,
 * });
 * ```
 */
export function commonLogFormat(entry: AccessLogEntry): string {
  return `${escape(entry.remoteAddr)} - ${escape(entry.remoteUser)} [${clfTime(entry.time)}] "${
    escape(`${entry.method} ${entry.target} ${entry.protocol}`)
  }" ${entry.status === 0 ? "-" : entry.status} ${entry.bytes === 0 ? "-" : entry.bytes}`;
}

/**
 * The Combined Log Format line of an entry: the common line, then
 * `"referer" "user-agent"` (`"-"` when absent), escaped as in the common line.
 *
 * @example
 * ```ts
 * import { accessLog, combinedLogFormat } from "@cogen/cogen/middleware";
 * import type { App } from "@cogen/cogen/wsgi";
 * const app: App = () => [];
 * // Combined lines, to stderr.
 * const logged = accessLog(app, { format: combinedLogFormat, write: (line) => console.error(line) });
 * ```
 */
export function combinedLogFormat(entry: AccessLogEntry): string {
  return `${commonLogFormat(entry)} "${escape(entry.referer || "-")}" "${escape(entry.userAgent || "-")}"`;
}

function formatterOf(format: unknown): (entry: AccessLogEntry) => string {
  if (format === "common") return commonLogFormat;
  if (format === "combined") return combinedLogFormat;
  if (typeof format === "function") return format as (entry: AccessLogEntry) => string;
  throw new TypeError(
    `accessLog: format must be "common", "combined" or a function (entry) => string, got ${
      typeof format === "string" ? JSON.stringify(format) : typeof format
    }`,
  );
}

/** Relays the app's output, counting its body, and writes the line when the relay is over. */
async function* logged(
  app: App,
  environ: Environ,
  startResponse: StartResponse,
  format: (entry: AccessLogEntry) => string,
  write: (line: string) => void,
): AsyncGenerator<Chunk | Operation<unknown>, void, unknown> {
  const start = performance.now();
  const entry: AccessLogEntry = {
    remoteAddr: environ.REMOTE_ADDR ?? "",
    remoteUser: environ.REMOTE_USER ?? "",
    time: new Date(),
    // Taken now: inner middleware (a dispatcher) may rewrite the environ.
    method: environ.REQUEST_METHOD,
    target: environ.REQUEST_URI ?? `${environ.SCRIPT_NAME}${environ.PATH_INFO}`,
    protocol: environ.SERVER_PROTOCOL,
    status: 0,
    bytes: 0,
    referer: environ.HTTP_REFERER ?? "",
    userAgent: environ.HTTP_USER_AGENT ?? "",
    duration: 0,
    outcome: "gone",
    error: null,
    environ,
  };
  const head = environ.REQUEST_METHOD === "HEAD";
  // Whether the response has started (anything passed after startResponse): after that, a
  // failure cannot change the status any more.
  let started = false;
  const count = (chunk: Chunk) => {
    started = true;
    const code = entry.status;
    if (head || code === 204 || code === 304) return;
    entry.bytes += typeof chunk === "string" ? utf8Length(chunk) : chunk.length;
  };
  const counting: StartResponse = (status, headers, excInfo) => {
    const serverWrite = startResponse(status, headers, excInfo);
    entry.status = Number(status.slice(0, 3));
    return (chunk) => {
      serverWrite(chunk);
      if (chunk.length > 0) count(chunk);
    };
  };
  try {
    yield* relay(app(environ, counting), (item) => {
      if (typeof item === "string" || item instanceof Uint8Array) {
        if (item.length > 0) count(item);
        else if (entry.status !== 0) started = true;
      } else if (entry.status !== 0) started = true;
      return item;
    });
    entry.outcome = "complete";
    // An app that never called startResponse gets the server's 500.
    if (entry.status === 0) entry.status = 500;
  } catch (error) {
    entry.outcome = "error";
    entry.error = error;
    if (!started) {
      entry.status = error instanceof HttpError ? error.status : 500;
      entry.bytes = 0;
    }
    throw error;
  } finally {
    entry.duration = performance.now() - start;
    try {
      write(format(entry));
    } catch (error) {
      environ["wsgi.errors"].write(
        `accessLog: writing the line for ${entry.method} ${entry.target} failed: ${
          error instanceof Error ? error.stack ?? error.message : String(error)
        }\n`,
      );
    }
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `10/Oct/2000:13:55:36 +0000`: the log's time, in UTC. */
function clfTime(time: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}:${
    two(time.getUTCHours())
  }:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())} +0000`;
}

/** Escapes a field as Apache does: `"` and `\` backslashed, bytes outside printable ASCII as `\xhh`; `""` as `-`. */
function escape(text: string): string {
  if (text === "") return "-";
  let out = "";
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (c === '"' || c === "\\") out += "\\" + c;
    else if (code >= 0x20 && code < 0x7f) out += c;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else for (const byte of new TextEncoder().encode(c)) out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}
