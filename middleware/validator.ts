/**
 * `validator`: checks both sides of the app protocol, as Python's
 * `wsgiref.validate` does — the environ and the iteration the server (or the
 * middleware outside) gives, and the `startResponse` calls and chunks of the
 * app inside.
 *
 * @module
 */
import type { Operation } from "../core/mod.ts";
import { describe } from "../core/describe.ts";
import type { App, Chunk, Environ, StartResponse } from "../wsgi/mod.ts";
import { isRunnable } from "../wsgi/proxy.ts";
import { relay } from "./relay.ts";
import { HOP_BY_HOP } from "./hop_by_hop.ts";

/**
 * A broken rule of the protocol, found by {@linkcode validator}. The message
 * starts with `validator:`, says which rule was broken and what to do.
 *
 * @example
 * ```ts
 * import { ValidationError } from "@cogen/cogen/middleware";
 * const error = new ValidationError('header name "Bad Name" is not a token (RFC 9110 §5.1)');
 * error.message; // 'validator: header name "Bad Name" is not a token (RFC 9110 §5.1)'
 * ```
 */
export class ValidationError extends Error {
  /** Creates the error; `validator: ` is prepended to `message`. */
  constructor(message: string) {
    super(`validator: ${message}`);
    this.name = "ValidationError";
  }
}

/**
 * Wraps `app` and checks, at every step, that the server and the app keep the
 * protocol; a broken rule throws a {@linkcode ValidationError} (the server
 * then answers 500, or cuts a response already started, and logs it). It is
 * for development and tests: put it right around the app you are writing, or
 * right inside the server to check a middleware stack.
 *
 * What the server (or the middleware outside) must give:
 * - an environ with `REQUEST_METHOD` (a token), `SCRIPT_NAME` (`""` or
 *   `/…` not ending in `/`), `PATH_INFO` (`""`, `/…`, or `*` for `OPTIONS *`;
 *   not both empty), `QUERY_STRING`, `SERVER_NAME` (not empty), `SERVER_PORT`
 *   (digits, or `""` over a Unix socket), `SERVER_PROTOCOL` (`HTTP/d.d`),
 *   `wsgi.version` `[1, 0]`, `wsgi.url_scheme` `http`/`https`, `wsgi.input`
 *   and `wsgi.errors` with their methods, the three `wsgi.*` booleans; every
 *   upper-case key (CGI variables, `HTTP_*`) a string; no `HTTP_CONTENT_TYPE`
 *   or `HTTP_CONTENT_LENGTH`; `CONTENT_LENGTH` `""` or digits;
 * - a `startResponse` that returns the `write` callable;
 * - an iteration one step at a time, that ends by running out or by
 *   `return()` (an iterator dropped without either is reported on
 *   `wsgi.errors` when it is garbage-collected: the error cannot be thrown
 *   then).
 *
 * What the app must do:
 * - call `startResponse(status, headers, excInfo?)` with a status such as
 *   `"404 Not Found"` (three digits, 200 to 599, a space, a reason without
 *   control characters) and a list of `[name, value]` string pairs: names
 *   tokens, values without CR, LF or other controls and without code points
 *   above U+00FF, no hop-by-hop field (`Connection`, `Keep-Alive`,
 *   `Proxy-Authenticate`, `Proxy-Authorization`, `TE`, `Trailer`, `Trailers`,
 *   `Transfer-Encoding`, `Upgrade`: the server manages the connection) and no
 *   `Status`;
 * - call it a second time only with `excInfo`;
 * - call it before its first non-empty chunk (or `write()`), and before it ends;
 * - return an iterable (not a string or bytes) and yield strings or
 *   `Uint8Array`s, `""` after recording an operation on `environ.cogen`, or
 *   operations and promises — and no body for a 204 or 304;
 * - yield `""` for an operation it recorded before anything else.
 *
 * Empty chunks, operations and the values the server sends back pass
 * through unchanged; `return()` reaches the app.
 *
 * @example
 * ```ts
 * import { validator } from "@cogen/cogen/middleware";
 * import { type App, serve } from "@cogen/cogen/wsgi";
 * const app: App = function* (_environ, startResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "checked";
 * };
 * const server = serve(validator(app), { hostname: "127.0.0.1", port: 0 });
 * await server.shutdown(0);
 * ```
 */
export function validator(app: App): App {
  if (typeof app !== "function") {
    throw new TypeError(`validator: app must be a function (environ, startResponse), got ${describe(app)}`);
  }
  return function validated(environ: Environ, startResponse: StartResponse) {
    checkEnviron(environ);
    const state: ResponseState = { called: false, code: 0, ended: false };
    const checkedStart: StartResponse = (status, headers, excInfo) => {
      if (state.ended) {
        throw new ValidationError(
          "startResponse was called after the app's iterator ended; call it while the app runs",
        );
      }
      checkStatus(status);
      checkHeaders(headers);
      if (state.called && (excInfo === undefined || excInfo === null)) {
        throw new ValidationError(
          "startResponse was called a second time without excInfo; pass the error being handled as the third argument",
        );
      }
      const write = startResponse(status, headers, excInfo);
      if (typeof write !== "function") {
        throw new ValidationError(
          `the server's startResponse returned ${describe(write)}; it must return the write callable`,
        );
      }
      state.called = true;
      state.code = Number(status.slice(0, 3));
      return (chunk: Chunk) => {
        if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
          throw new ValidationError(`write() was given ${describe(chunk)}; write a string or a Uint8Array`);
        }
        if (chunk.length > 0) checkBody(state, environ, chunk);
        write(chunk);
      };
    };
    const iterator = new CheckedIterator(body(app, environ, checkedStart, state), describeRequest(environ));
    unclosed.register(iterator, { errors: environ["wsgi.errors"], request: iterator.request }, iterator);
    return iterator;
  };
}

/** What the validator knows of the response so far. */
interface ResponseState {
  /** Whether the app has called startResponse. */
  called: boolean;
  /** The status code of its last call. */
  code: number;
  /** Whether the app's iterator has ended. */
  ended: boolean;
}

/** Calls the app, checks its result, and relays its items, checking each. */
async function* body(
  app: App,
  environ: Environ,
  startResponse: StartResponse,
  state: ResponseState,
): AsyncGenerator<Chunk | Operation<unknown>, void, unknown> {
  const result = await app(environ, startResponse);
  if (typeof result === "string" || result instanceof Uint8Array) {
    // Both are iterable: the server would send them one character or one number at a time.
    throw new ValidationError(
      `the app returned ${
        typeof result === "string" ? "a string" : "a Uint8Array"
      }; return an iterable of chunks, such as [chunk], or yield it`,
    );
  }
  const iterable = result as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
  if (
    iterable === null || typeof iterable !== "object" ||
    (typeof iterable[Symbol.iterator] !== "function" && typeof iterable[Symbol.asyncIterator] !== "function")
  ) {
    throw new ValidationError(
      `the app returned ${describe(result)}; return an iterable of chunks (or be a generator function)`,
    );
  }
  try {
    yield* relay(result, (item) => {
      if (typeof item === "string" || item instanceof Uint8Array) {
        if (item.length > 0) checkBody(state, environ, item);
      } else if (!isRunnable(item)) {
        throw new ValidationError(
          `the app yielded ${
            describe(item)
          }; yield strings or Uint8Arrays, "" after recording an operation on environ.cogen, or an Operation or promise`,
        );
      }
      return item;
    });
  } finally {
    state.ended = true;
  }
  if (!state.called) {
    throw new ValidationError(
      "the app ended without calling startResponse; call startResponse(status, headers)",
    );
  }
  const recorded = recordedOperation(environ);
  if (recorded !== null) {
    throw new ValidationError(
      `the app ended with ${
        String(recorded)
      } recorded on environ.cogen and never yielded; yield the "" the helper returned`,
    );
  }
}

/** The rules a non-empty body chunk (yielded or written) must keep. */
function checkBody(state: ResponseState, environ: Environ, chunk: Chunk): void {
  if (!state.called) {
    throw new ValidationError(
      "the app sent body data before calling startResponse; call startResponse(status, headers) first",
    );
  }
  if (state.code === 204 || state.code === 304) {
    throw new ValidationError(
      `the app sent ${chunk.length} body ${
        typeof chunk === "string" ? "characters" : "bytes"
      } in a ${state.code} response, which has no body (RFC 9110 §15); send none`,
    );
  }
  const recorded = recordedOperation(environ);
  if (recorded !== null) {
    throw new ValidationError(
      `the app recorded ${
        String(recorded)
      } on environ.cogen, then yielded body data; yield the "" the helper returned first`,
    );
  }
}

/** The operation recorded on `environ.cogen`, or `null` (also when there is no proxy). */
function recordedOperation(environ: Environ): unknown {
  const proxy = environ.cogen as { operation?: unknown } | undefined;
  return typeof proxy === "object" && proxy !== null ? proxy.operation ?? null : null;
}

// ---- the environ ----

/** Keys PEP 3333 requires (the CGI ones the server always sets, and the wsgi.* ones). */
const REQUIRED = [
  "REQUEST_METHOD",
  "SCRIPT_NAME",
  "PATH_INFO",
  "QUERY_STRING",
  "SERVER_NAME",
  "SERVER_PORT",
  "SERVER_PROTOCOL",
  "wsgi.version",
  "wsgi.url_scheme",
  "wsgi.input",
  "wsgi.errors",
  "wsgi.multithread",
  "wsgi.multiprocess",
  "wsgi.run_once",
];

/** A CGI-style key: its value must be a string. Extension keys hold a dot, cogen's are lower-case. */
const CGI_KEY = /^[A-Z][A-Z0-9_]*$/;

function checkEnviron(environ: Environ): void {
  if (typeof environ !== "object" || environ === null || Array.isArray(environ)) {
    throw new ValidationError(`the environ is ${describe(environ)}; the server must pass an object`);
  }
  for (const key of REQUIRED) {
    if (!(key in environ)) {
      throw new ValidationError(`the environ has no ${key}; the server must set it (PEP 3333)`);
    }
  }
  if (typeof environ.SERVER_PORT !== "string" || !/^\d*$/.test(environ.SERVER_PORT)) {
    throw new ValidationError(
      `environ.SERVER_PORT is ${describe(environ.SERVER_PORT)} (${typeof environ
        .SERVER_PORT}); it must be a string of digits such as "8000" ("" over a Unix socket)`,
    );
  }
  for (const key of Object.keys(environ)) {
    const value = environ[key];
    if (CGI_KEY.test(key) && typeof value !== "string") {
      throw new ValidationError(
        `environ.${key} is ${
          describe(value)
        } (${typeof value}); CGI variables and HTTP_* keys must be strings`,
      );
    }
  }
  for (const key of ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"]) {
    if (key in environ) {
      throw new ValidationError(
        `the environ has ${key}; that header goes in ${key.slice(5)} (PEP 3333), not in an HTTP_ key`,
      );
    }
  }
  const method = environ.REQUEST_METHOD;
  if (!isToken(method)) {
    throw new ValidationError(
      `environ.REQUEST_METHOD ${JSON.stringify(method)} is not a method token (RFC 9110 §9.1)`,
    );
  }
  const script = environ.SCRIPT_NAME;
  if (script !== "" && (script[0] !== "/" || script.endsWith("/"))) {
    throw new ValidationError(
      `environ.SCRIPT_NAME ${
        JSON.stringify(script)
      } must be "" or start with "/" and not end with "/" (the "/" belongs to PATH_INFO)`,
    );
  }
  const path = environ.PATH_INFO;
  if (path !== "" && path[0] !== "/" && !(path === "*" && method === "OPTIONS")) {
    throw new ValidationError(
      `environ.PATH_INFO ${JSON.stringify(path)} must be "" or start with "/" ("*" only for OPTIONS *)`,
    );
  }
  if (script === "" && path === "") {
    throw new ValidationError(
      'environ.SCRIPT_NAME and PATH_INFO are both empty; at the root, PATH_INFO is "/"',
    );
  }
  if (environ.SERVER_NAME === "") {
    throw new ValidationError("environ.SERVER_NAME is empty; it names the host the server listens on");
  }
  if (!/^HTTP\/\d\.\d$/.test(environ.SERVER_PROTOCOL)) {
    throw new ValidationError(
      `environ.SERVER_PROTOCOL ${JSON.stringify(environ.SERVER_PROTOCOL)} must look like "HTTP/1.1"`,
    );
  }
  const length = environ.CONTENT_LENGTH;
  if (length !== undefined && !/^\d*$/.test(length)) {
    throw new ValidationError(`environ.CONTENT_LENGTH ${JSON.stringify(length)} must be "" or digits`);
  }
  const version = environ["wsgi.version"] as unknown;
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== 1 || version[1] !== 0) {
    throw new ValidationError(`environ["wsgi.version"] is ${describe(version)}; it must be [1, 0]`);
  }
  const scheme = environ["wsgi.url_scheme"];
  if (scheme !== "http" && scheme !== "https") {
    throw new ValidationError(
      `environ["wsgi.url_scheme"] is ${describe(scheme)}; it must be "http" or "https"`,
    );
  }
  checkMethods(environ, "wsgi.input", ["read", "readline", "readlines", Symbol.asyncIterator]);
  checkMethods(environ, "wsgi.errors", ["write", "writelines", "flush"]);
  for (const key of ["wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"]) {
    if (typeof environ[key] !== "boolean") {
      throw new ValidationError(`environ["${key}"] is ${describe(environ[key])}; it must be a boolean`);
    }
  }
}

function checkMethods(environ: Environ, key: string, methods: (string | symbol)[]): void {
  const value = environ[key] as Record<string | symbol, unknown> | null;
  for (const method of methods) {
    if (typeof value !== "object" || value === null || typeof value[method] !== "function") {
      throw new ValidationError(
        `environ["${key}"] (${describe(value)}) has no ${
          typeof method === "symbol" ? "[Symbol.asyncIterator]" : method
        }() method; it must offer ${
          methods.map((m) => typeof m === "symbol" ? "async iteration" : m).join(", ")
        }`,
      );
    }
  }
}

// ---- startResponse ----

function checkStatus(status: unknown): asserts status is string {
  if (typeof status !== "string") {
    throw new ValidationError(`the status is ${describe(status)}; it must be a string such as "200 OK"`);
  }
  if (!/^[1-5]\d\d/.test(status)) {
    throw new ValidationError(
      `status ${JSON.stringify(status)} must start with a three-digit code from 100 to 599 (RFC 9110 §15)`,
    );
  }
  if (status.length < 5 || status[3] !== " ") {
    throw new ValidationError(
      `status ${
        JSON.stringify(status)
      } needs a space and a reason phrase after the code, such as "404 Not Found"`,
    );
  }
  for (let i = 4; i < status.length; i++) {
    const c = status.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) {
      throw new ValidationError(
        `status ${
          JSON.stringify(status)
        } has a control character or a code point above U+00FF in its reason phrase; use printable Latin-1 text`,
      );
    }
  }
  if (status[0] === "1") {
    throw new ValidationError(
      `status ${
        JSON.stringify(status)
      } is interim (1xx); an app answers with a final status, 200 to 599 (the server sends 100 Continue itself)`,
    );
  }
}

function checkHeaders(headers: unknown): void {
  if (!Array.isArray(headers)) {
    throw new ValidationError(
      `the headers are ${describe(headers)}; pass an array of [name, value] pairs of strings`,
    );
  }
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (
      !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string"
    ) {
      throw new ValidationError(
        `header ${i} is ${describe(pair)}; each header is a [name, value] pair of strings`,
      );
    }
    const [name, value] = pair as [string, string];
    if (!isToken(name)) {
      throw new ValidationError(
        `header name ${
          JSON.stringify(name)
        } is not a token (RFC 9110 §5.1); use letters, digits and !#$%&'*+-.^_\`|~`,
      );
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      throw new ValidationError(
        `header ${name} is hop-by-hop (RFC 9110 §7.6.1); the server manages the connection and the framing, an app must not set it (PEP 3333)`,
      );
    }
    if (lower === "status") {
      throw new ValidationError(
        "header Status is CGI's, not HTTP's; give the status as startResponse's first argument",
      );
    }
    for (let j = 0; j < value.length; j++) {
      const c = value.charCodeAt(j);
      if ((c < 0x20 && c !== 9) || c === 0x7f) {
        throw new ValidationError(
          `header ${name} has a control character (CR, LF, NUL…) in its value ${
            JSON.stringify(value)
          }; remove it (RFC 9110 §5.5)`,
        );
      }
      if (c > 0xff) {
        throw new ValidationError(
          `header ${name} has a code point above U+00FF in its value ${
            JSON.stringify(value)
          }; field values are bytes: percent-encode it (or use RFC 8187)`,
        );
      }
    }
  }
}

/** Whether `text` is a non-empty token (RFC 9110 §5.6.2). */
function isToken(text: unknown): boolean {
  return typeof text === "string" && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(text);
}

// ---- the iteration ----

/** Reports iterators the server dropped without finishing or closing them. */
const unclosed = new FinalizationRegistry<{ errors: Environ["wsgi.errors"]; request: string }>(
  ({ errors, request }) => {
    errors.write(
      `${
        new ValidationError(
          `the response iterator for ${request} was garbage-collected without being finished or closed; ` +
            "the server must iterate it to the end or call its return()",
        ).message
      }\n`,
    );
  },
);

function describeRequest(environ: Environ): string {
  return `${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}${environ.PATH_INFO}`;
}

/**
 * The iterator the server gets: checks that it is driven one step at a time
 * and closed (run to its end, or `return()`ed), then forgets it in the
 * registry of unclosed iterators.
 */
class CheckedIterator implements AsyncIterableIterator<Chunk | Operation<unknown>> {
  readonly request: string;
  readonly #inner: AsyncGenerator<Chunk | Operation<unknown>, void, unknown>;
  #busy = false;
  #returned = false;

  constructor(inner: AsyncGenerator<Chunk | Operation<unknown>, void, unknown>, request: string) {
    this.#inner = inner;
    this.request = request;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(value?: unknown): Promise<IteratorResult<Chunk | Operation<unknown>, void>> {
    return this.#step("next", () => this.#inner.next(value));
  }

  throw(error?: unknown): Promise<IteratorResult<Chunk | Operation<unknown>, void>> {
    return this.#step("throw", () => this.#inner.throw(error));
  }

  async return(): Promise<IteratorResult<Chunk | Operation<unknown>, void>> {
    // A return() while a step is pending is allowed: the client left while the app was busy.
    this.#returned = true;
    this.#closed();
    return await this.#inner.return(undefined);
  }

  async #step(
    what: string,
    step: () => Promise<IteratorResult<Chunk | Operation<unknown>, void>>,
  ): Promise<IteratorResult<Chunk | Operation<unknown>, void>> {
    if (this.#returned) {
      throw new ValidationError(
        `the server called ${what}() on the iterator for ${this.request} after return()`,
      );
    }
    if (this.#busy) {
      throw new ValidationError(
        `the server called ${what}() on the iterator for ${this.request} before the previous step settled; await each step`,
      );
    }
    this.#busy = true;
    try {
      const result = await step();
      if (result.done) this.#closed();
      return result;
    } catch (error) {
      this.#closed();
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  #closed(): void {
    unclosed.unregister(this);
  }
}
