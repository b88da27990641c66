/**
 * `relay`: how a middleware passes an app's output on without collecting it —
 * step by step, with the values and errors the server sends back forwarded
 * in, and `return()` forwarded when the client goes away.
 *
 * @module
 */
import { Await, type Operation } from "../core/mod.ts";
import { isPromiseLike } from "../core/await.ts";
import type { AppResult, AppYield, Chunk } from "../wsgi/mod.ts";

/**
 * Yields what the app's result yields, each item passed through `map` first
 * (identity by default). Empty chunks and operations are relayed at the point
 * they arrive, so operations reach the server; a value the server sends back
 * for an operation goes back in, an error is thrown in, and `return()` on the
 * relay returns the inner iterator (its `finally` runs). The result's
 * `close()`, if it has one, is called at the end however it came (PEP 3333). A promise yielded by
 * a sync app is relayed as an `Await` so the server, not the relay, waits.
 *
 * @example
 * ```ts
 * import { relay } from "@cogen/cogen/middleware";
 * import type { App } from "@cogen/cogen/wsgi";
 * // A middleware that upper-cases string chunks and passes the rest on.
 * function upperCase(app: App): App {
 *   return (environ, startResponse) =>
 *     relay(app(environ, startResponse), (item) => typeof item === "string" ? item.toUpperCase() : item);
 * }
 * ```
 */
export async function* relay(
  result: AppResult | Promise<AppResult>,
  map: (item: AppYield) => AppYield = (item) => item,
): AsyncGenerator<Chunk | Operation<unknown>, void, unknown> {
  const awaited = await result;
  const iterator = iteratorOf(awaited);
  let finished = false;
  try {
    let step = await iterator.next();
    while (!step.done) {
      const item = map(step.value);
      let sent: unknown;
      try {
        sent = yield isPromiseLike(item) ? new Await(item) : item as Chunk | Operation<unknown>;
      } catch (error) {
        if (typeof iterator.throw !== "function") throw error;
        step = await iterator.throw(error);
        continue;
      }
      step = await iterator.next(sent);
    }
    finished = true;
  } finally {
    try {
      if (!finished) await iterator.return?.();
    } finally {
      // PEP 3333: whoever consumes the app's result calls its close(), however the response ended.
      const close = (awaited as { close?: unknown }).close;
      if (typeof close === "function") await close.call(awaited);
    }
  }
}

/** The iterator of an app's result, sync or async. */
export function iteratorOf(result: AppResult): Iterator<AppYield> | AsyncIterator<AppYield> {
  const asyncIterable = result as AsyncIterable<AppYield>;
  if (typeof asyncIterable?.[Symbol.asyncIterator] === "function") {
    return asyncIterable[Symbol.asyncIterator]();
  }
  const iterable = result as Iterable<AppYield>;
  if (typeof iterable?.[Symbol.iterator] === "function") return iterable[Symbol.iterator]();
  throw new TypeError(`the app returned ${typeof result}; an app returns an iterable of chunks`);
}
