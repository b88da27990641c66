/**
 * The errors of serving that are not the app's own — the client went away,
 * the server is shutting down — and how the server logs an error by
 * default: a client's mistake in one line, an app's failure with its stack.
 *
 * @module
 */
import { HttpError } from "./http_error.ts";

/**
 * The client went away (it closed the connection, or a write to it failed)
 * before the response was complete. Thrown into an app that reads the body
 * of a client that left, and reported (in one line) when a response could
 * not be written.
 *
 * @example
 * ```ts
 * import { ClientGone } from "@cogen/cogen/wsgi";
 * new ClientGone(new Error("Broken pipe")).message; // "the client went away (Broken pipe)"
 * ```
 */
export class ClientGone extends Error {
  /** `cause`: what the socket reported, if anything. */
  constructor(cause?: unknown, message = "the client went away") {
    super(cause instanceof Error ? `${message} (${cause.message})` : message, { cause });
    this.name = "ClientGone";
  }
}

/**
 * Thrown into an app waiting on an operation when the server shuts down
 * (SIGTERM, `server.shutdown()`), so that a held long poll can still answer
 * (catch it, answer, end). An app that lets it escape before its head went
 * out is answered `503 Service Unavailable`.
 *
 * @example
 * ```ts
 * import { ServerShutdown } from "@cogen/cogen/wsgi";
 * import { WaitForSignal } from "@cogen/cogen/core";
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * async function* poll(_environ: Environ, startResponse: StartResponse) {
 *   try {
 *     const news = yield* new WaitForSignal<string>("news", { timeout: 30_000 });
 *     startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *     yield news;
 *   } catch (error) {
 *     if (!(error instanceof ServerShutdown)) throw error;
 *     startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *     yield "no news yet; ask again";
 *   }
 * }
 * ```
 */
export class ServerShutdown extends Error {
  /** Creates the error. */
  constructor(message = "the server is shutting down") {
    super(message);
    this.name = "ServerShutdown";
  }
}

/**
 * Whether an error is the client's doing rather than the app's or the
 * server's: a request refused with a 4xx status, or a client that left.
 *
 * @example
 * ```ts
 * import { ClientGone, HttpError } from "@cogen/cogen/wsgi";
 * import { isClientError } from "./errors.ts";
 * isClientError(new HttpError(400, "bare LF")); // true
 * isClientError(new ClientGone()); // true
 * isClientError(new TypeError("oops")); // false
 * ```
 */
export function isClientError(error: unknown): boolean {
  if (error instanceof ClientGone) return true;
  if (error instanceof HttpError) return error.status >= 400 && error.status < 500;
  // What the runtime throws on a write to, or a read from, a socket the peer closed.
  return error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted || error instanceof Deno.errors.NotConnected;
}

/**
 * The server's default `onError`: one line on stderr for a client's mistake
 * ({@linkcode isClientError}) and for the server's own trouble of the moment
 * (out of file descriptors), the stack for an app's failure. It prints
 * strings only (an error object handed to `console.error` can make Deno
 * itself fail while printing it).
 *
 * @example
 * ```ts
 * import { HttpError, logError } from "@cogen/cogen/wsgi";
 * logError(new HttpError(400, "bare LF"), "a request from 127.0.0.1"); // "cogen: a request from 127.0.0.1: HttpError: bare LF"
 * ```
 */
export function logError(error: unknown, context: string): void {
  const brief = isClientError(error) || context === "accept";
  const line = error instanceof Error && error.name !== "Error"
    ? `${error.name}: ${String(error.message)}`
    : null;
  const text = !(error instanceof Error)
    ? String(error)
    : brief
    ? line ?? String(error.message)
    : error.stack ?? line ?? String(error.message);
  console.error(`cogen: ${brief ? "" : "error in "}${context}: ${text}`);
}

/**
 * The app broke its own Content-Length: it sent more bytes than it
 * declared (what fits was sent), or fewer (the message is cut).
 *
 * @example
 * ```ts
 * import { ContentLengthError } from "@cogen/cogen/wsgi";
 * new ContentLengthError("the app sent 4 of the 10 bytes of its Content-Length").name; // "ContentLengthError"
 * ```
 */
export class ContentLengthError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ContentLengthError";
  }
}
