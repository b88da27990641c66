/**
 * The seed's `wait_app`, as the seed wrote it (translated to TypeScript): it
 * says it waits, waits for the signal "abc" for up to a second through
 * `environ.cogen.core.events.WaitForSignal`, then says who signalled — or
 * that its time is up. `/signal?value=V` signals "abc" with V.
 *
 * Run: `deno run -A examples/wait.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000); then `curl localhost:8000/` and, within a second,
 * `curl 'localhost:8000/signal?value=hi'`.
 *
 * @module
 */
import type { Environ, StartResponse } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** The seed's wait_app. */
export async function* waitApp(environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", [["Content-type", "text/html"]]);
  yield "I'm waiting for some signal";
  yield environ.cogen.core.events.WaitForSignal("abc", { timeout: 1000 });
  if (environ.cogen.result instanceof Error) {
    yield "Your time is up !";
  } else {
    yield `Someone signaled me: ${environ.cogen.result}`;
  }
}

/** Signals "abc" with the query's `value`; answers how many waiters woke. */
export async function* signalApp(environ: Environ, startResponse: StartResponse) {
  const value = new URLSearchParams(environ.QUERY_STRING).get("value") ?? "";
  yield environ.cogen.core.events.Signal("abc", value);
  startResponse("200 OK", [["Content-type", "text/plain"]]);
  yield `woke ${environ.cogen.result}\n`;
}

if (import.meta.main) {
  serveExample([["/signal", signalApp], ["/", waitApp]]);
}
