/**
 * The environ of a fetch `Request`: the keys our server gives, in the same
 * order, taken from the request's URL, headers and the host's connection
 * info.
 *
 * @module
 */
import type { Scheduler } from "../core/mod.ts";
import type { CogenProxy, Environ, Input } from "../wsgi/mod.ts";
import { addHeaders } from "../wsgi/environ.ts";
import { fileWrapper } from "../wsgi/file_wrapper.ts";
import { SERVER_SOFTWARE } from "../wsgi/server.ts";
import { decodePath, errorStream } from "../wsgi/environ.ts";

const WSGI_VERSION = [1, 0] as const;

/**
 * Builds the environ of `request` for an app run by `toFetchHandler`.
 *
 * @example
 * ```ts ignore
 * const environ = fetchEnviron(request, info, input, proxy, sched);
 * environ.PATH_INFO; // "/hello"
 * ```
 */
export function fetchEnviron(
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
  input: Input,
  proxy: CogenProxy,
  sched: Scheduler,
): Environ {
  const url = new URL(request.url);
  const scheme = url.protocol.slice(0, -1);
  const headers = request.headers;
  const flat: string[] = [];
  // Headers joins repeated Cookie fields with ", "; a cookie holds no comma (RFC 6265 §4.1.1), so each
  // ", " is such a join, and goes back to the "; " our server joins them with.
  for (const [name, value] of headers) {
    flat.push(name, name === "cookie" ? value.replaceAll(", ", "; ") : value);
  }
  const addr = info?.remoteAddr;
  const tcp = addr !== undefined && (addr.transport === "tcp" || addr.transport === "udp");
  const environ = {
    REQUEST_METHOD: request.method,
    SCRIPT_NAME: "",
    PATH_INFO: decodePath(url.pathname),
    QUERY_STRING: url.search.slice(1),
    // A Request keeps no raw target: its URL is normalized (dot segments resolved, some bytes escaped).
    REQUEST_URI: url.pathname + url.search,
    CONTENT_TYPE: headers.get("content-type") ?? "",
    CONTENT_LENGTH: headers.get("content-length") ?? "",
    // The host the client asked for: a fetch host does not tell the address it listens on.
    SERVER_NAME: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    SERVER_PORT: url.port !== "" ? url.port : scheme === "https" ? "443" : "80",
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_SOFTWARE,
    ACTUAL_SERVER_PROTOCOL: "HTTP/1.1",
    REMOTE_ADDR: tcp ? (addr as Deno.NetAddr).hostname : (addr as Deno.UnixAddr | undefined)?.path ?? "",
    REMOTE_PORT: tcp ? String((addr as Deno.NetAddr).port) : "",
    AUTH_TYPE: "",
    REMOTE_USER: "",
    "wsgi.version": WSGI_VERSION,
    "wsgi.url_scheme": scheme,
    "wsgi.input": input,
    "wsgi.errors": errorStream,
    "wsgi.multithread": false,
    "wsgi.multiprocess": false,
    "wsgi.run_once": false,
    "wsgi.file_wrapper": fileWrapper,
    cogen: proxy,
    "cogen.wsgi": proxy,
    "cogen.sched": sched,
    "cogen.http_connection": request,
    "cogen.headers": flat,
    get "cogen.signal"(): AbortSignal {
      return proxy.signal;
    },
    get "cogen.core"() {
      return proxy.core;
    },
    get "cogen.input"() {
      return proxy.input;
    },
    get "cogen.call"() {
      return proxy.call;
    },
    get "cogen.yield"() {
      return proxy.yield;
    },
  } as Environ;
  addHeaders(environ, flat);
  return environ;
}
