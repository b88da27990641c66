/**
 * The `environ` an app receives: CGI variables, WSGI keys and cogen's
 * per-request proxy, built once per request with a fixed order of keys.
 *
 * @module
 */
import type { Scheduler } from "../core/mod.ts";
import type { FileWrapper, FileWrapperFactory } from "./file_wrapper.ts";
import type { RequestHead } from "./request_head.ts";
import type { Input } from "./input.ts";
import type { CogenProxy, CoreMirror, InputOperations } from "./proxy.ts";
import type { WebSocketHost } from "./websocket.ts";

/** `wsgi.errors`: where an app writes diagnostics (stderr). */
export interface ErrorStream {
  /** Writes a string. */
  write(text: string): void;
  /** Writes each string. */
  writelines(lines: Iterable<string>): void;
  /** Does nothing: stderr is not buffered. */
  flush(): void;
}

/**
 * What an app receives for each request. The CGI keys are strings; request
 * headers are under `HTTP_*` (upper-cased, `-` → `_`; repeats joined with
 * `, `, `Cookie` with `; `), except Content-Type and Content-Length.
 */
export interface Environ {
  /** The method, as received. */
  REQUEST_METHOD: string;
  /** The part of the path that led to the app (`""` at the root; see `PathInfoDispatcher`). */
  SCRIPT_NAME: string;
  /** The rest of the path, percent-decoded (UTF-8) except `%2F`. */
  PATH_INFO: string;
  /** What follows the first `?`, raw. */
  QUERY_STRING: string;
  /** The request target exactly as received. */
  REQUEST_URI: string;
  /** The Content-Type header, or `""`. */
  CONTENT_TYPE: string;
  /** The Content-Length header, or `""` (also for chunked bodies). */
  CONTENT_LENGTH: string;
  /** The host the server listens on. */
  SERVER_NAME: string;
  /** The port the server listens on (`""` for a Unix socket). */
  SERVER_PORT: string;
  /** The request's version, such as `"HTTP/1.1"`. */
  SERVER_PROTOCOL: string;
  /** The server's name and version. */
  SERVER_SOFTWARE: string;
  /** What the server speaks: `"HTTP/1.1"`. */
  ACTUAL_SERVER_PROTOCOL: string;
  /** The client's address. */
  REMOTE_ADDR: string;
  /** The client's port (`""` over a Unix socket). */
  REMOTE_PORT: string;
  /** `"Basic"` when the request carries Basic credentials, else `""`. */
  AUTH_TYPE: string;
  /** The user name of Basic credentials, else `""` (the password is not checked here). */
  REMOTE_USER: string;
  /** `[1, 0]`. */
  "wsgi.version": readonly [1, 0];
  /** `"http"`. */
  "wsgi.url_scheme": string;
  /** The request body. */
  "wsgi.input": Input;
  /** Diagnostics go here (stderr). */
  "wsgi.errors": ErrorStream;
  /** `false`: one thread. */
  "wsgi.multithread": boolean;
  /** `true` when several worker processes serve the port. */
  "wsgi.multiprocess": boolean;
  /** `false`. */
  "wsgi.run_once": boolean;
  /** Wraps a file for the server to stream. */
  "wsgi.file_wrapper": (file: Deno.FsFile, blockSize?: number, length?: number) => FileWrapper;
  /** cogen's per-request proxy (same object as `cogen.wsgi`). */
  cogen: CogenProxy;
  /** The same proxy, by the seed's name. */
  "cogen.wsgi": CogenProxy;
  /** The mirror of `core` whose operation constructors record on the proxy and return `""`. */
  "cogen.core": CoreMirror;
  /** Body reads as recorded operations: `yield environ["cogen.input"].read(8192)`. */
  "cogen.input": InputOperations;
  /** Records any operation factory's result on the proxy, returns `""`. */
  "cogen.call": CogenProxy["call"];
  /** Records an operation on the proxy, returns `""`. */
  "cogen.yield": CogenProxy["yield"];
  /** The scheduler. */
  "cogen.sched": Scheduler;
  /** The connection (for diagnostics). */
  "cogen.http_connection": unknown;
  /** How the request's connection switches to WebSocket (`acceptWebSocket` uses it); absent where the host cannot. */
  "cogen.websocket"?: WebSocketHost;
  /** The request's header fields exactly as received, flat: `[name, value, name, value…]`. */
  "cogen.headers": readonly string[];
  /** Aborted when the client goes away or the server shuts down. */
  "cogen.signal": AbortSignal;
  /** Request headers. */
  [header: `HTTP_${string}`]: string | undefined;
  /** Whatever middleware adds. */
  [key: string]: unknown;
}

/** `wsgi.errors`, shared by every request. */
export const errorStream: ErrorStream = {
  write(text: string): void {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  },
  writelines(lines: Iterable<string>): void {
    for (const line of lines) this.write(line);
  },
  flush(): void {},
};

/** The server-wide values every environ repeats. */
export interface ServerFacts {
  /** `SERVER_NAME`. */
  serverName: string;
  /** `SERVER_PORT`. */
  serverPort: string;
  /** `SERVER_SOFTWARE`. */
  software: string;
  /** `wsgi.multiprocess`. */
  multiprocess: boolean;
  /** `wsgi.url_scheme`: `"https"` over TLS, else `"http"`. */
  urlScheme: "http" | "https";
  /** `cogen.sched`. */
  sched: Scheduler;
  /** `wsgi.file_wrapper`. */
  fileWrapper: FileWrapperFactory;
}

/** The per-connection values. */
export interface ConnectionFacts {
  /** `REMOTE_ADDR`. */
  remoteAddr: string;
  /** `REMOTE_PORT`. */
  remotePort: string;
  /** `cogen.websocket`: how the connection switches to WebSocket (`acceptWebSocket`). */
  readonly websocket: WebSocketHost;
}

const WSGI_VERSION = [1, 0] as const;

/**
 * An environ as the server builds it: a class, so that V8 gives every
 * instance the same shape with its fields in the object, and so that
 * `cogen.signal` and the helpers (`cogen.core`, `cogen.input`, `cogen.call`,
 * `cogen.yield`) can be getters on its prototype — the `AbortSignal` and the
 * helpers are then only made for an app that uses them (most never do, and a
 * held long poll would carry them). They are not own properties:
 * `{ ...environ }` leaves them out; `environ.cogen.signal`,
 * `environ.cogen.core` and so on are the same.
 *
 * @example
 * ```ts ignore
 * const environ = new ServerEnviron(head, server, connection, input, proxy) as unknown as Environ;
 * ```
 */
export class ServerEnviron {
  [key: string]: unknown;
  /** The environ of the request `head` (`conn` is also `cogen.http_connection`). */
  constructor(
    head: RequestHead,
    server: ServerFacts,
    conn: ConnectionFacts,
    input: Input,
    proxy: CogenProxy,
  ) {
    this.REQUEST_METHOD = head.method;
    this.SCRIPT_NAME = "";
    this.PATH_INFO = decodePath(head.path);
    this.QUERY_STRING = head.query;
    this.REQUEST_URI = head.target;
    this.CONTENT_TYPE = head.contentType;
    this.CONTENT_LENGTH = head.contentLength >= 0 ? String(head.contentLength) : "";
    this.SERVER_NAME = server.serverName;
    this.SERVER_PORT = server.serverPort;
    this.SERVER_PROTOCOL = head.version;
    this.SERVER_SOFTWARE = server.software;
    this.ACTUAL_SERVER_PROTOCOL = "HTTP/1.1";
    this.REMOTE_ADDR = conn.remoteAddr;
    this.REMOTE_PORT = conn.remotePort;
    this.AUTH_TYPE = "";
    this.REMOTE_USER = "";
    this["wsgi.version"] = WSGI_VERSION;
    this["wsgi.url_scheme"] = server.urlScheme;
    this["wsgi.input"] = input;
    this["wsgi.errors"] = errorStream;
    this["wsgi.multithread"] = false;
    this["wsgi.multiprocess"] = server.multiprocess;
    this["wsgi.run_once"] = false;
    this["wsgi.file_wrapper"] = server.fileWrapper;
    this.cogen = proxy;
    this["cogen.wsgi"] = proxy;
    this["cogen.sched"] = server.sched;
    this["cogen.http_connection"] = conn;
    this["cogen.websocket"] = conn.websocket;
    this["cogen.headers"] = head.headers;
    addHeaders(this as unknown as Environ, head.headers);
  }

  get "cogen.signal"(): AbortSignal {
    return (this.cogen as CogenProxy).signal;
  }

  // The helpers are made on first use (most apps never use them): not own properties either.
  get "cogen.core"(): CogenProxy["core"] {
    return (this.cogen as CogenProxy).core;
  }

  get "cogen.input"(): CogenProxy["input"] {
    return (this.cogen as CogenProxy).input;
  }

  get "cogen.call"(): CogenProxy["call"] {
    return (this.cogen as CogenProxy).call;
  }

  get "cogen.yield"(): CogenProxy["yield"] {
    return (this.cogen as CogenProxy).yield;
  }
}

/**
 * Adds request header fields (flat: `[name, value, …]`) to an environ as
 * `HTTP_*` keys — upper-cased, `-` → `_`, repeats joined with `, ` (`Cookie`
 * with `; `, RFC 6265 §5.4) — and `AUTH_TYPE`/`REMOTE_USER` from Basic
 * credentials. Content-Type and Content-Length have CGI keys of their own;
 * a name with `_` is left out (it would share a key with its dashed twin: a
 * spoofing path through proxies that pass such names on, as Gunicorn and
 * nginx know; `cogen.headers` still has it).
 *
 * @example
 * ```ts ignore
 * addHeaders(environ, ["Accept", "text/html", "Cookie", "a=1", "Cookie", "b=2"]);
 * environ.HTTP_COOKIE; // "a=1; b=2"
 * ```
 */
export function addHeaders(environ: Environ, headers: readonly string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    const key = environKey(headers[i]);
    if (key === "") continue;
    const value = headers[i + 1];
    const previous = environ[key] as string | undefined;
    environ[key] = previous === undefined
      ? value
      : `${previous}${key === "HTTP_COOKIE" ? "; " : ", "}${value}`;
  }
  const authorization = environ.HTTP_AUTHORIZATION;
  if (authorization !== undefined) basicAuth(environ, authorization);
}

/** Recent header names and their environ keys: the same few names come in every request. */
const keyCache = new Map<string, string>();

/** The environ key of a header name (see `addHeaders`), or `""` when it has none. */
function environKey(name: string): string {
  let key = keyCache.get(name);
  if (key !== undefined) return key;
  const upper = name.toUpperCase().replaceAll("-", "_");
  key = upper === "CONTENT_TYPE" || upper === "CONTENT_LENGTH" || name.includes("_") ? "" : `HTTP_${upper}`;
  if (keyCache.size < 1000) keyCache.set(name, key);
  return key;
}

/**
 * Sets `AUTH_TYPE` and `REMOTE_USER` from `Basic` credentials in an
 * `Authorization` value (the password is not checked here); malformed
 * credentials set nothing.
 *
 * @example
 * ```ts ignore
 * basicAuth(environ, "Basic " + btoa("ann:secret")); // environ.REMOTE_USER === "ann"
 * ```
 */
export function basicAuth(environ: Environ, authorization: string): void {
  const space = authorization.indexOf(" ");
  if (space < 0 || authorization.slice(0, space).toLowerCase() !== "basic") return;
  try {
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(authorization.slice(space + 1).trim()), (c) => c.charCodeAt(0)),
    );
    const colon = decoded.indexOf(":");
    if (colon < 0) return;
    environ.AUTH_TYPE = "Basic";
    environ.REMOTE_USER = decoded.slice(0, colon);
  } catch {
    // Malformed credentials: no user. The app still sees HTTP_AUTHORIZATION.
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Percent-decodes a path, except `%2F` (an encoded `/` stays encoded, so the
 * segments stay apart). The bytes are read as UTF-8, or as ISO-8859-1 when
 * they are not valid UTF-8; a `%` not followed by two hex digits stays as is.
 *
 * @example
 * ```ts
 * import { decodePath } from "./environ.ts";
 * decodePath("/caf%C3%A9/a%2Fb"); // "/café/a%2Fb"
 * ```
 */
export function decodePath(path: string): string {
  if (path.indexOf("%") < 0) return path;
  const bytes = new Uint8Array(path.length);
  let n = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 && i + 2 < path.length + 0) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const byte = hi * 16 + lo;
        if (byte !== 0x2f) {
          bytes[n++] = byte;
          i += 2;
          continue;
        }
      }
    }
    bytes[n++] = c;
  }
  const decoded = bytes.subarray(0, n);
  try {
    return utf8.decode(decoded);
  } catch {
    let s = "";
    for (const b of decoded) s += String.fromCharCode(b);
    return s;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x57;
  return -1;
}
