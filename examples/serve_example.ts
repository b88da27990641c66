/**
 * What every server example does when run: listen on `HOST`:`PORT` from the
 * environment (default 127.0.0.1:8000) and print one line
 * `listening on http://HOST:PORT/`.
 *
 * @module
 */
import { type App, type Route, serve, type ServeOptions, type Server } from "../wsgi/mod.ts";

/** Serves `app` as the examples do; `options` adds to (or overrides) the address. */
export function serveExample(app: App | Iterable<Route>, options: ServeOptions = {}): Server {
  const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
  const port = Number(Deno.env.get("PORT") ?? 8000);
  return serve(app, {
    hostname,
    port,
    onListen: (addr) => console.log(`listening on http://${hostname}:${(addr as Deno.NetAddr).port}/`),
    ...options,
  });
}
