/**
 * What every server example does when run: listen on `HOST`:`PORT` from the
 * environment (default 127.0.0.1:8000), over HTTPS when `CERT_FILE` and
 * `KEY_FILE` name a certificate and its key (PEM files), print one line
 * `listening on http://HOST:PORT/` (`https://` with TLS), and on SIGTERM or
 * SIGINT (Ctrl-C) shut down gracefully and exit 0.
 *
 * @module
 */
import { type App, type Route, serve, type ServeOptions, type Server, stopOnSignals } from "../wsgi/mod.ts";

/** Serves `app` as the examples do; `options` adds to (or overrides) the address and the TLS files. */
export function serveExample(app: App | Iterable<Route>, options: ServeOptions = {}): Server {
  const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
  const port = Number(Deno.env.get("PORT") ?? 8000);
  const settings: ServeOptions = { hostname, port, ...tlsFromEnvironment(), ...options };
  const server = serve(app, settings);
  stopOnSignals(server, { deadline: options.shutdownDeadline ?? 10_000 });
  const scheme = settings.cert !== undefined ? "https" : "http";
  // Said once the signals are handled: whoever waits for this line may signal at once.
  console.log(`listening on ${scheme}://${hostname}:${(server.addr as Deno.NetAddr).port}/`);
  return server;
}

/** `{ cert, key }` read from the files `CERT_FILE` and `KEY_FILE` name; `{}` when neither is set. */
function tlsFromEnvironment(): { cert?: string; key?: string } {
  // An empty variable counts as unset.
  const certFile = Deno.env.get("CERT_FILE") || undefined;
  const keyFile = Deno.env.get("KEY_FILE") || undefined;
  if (certFile === undefined && keyFile === undefined) return {};
  if (certFile === undefined || keyFile === undefined) {
    throw new Error("set both CERT_FILE and KEY_FILE (PEM files) to serve HTTPS, or neither");
  }
  return { cert: Deno.readTextFileSync(certFile), key: Deno.readTextFileSync(keyFile) };
}
