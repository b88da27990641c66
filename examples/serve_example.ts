/**
 * What every server example does when run: listen on `HOST`:`PORT` from the
 * environment (default 127.0.0.1:8000), print one line
 * `listening on http://HOST:PORT/`, and on SIGTERM or SIGINT (Ctrl-C) shut
 * down gracefully and exit 0.
 *
 * @module
 */
import { type App, type Route, serve, type ServeOptions, type Server, stopOnSignals } from "../wsgi/mod.ts";

/** Serves `app` as the examples do; `options` adds to (or overrides) the address. */
export function serveExample(app: App | Iterable<Route>, options: ServeOptions = {}): Server {
  const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
  const port = Number(Deno.env.get("PORT") ?? 8000);
  const server = serve(app, { hostname, port, ...options });
  stopOnSignals(server, { deadline: options.shutdownDeadline ?? 10_000 });
  // Said once the signals are handled: whoever waits for this line may signal at once.
  console.log(`listening on http://${hostname}:${(server.addr as Deno.NetAddr).port}/`);
  return server;
}
