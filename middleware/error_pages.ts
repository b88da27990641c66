/**
 * `errorPages`: an HTML (or JSON) page for the app's 4xx and 5xx answers
 * that have no body, and for the errors it throws before its response
 * started.
 *
 * @module
 */
import type { Operation } from "../core/mod.ts";
import { describe } from "../core/describe.ts";
import {
  type App,
  type Chunk,
  type Environ,
  HttpError,
  type StartResponse,
  type Write,
} from "../wsgi/mod.ts";
import { relay } from "./relay.ts";

/** Reason phrases of the 4xx and 5xx statuses (RFC 9110 §15.5, §15.6, and RFC 6585), for errors the app threw. */
const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  511: "Network Authentication Required",
};

/** What a page of {@linkcode ErrorPagesOptions.pages} is made from. */
export interface ErrorPageInfo {
  /** The status code, 400 to 599. */
  status: number;
  /** Its reason phrase: the app's, or the standard one for an error it threw. */
  reason: string;
  /** What the app threw, or `null` when it answered the status itself. */
  error: unknown;
  /** The `debug` option: whether the page may show the error's stack. */
  debug: boolean;
  /** The request's environ. */
  environ: Environ;
}

/** Options of {@linkcode errorPages}. */
export interface ErrorPagesOptions {
  /**
   * Your HTML pages by status (400 to 599), instead of the built-in one: the
   * text, or a function of {@linkcode ErrorPageInfo} that returns it. Clients
   * that prefer JSON still get the built-in JSON. Default: none.
   */
  pages?: Record<number, string | ((info: ErrorPageInfo) => string)>;
  /**
   * Whether the built-in pages show the stack of an error the app threw. Only
   * for development: a stack tells an attacker about your code. Default `false`.
   */
  debug?: boolean;
  /**
   * Receives the errors the app threw and this middleware answered (the
   * server does not see them). Default: their stack, written to
   * `environ["wsgi.errors"]` (stderr).
   */
  onError?: (error: unknown, environ: Environ) => void;
}

/**
 * Gives the app's errors a page. When the app answers a 4xx or 5xx status
 * with an empty body (no body bytes, no `Content-Length` other than 0), the
 * body becomes an HTML page naming the status — or JSON
 * (`{"status":404,"reason":"Not Found"}`) when the `Accept` header prefers
 * `application/json` to `text/html`, so `Accept` is added to its `Vary`; the
 * app's other header fields (`Allow`, `WWW-Authenticate`, `Retry-After`…) are
 * kept, its `Content-Type`, `Content-Length` and `Content-Encoding`
 * replaced. When the app throws before its response started (no body byte
 * sent), the answer is a 500 page (or the status of an `HttpError`) with only
 * the page's fields, and the error goes to `onError`; after that, the error
 * goes on to the server, which cuts the response short.
 *
 * Streaming: an error status is held (not given to the server) until the
 * app's first non-empty chunk or its end — the approach of
 * `LazyStartResponseMiddleware` — and the body is never collected; empty
 * chunks and operations pass through at the point they arrive. Other
 * statuses go to the server at once; so does an error status that replaces
 * (with `excInfo`) one the server has, before the server sends that one.
 *
 * Only the app's answers get pages: the errors the server produces itself
 * (400, 408, 413, 414, 431, 501, 505 for requests it cannot parse) never
 * reach an app, so they stay the server's short plain-text answers.
 *
 * @example
 * ```ts
 * import { errorPages } from "@cogen/cogen/middleware";
 * import { type App, serve } from "@cogen/cogen/wsgi";
 * const app: App = (environ, startResponse) => {
 *   if (environ.PATH_INFO !== "/") {
 *     startResponse("404 Not Found", []); // the page is added
 *     return [];
 *   }
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   return ["home"];
 * };
 * const paged = errorPages(app, {
 *   pages: { 404: (info) => `<h1>Nothing at ${info.environ.PATH_INFO}</h1>` },
 *   debug: false,
 * });
 * const server = serve(paged, { hostname: "127.0.0.1", port: 0 });
 * await server.shutdown(0);
 * ```
 *
 * @throws {TypeError} when an option has the wrong type.
 * @throws {RangeError} when `pages` has a key that is not a status from 400 to 599.
 */
export function errorPages(app: App, options: ErrorPagesOptions = {}): App {
  const settings = settingsOf(options);
  return (environ, startResponse) => withPages(app, environ, startResponse, settings);
}

interface Settings {
  pages: Map<number, string | ((info: ErrorPageInfo) => string)>;
  debug: boolean;
  onError: (error: unknown, environ: Environ) => void;
}

function settingsOf(options: ErrorPagesOptions): Settings {
  const pages = new Map<number, string | ((info: ErrorPageInfo) => string)>();
  for (const [key, page] of Object.entries(options.pages ?? {})) {
    const status = Number(key);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(
        `errorPages: pages has a page for ${JSON.stringify(key)}; pages are for statuses 400 to 599`,
      );
    }
    if (typeof page !== "string" && typeof page !== "function") {
      throw new TypeError(
        `errorPages: the page for ${status} is ${
          describe(page)
        }; give HTML text or a function (info) => string`,
      );
    }
    pages.set(status, page);
  }
  const debug = options.debug ?? false;
  if (typeof debug !== "boolean") {
    throw new TypeError(`errorPages: debug must be a boolean, got ${describe(debug)}`);
  }
  const onError = options.onError ?? reportToErrors;
  if (typeof onError !== "function") {
    throw new TypeError(
      `errorPages: onError must be a function (error, environ) => void, got ${describe(onError)}`,
    );
  }
  return { pages, debug, onError };
}

function reportToErrors(error: unknown, environ: Environ): void {
  environ["wsgi.errors"].write(
    `errorPages: the app failed for ${environ.REQUEST_METHOD} ${environ.REQUEST_URI}, answered with an error page: ${
      error instanceof Error ? error.stack ?? error.message : String(error)
    }\n`,
  );
}

/** The app's output with error statuses held until the body shows whether it is empty. */
async function* withPages(
  app: App,
  environ: Environ,
  startResponse: StartResponse,
  settings: Settings,
): AsyncGenerator<Chunk | Operation<unknown>, void, unknown> {
  // The app's error-status call not yet given to the server (its arguments).
  let held: [status: string, headers: [string, string][], excInfo: unknown] | null = null;
  let called = false;
  // Whether a body byte went to the server: from then on, the response is the app's.
  let bodySent = false;
  let serverWrite: Write | null = null;
  const release = () => {
    if (held === null) return;
    const [status, headers, excInfo] = held;
    held = null;
    serverWrite = startResponse(status, headers, excInfo);
  };
  const holding: StartResponse = (status, headers, excInfo) => {
    if (called && (excInfo === undefined || excInfo === null)) {
      throw new Error(
        "startResponse: called a second time without excInfo; pass the error being handled as the third argument",
      );
    }
    called = true;
    if (!bodySent && isErrorStatus(status)) held = [status, headers, excInfo];
    else {
      held = null;
      serverWrite = startResponse(status, headers, excInfo);
    }
    return (chunk) => {
      if ((typeof chunk === "string" || chunk instanceof Uint8Array) && chunk.length === 0) return;
      release();
      bodySent = true;
      serverWrite!(chunk);
    };
  };
  let failure: { error: unknown } | null = null;
  try {
    yield* relay(app(environ, holding), (item) => {
      if ((typeof item === "string" || item instanceof Uint8Array) && item.length > 0) {
        release();
        bodySent = true;
      } else if (serverWrite !== null) {
        // The server has the app's first status and sends it at an empty chunk or an operation:
        // the error status that replaced it goes first (no page then: the head is out).
        release();
      }
      return item;
    });
  } catch (error) {
    if (bodySent) throw error;
    failure = { error };
  }
  if (failure === null && !called) {
    // The server would answer 500 for this too.
    failure = {
      error: new Error(
        "the app returned without calling startResponse; call startResponse(status, headers) before it ends",
      ),
    };
  }
  if (failure !== null) {
    const error = failure.error;
    const status = error instanceof HttpError && error.status >= 400 && error.status <= 599
      ? error.status
      : 500;
    const reason = REASONS[status] ?? "Error";
    const page = pageFor({ status, reason, error, debug: settings.debug, environ }, settings);
    // With excInfo: if the head has gone out already (an empty chunk after a success status),
    // the server rethrows the error and cuts the response, as it would have without this middleware.
    startResponse(`${status} ${reason}`, withVaryAccept(page.headers), error);
    settings.onError(error, environ);
    yield page.body;
    return;
  }
  if (held !== null) {
    const [status, headers, excInfo] = held as [string, [string, string][], unknown];
    if (declaresBody(headers)) {
      // A HEAD answer, say: the app gave the length of a body it does not send.
      release();
      return;
    }
    const code = Number(status.slice(0, 3));
    const reason = status.slice(4).trim() || (REASONS[code] ?? "Error");
    const page = pageFor({ status: code, reason, error: null, debug: settings.debug, environ }, settings);
    const kept = headers.filter(([name]) => !REPLACED.has(name.toLowerCase()));
    startResponse(status, withVaryAccept([...kept, ...page.headers]), excInfo);
    yield page.body;
  }
}

/** Fields of the app that describe the body it did not send. */
const REPLACED = new Set(["content-type", "content-length", "content-encoding"]);

/** `headers` with `Accept` in their Vary (the page is HTML or JSON by it), appended to the app's. */
function withVaryAccept(headers: [string, string][]): [string, string][] {
  const at = headers.findIndex(([name]) => name.toLowerCase() === "vary");
  if (at < 0) return [...headers, ["Vary", "Accept"]];
  const [name, value] = headers[at];
  const tokens = value.split(",").map((token) => token.trim().toLowerCase());
  if (tokens.includes("*") || tokens.includes("accept")) return headers;
  const out = headers.slice();
  out[at] = [name, value.trim() === "" ? "Accept" : `${value}, Accept`];
  return out;
}

function isErrorStatus(status: unknown): boolean {
  return typeof status === "string" && /^[45]\d\d( |$)/.test(status);
}

function declaresBody(headers: [string, string][]): boolean {
  return headers.some(([name, value]) => name.toLowerCase() === "content-length" && value.trim() !== "0");
}

/** The page's body bytes and its fields. */
function pageFor(info: ErrorPageInfo, settings: Settings): { body: Uint8Array; headers: [string, string][] } {
  let text: string;
  let type: string;
  if (prefersJson(info.environ.HTTP_ACCEPT)) {
    const json: Record<string, unknown> = { status: info.status, reason: info.reason };
    if (info.debug && info.error !== null) json.stack = stackOf(info.error);
    text = JSON.stringify(json);
    type = "application/json";
  } else {
    const custom = settings.pages.get(info.status);
    text = typeof custom === "string"
      ? custom
      : typeof custom === "function"
      ? custom(info)
      : builtInPage(info);
    type = "text/html; charset=utf-8";
  }
  const body = new TextEncoder().encode(text);
  return { body, headers: [["Content-Type", type], ["Content-Length", String(body.length)]] };
}

function builtInPage(info: ErrorPageInfo): string {
  const title = escapeHtml(`${info.status} ${info.reason}`);
  const stack = info.debug && info.error !== null ? `<pre>${escapeHtml(stackOf(info.error))}</pre>\n` : "";
  return `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n` +
    `<body>\n<h1>${title}</h1>\n${stack}</body>\n</html>\n`;
}

function stackOf(error: unknown): string {
  return error instanceof Error ? error.stack ?? `${error.name}: ${error.message}` : String(error);
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}

/**
 * Whether an `Accept` value ranks `application/json` above `text/html`
 * (each gets the q of its most specific matching range; a tie goes to HTML).
 */
function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined || accept === "") return false;
  return qualityOf(accept, "application", "json") > qualityOf(accept, "text", "html");
}

function qualityOf(accept: string, type: string, subtype: string): number {
  let best = -1; // specificity of the best match so far
  let q = 0;
  for (const range of accept.split(",")) {
    const [mediaRange, ...params] = range.split(";");
    const [t = "", s = ""] = mediaRange.trim().toLowerCase().split("/");
    const specificity = t === type && s === subtype
      ? 3
      : t === type && s === "*"
      ? 2
      : t === "*" && s === "*"
      ? 1
      : 0;
    if (specificity <= best || specificity === 0) continue;
    best = specificity;
    q = 1;
    for (const param of params) {
      const [name, value] = param.split("=").map((p) => p.trim());
      if (name.toLowerCase() === "q") {
        const n = Number(value);
        q = Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 0;
      }
    }
  }
  return q;
}
