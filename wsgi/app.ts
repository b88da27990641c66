/**
 * The app protocol: what an app is, what it yields, and `startResponse`.
 *
 * @module
 */
import type { Environ } from "./environ.ts";
import type { Runnable } from "./proxy.ts";

/** A piece of a response body: strings are sent as UTF-8, bytes untouched. */
export type Chunk = string | Uint8Array;

/** The `write` callable `startResponse` returns (PEP 3333's legacy path). */
export type Write = (chunk: Chunk) => void;

/**
 * `startResponse(status, headers, excInfo?)`, as PEP 3333: `status` like
 * `"200 OK"`, `headers` a list of `[name, value]`. A second call needs
 * `excInfo` (the error being handled); once the headers are sent, it
 * rethrows `excInfo`.
 */
export type StartResponse = (status: string, headers: [string, string][], excInfo?: unknown) => Write;

/** What an app may yield: chunks, and operations or promises for the server to run. */
export type AppYield = Chunk | Runnable;

/** What an app returns. */
export type AppResult =
  | Iterable<AppYield>
  | AsyncIterable<AppYield>;

/**
 * An app: called once per request with the environ and `startResponse`, it
 * returns (or resolves to) an iterable of chunks — usually it is an async
 * generator function. An array is sent as is.
 *
 * @example
 * ```ts
 * import type { App } from "@cogen/cogen/wsgi";
 * const hello: App = function* (_environ, startResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "Hello, World!";
 * };
 * ```
 */
export type App = (environ: Environ, startResponse: StartResponse) => AppResult | Promise<AppResult>;
