/**
 * `PathInfoDispatcher`: routes by path prefix. Defined in `wsgi/` (so that
 * `serve` can take a list of routes) and offered here with the middleware.
 *
 * @module
 */
export { PathInfoDispatcher, type Route } from "../wsgi/mod.ts";
