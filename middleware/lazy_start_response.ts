/**
 * `LazyStartResponseMiddleware`: the app's `startResponse` takes effect only
 * at its first non-empty chunk.
 *
 * @module
 */
import type { App, StartResponse, Write } from "../wsgi/mod.ts";
import { relay } from "./relay.ts";

/**
 * Delays the app's `startResponse` until it yields its first non-empty chunk
 * (or ends): the empty chunks of its operations then do not send the
 * headers, so the app can still change its answer after an operation fails
 * (call `startResponse` again, with `excInfo`).
 *
 * @example
 * ```ts
 * import { LazyStartResponseMiddleware } from "@cogen/cogen/middleware";
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * async function* app(environ: Environ, startResponse: StartResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield environ.cogen.core.events.WaitForSignal("ready", { timeout: 1000 });
 *   if (environ.cogen.result instanceof Error) {
 *     // The headers have not gone out yet: still time to answer 504.
 *     startResponse("504 Gateway Timeout", [["Content-Type", "text/plain"]], environ.cogen.exception);
 *     yield "nobody was ready";
 *     return;
 *   }
 *   yield "ready";
 * }
 * const lazy = LazyStartResponseMiddleware(app);
 * ```
 */
export function LazyStartResponseMiddleware(app: App): App {
  return function lazyStartResponse(environ, startResponse) {
    let pending: Parameters<StartResponse> | null = null;
    let write: Write | null = null;
    const start = () => {
      if (write === null && pending !== null) write = startResponse(...pending);
    };
    const lazy: StartResponse = (status, headers, excInfo) => {
      if (write !== null) return startResponse(status, headers, excInfo);
      if (pending !== null && (excInfo === undefined || excInfo === null)) {
        throw new Error("startResponse: called a second time without excInfo; pass the error being handled");
      }
      pending = [status, headers, excInfo];
      return (chunk) => {
        start();
        write!(chunk);
      };
    };
    return finishWith(
      relay(app(environ, lazy), (item) => {
        if ((typeof item === "string" || item instanceof Uint8Array) && item.length > 0) start();
        return item;
      }),
      start,
    );
  };
}

/** Runs `last` after the relay ends normally (an app without body still gets its headers). */
async function* finishWith<T>(
  inner: AsyncGenerator<T, void, unknown>,
  last: () => void,
): AsyncGenerator<T, void, unknown> {
  yield* inner;
  last();
}
