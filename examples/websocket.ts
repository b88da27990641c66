/**
 * A WebSocket echo at `/ws`: each text message comes back as text, each
 * binary message as binary, unchanged. Pings are answered, and a client's
 * close is answered with a close, then the connection ends. No subprotocol,
 * no extension. `/` is a page that talks to it.
 *
 * Run: `deno run -A examples/websocket.ts` (HOST and PORT from the
 * environment, default 127.0.0.1:8000), then open http://127.0.0.1:8000/.
 *
 * @module
 */
import { acceptWebSocket, type App, type Route } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** The echo: every message back as it came, until the client closes. */
export const echo: App = function* (environ, startResponse) {
  const ws = acceptWebSocket(environ, startResponse);
  for (;;) {
    const message = yield* ws.receive();
    if (message === null) return;
    yield* ws.send(message);
  }
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>cogen: WebSocket echo</title>
<form id="form"><input name="message" autocomplete="off" autofocus> <button>send</button></form>
<ol id="log"></ol>
<script>
  const log = document.getElementById("log");
  const ws = new WebSocket(location.href.replace(/^http/, "ws").replace(/\\/?$/, "/ws"));
  ws.onmessage = (event) => log.insertAdjacentHTML("afterbegin", "<li></li>") || (log.firstChild.textContent = event.data);
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    ws.send(event.target.message.value);
    event.target.message.value = "";
  };
</script>
`;

/** The page that talks to the echo. */
export const page: App = (_environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/html; charset=utf-8"]]);
  return [PAGE];
};

/** `/ws` and `/`. */
export const app: Route[] = [["/ws", echo], ["/", page]];

if (import.meta.main) {
  serveExample(app);
}
