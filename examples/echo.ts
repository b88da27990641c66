/**
 * The conformance app: answers every request 200 with a JSON description of
 * what it received — `{"method", "path", "query", "headers", "body"}`.
 *
 * - `path`: the raw request target up to `?`, exactly as received (for an
 *   absolute-form target: without scheme and authority; `/` if empty);
 * - `query`: the raw part after the first `?` (`""` without one);
 * - `headers`: lower-cased field names to values, repeated fields joined with
 *   `", "` (`cookie` with `"; "`);
 * - `body`: the body's bytes as ISO-8859-1 (one code point per byte).
 *
 * Run: `deno run -A examples/echo.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000).
 *
 * @module
 */
import type { App, Environ } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** Echoes the request as JSON. */
export const echo: App = async function* (environ: Environ, startResponse) {
  let body = "";
  for await (const chunk of environ["wsgi.input"]) {
    for (let i = 0; i < chunk.length; i += 8192) {
      body += String.fromCharCode(...chunk.subarray(i, i + 8192));
    }
  }
  const target = environ.REQUEST_URI;
  const q = target.indexOf("?");
  let path = q < 0 ? target : target.slice(0, q);
  const scheme = path.indexOf("://");
  if (!path.startsWith("/") && path !== "*" && scheme > 0) {
    const slash = path.indexOf("/", scheme + 3);
    path = slash < 0 ? "/" : path.slice(slash);
  }
  const headers: Record<string, string> = {};
  const raw = environ["cogen.headers"];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const previous = headers[name];
    headers[name] = previous === undefined
      ? raw[i + 1]
      : `${previous}${name === "cookie" ? "; " : ", "}${raw[i + 1]}`;
  }
  const json = JSON.stringify({
    method: environ.REQUEST_METHOD,
    path,
    query: q < 0 ? "" : target.slice(q + 1),
    headers,
    body,
  });
  startResponse("200 OK", [["Content-Type", "application/json; charset=utf-8"]]);
  yield json;
};

if (import.meta.main) {
  serveExample(echo);
}
