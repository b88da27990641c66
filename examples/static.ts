/**
 * Static files with the middleware suite stacked: `staticFiles` serves a
 * folder (ETag, Last-Modified, 304, Range, HEAD), `validator` checks the
 * protocol on both sides, `errorPages` turns its empty 404s into pages,
 * `compress` gzips what is worth it, and `accessLog` writes one Combined Log
 * Format line per response.
 *
 * Run: `deno run -A examples/static.ts [folder]` (default `examples/public`;
 * HOST and PORT from the environment, default 127.0.0.1:8000), then
 * `curl -i --compressed localhost:8000/`.
 *
 * @module
 */
import { accessLog, compose, compress, errorPages, staticFiles, validator } from "../middleware/mod.ts";
import type { App } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** The folder `app` serves when none is given (decoded: a checkout path may hold a space, `%20` in a URL). */
export const PUBLIC = decodeURIComponent(new URL("./public/", import.meta.url).pathname);

/** What is not a file: an empty 404, for `errorPages` to dress (as HTML, or JSON by `Accept`). */
const notFound: App = (_environ, startResponse) => {
  startResponse("404 Not Found", []);
  return [];
};

/**
 * `root` served with the suite: the first middleware listed is the
 * innermost, `accessLog` the outermost (it logs what the client got).
 */
export function staticSite(root: string, write?: (line: string) => void): App {
  return compose(
    staticFiles(root, { maxAge: 60, fallthrough: notFound }),
    validator,
    errorPages,
    compress,
    (app) => accessLog(app, { format: "combined", write }),
  );
}

if (import.meta.main) {
  serveExample(staticSite(Deno.args[0] ?? PUBLIC));
}
