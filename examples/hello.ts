/**
 * `Hello, World!` as text/plain: the benchmark app.
 *
 * Run: `deno run -A examples/hello.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000).
 *
 * @module
 */
import type { App } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

const BODY = new TextEncoder().encode("Hello, World!");
const HEADERS: [string, string][] = [["Content-Type", "text/plain"]];

/** Answers every request with `Hello, World!`. */
export const hello: App = (_environ, startResponse) => {
  startResponse("200 OK", HEADERS);
  return [BODY];
};

if (import.meta.main) {
  serveExample(hello);
}
