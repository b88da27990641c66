/**
 * The app protocol: what an app is, what it yields, and `startResponse`.
 *
 * @module
 */
import { describe } from "../core/describe.ts";
import type { Environ } from "./environ.ts";
import { FileWrapper } from "./file_wrapper.ts";
import type { Operation } from "../core/operation.ts";

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
export type StartResponse = (
  status: string,
  headers: [string, string][],
  excInfo?: unknown,
) => (chunk: Chunk) => void;

/** What an app may yield: chunks, and operations or promises for the server to run. */
export type AppYield = Chunk | Operation<unknown> | PromiseLike<unknown>;

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

/**
 * The iterator of what an app returned (`isAsync`: use its async iterator),
 * or a TypeError saying what to return instead.
 *
 * @example
 * ```ts
 * import { iteratorOf } from "./app.ts";
 * iteratorOf(["a", "b"], false).next(); // { value: "a", done: false }
 * ```
 */
export function iteratorOf(
  result: AppResult,
  isAsync: boolean,
): Iterator<AppYield> | AsyncIterator<AppYield> {
  const iterator = isAsync
    ? (result as AsyncIterable<AppYield>)[Symbol.asyncIterator]()
    : (result as Iterable<AppYield>)?.[Symbol.iterator]?.();
  if (iterator === undefined) {
    throw new TypeError(
      `the app returned ${describe(result)}; return an iterable of chunks (or be a generator)`,
    );
  }
  return iterator;
}

/**
 * The `close()` of what an app returned (PEP 3333: whoever consumes the
 * result calls it), or null; a file_wrapper closes itself.
 */
export function closeOf(result: unknown): unknown {
  if (result instanceof FileWrapper) return null;
  const close = (result as { close?: unknown } | null | undefined)?.close;
  return typeof close === "function" ? close : null;
}
