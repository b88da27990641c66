/**
 * `PathInfoDispatcher`: routes by path prefix, as Paste's. It lives in
 * `wsgi/` because `serve(app)` accepts a list of `[prefix, app]` pairs; the
 * middleware folder re-exports it.
 *
 * @module
 */
import type { App, AppResult, StartResponse } from "./app.ts";
import type { Environ } from "./environ.ts";

/** A route: a path prefix and the app mounted there. */
export type Route = readonly [prefix: string, app: App];

/**
 * An app that sends each request to the app of the longest matching prefix
 * (on segment boundaries: `/api` matches `/api` and `/api/x`, not `/apix`),
 * moving the prefix from `PATH_INFO` to `SCRIPT_NAME`; 404 when none
 * matches. A prefix of `""` or `"/"` matches everything.
 *
 * @throws {TypeError} when a route is not a `[string, function]` pair.
 * @example
 * ```ts
 * import { type App, PathInfoDispatcher } from "@cogen/cogen/wsgi";
 * const hello: App = (_environ, startResponse) => {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   return ["hello"];
 * };
 * const app = PathInfoDispatcher([["/hello", hello], ["/", hello]]);
 * ```
 */
export function PathInfoDispatcher(routes: Iterable<Route>): App {
  const table: { prefix: string; app: App }[] = [];
  for (const route of routes) {
    if (!Array.isArray(route) || typeof route[0] !== "string" || typeof route[1] !== "function") {
      throw new TypeError("PathInfoDispatcher: each route must be a [prefix, app] pair");
    }
    let prefix = route[0];
    while (prefix.endsWith("/")) prefix = prefix.slice(0, -1);
    if (prefix !== "" && !prefix.startsWith("/")) prefix = "/" + prefix;
    table.push({ prefix, app: route[1] });
  }
  table.sort((a, b) => b.prefix.length - a.prefix.length);
  return function dispatch(environ: Environ, startResponse: StartResponse): AppResult | Promise<AppResult> {
    const path = environ.PATH_INFO;
    for (const { prefix, app } of table) {
      if (
        prefix === "" || path === prefix ||
        (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f)
      ) {
        environ.SCRIPT_NAME += prefix;
        environ.PATH_INFO = path.slice(prefix.length);
        return app(environ, startResponse);
      }
    }
    startResponse("404 Not Found", [["Content-Type", "text/plain; charset=utf-8"]]);
    return [`404 Not Found\nno app is mounted at ${path}\n`];
  };
}
