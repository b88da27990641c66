/**
 * `compose`: an app wrapped in a list of middleware, read from the inside out.
 *
 * @module
 */
import { describe } from "../core/describe.ts";
import type { App } from "../wsgi/mod.ts";

/** A middleware as `compose` takes it: a function from an app to the app that wraps it. */
export type Middleware = (app: App) => App;

/**
 * Wraps `app` in each middleware in turn, from the inside out: the first
 * listed wraps the app itself, each next one wraps all that comes before
 * it, and the last listed is the outermost — the first to see each request,
 * the last to see the response. `compose(app, validator, errorPages,
 * accessLog)` is `accessLog(errorPages(validator(app)))`. Middleware with
 * options are given as `(app) => accessLog(app, options)`; middleware whose
 * options are all optional can be given as they are.
 *
 * @example
 * ```ts
 * import { accessLog, compose, errorPages, validator } from "@cogen/cogen/middleware";
 * import type { App } from "@cogen/cogen/wsgi";
 * const app: App = function* (_environ, startResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   yield "composed";
 * };
 * // validator right around the app, then error pages, then the log, outermost.
 * const served = compose(
 *   app,
 *   validator,
 *   errorPages,
 *   (inner) => accessLog(inner, { format: "combined" }),
 * );
 * ```
 *
 * @throws {TypeError} when `app` or a middleware is not a function, or a middleware does not return one.
 */
export function compose(app: App, ...middleware: Middleware[]): App {
  if (typeof app !== "function") {
    throw new TypeError(`compose: app must be a function (environ, startResponse), got ${describe(app)}`);
  }
  let composed = app;
  for (let i = 0; i < middleware.length; i++) {
    const wrap = middleware[i];
    if (typeof wrap !== "function") {
      throw new TypeError(`compose: middleware ${i} must be a function (app) => app, got ${describe(wrap)}`);
    }
    composed = wrap(composed);
    if (typeof composed !== "function") {
      throw new TypeError(
        `compose: middleware ${i} (${wrap.name || "anonymous"}) returned ${
          typeof composed === "object" && composed !== null ? "an object" : describe(composed)
        }, not an app; give middleware with options as (app) => mw(app, options)`,
      );
    }
  }
  return composed;
}
