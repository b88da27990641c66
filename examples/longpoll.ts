/**
 * Long polling: `GET /wait` holds until someone calls `GET /signal?value=V`,
 * then answers 200 with V; `/signal` answers at once with how many waiting
 * clients it woke. A client that gives up costs nothing afterwards: its wait
 * is withdrawn, its app's `finally` runs. `/stats` tells how many clients
 * wait.
 *
 * Run: `deno run -A examples/longpoll.ts` (HOST and PORT from the
 * environment, default 127.0.0.1:8000).
 *
 * @module
 */
import { Signal, WaitForSignal } from "../core/mod.ts";
import type { Environ, StartResponse } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

const TEXT: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];

/** Waits (forever, or until the client leaves) for the next signal; answers its value. */
export async function* wait(_environ: Environ, startResponse: StartResponse) {
  const value: string = yield new WaitForSignal("longpoll", { timeout: -1 });
  startResponse("200 OK", TEXT);
  yield `${value}\n`;
}

/** Wakes every waiting client with `?value=`; answers how many. */
export async function* signal(environ: Environ, startResponse: StartResponse) {
  const value = new URLSearchParams(environ.QUERY_STRING).get("value") ?? "";
  const woken: number = yield new Signal("longpoll", value);
  startResponse("200 OK", TEXT);
  yield `${woken}\n`;
}

/** How many clients wait for the next signal now (the same figure the bench's other servers give). */
export function* stats(environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", TEXT);
  yield `${environ["cogen.sched"].signals.get("longpoll")?.waiters.length ?? 0}\n`;
}

if (import.meta.main) {
  serveExample([["/wait", wait], ["/signal", signal], ["/stats", stats]]);
}
