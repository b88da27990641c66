// @ts-check
/**
 * The `websocket` section's Node server: `node:http` with the `ws` package
 * (imported from `WS_MODULE`, the path of its `wrapper.mjs` the bench
 * installed it to; no permessage-deflate, as on the others): an echo at
 * `/ws` (each message back as it came, text as text), and a broadcast: a
 * WebSocket at `/news` is held (its messages echoed) and gets, as a text
 * message, the value V of every `GET /signal?value=V`, which answers how
 * many sockets it reached; `/stats` answers how many are held. Listens on
 * `HOST`:`PORT` and prints `listening on http://HOST:PORT/`.
 *
 * Run: `WS_MODULE=/…/node_modules/ws/wrapper.mjs node bench/servers/node_websocket.mjs`
 *
 * @module
 */
import http from "node:http";
import { listening, settings } from "./contract.mjs";
import { sendText } from "./node_text.mjs";

const { hostname, port } = settings(process.env, "node_websocket.mjs", ["websocket"]);
const { WebSocketServer } = await import(/** @type {string} */ (process.env.WS_MODULE));
const sockets = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
/** @type {Set<import("node:events").EventEmitter & { send(data: unknown, options?: object): void, readyState: number }>} */
const held = new Set();

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://x");
  if (url.pathname === "/signal") {
    const value = url.searchParams.get("value") ?? "";
    let sent = 0;
    for (const ws of held) {
      if (ws.readyState !== 1) continue;
      ws.send(value);
      sent++;
    }
    sendText(response, `${sent}\n`);
  } else if (url.pathname === "/stats") sendText(response, `${held.size}\n`);
  else sendText(response, "not found\n", 404);
});

server.on("upgrade", (request, socket, head) => {
  const path = new URL(request.url ?? "/", "http://x").pathname;
  if (path !== "/ws" && path !== "/news") {
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  sockets.handleUpgrade(request, socket, head, (/** @type {any} */ ws) => {
    ws.on("message", (/** @type {Buffer} */ data, /** @type {boolean} */ isBinary) => {
      ws.send(data, { binary: isBinary });
    });
    if (path === "/news") {
      held.add(ws);
      ws.on("close", () => held.delete(ws));
    }
  });
});

process.on("SIGTERM", () => process.exit(0));
server.listen(port, hostname, () => {
  const address = server.address();
  console.log(listening(hostname, typeof address === "object" && address ? address.port : port));
});
