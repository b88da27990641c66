/**
 * Our server for the `websocket` section: `examples/websocket.ts`'s echo at
 * `/ws`, and a broadcast: a WebSocket at `/news` is held (its messages
 * echoed) and gets, as a text message, the value V of every
 * `GET /signal?value=V`, which answers how many sockets it reached;
 * `/stats` answers how many are held. Listens on `HOST`:`PORT` as the
 * examples do and prints `listening on http://HOST:PORT/`.
 *
 * Run: `PORT=0 deno run -A bench/servers/ours_websocket.ts`
 *
 * @module
 */
import { Race, Signal, WaitForSignal } from "../../core/mod.ts";
import { acceptWebSocket, type App, type Environ, type StartResponse } from "../../wsgi/mod.ts";
import { echo } from "../../examples/websocket.ts";
import { serveExample } from "../../examples/serve_example.ts";

const TEXT: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];
const NEWS = "news";

/** A held WebSocket: each message of the client echoed, each `news` signal passed on. */
const news: App = function* (environ, startResponse) {
  const ws = acceptWebSocket(environ, startResponse);
  for (;;) {
    const got = yield* new Race([ws.receive(), new WaitForSignal<{ news: string }>(NEWS, { timeout: -1 })]);
    if (got === null) return;
    if (typeof got === "object" && "news" in got) yield* ws.send(got.news);
    else yield* ws.send(got);
  }
};

/** Sends V of `?value=V` to every held WebSocket; answers how many. */
function* signal(environ: Environ, startResponse: StartResponse) {
  const value = new URLSearchParams(environ.QUERY_STRING).get("value") ?? "";
  const woken: number = yield new Signal(NEWS, { news: value });
  startResponse("200 OK", TEXT);
  yield `${woken}\n`;
}

/** The WebSockets held at `/news`. */
const stats: App = (environ, startResponse) => {
  startResponse("200 OK", TEXT);
  return [`${environ["cogen.sched"].signals.get(NEWS)?.waiters.length ?? 0}\n`];
};

serveExample([["/ws", echo], ["/news", news], ["/signal", signal], ["/stats", stats]]);
