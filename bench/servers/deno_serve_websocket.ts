/**
 * The `websocket` section's `Deno.serve` with `Deno.upgradeWebSocket`: an
 * echo at `/ws` (each message back as it came), and a broadcast: a
 * WebSocket at `/news` is held (its messages echoed) and gets, as a text
 * message, the value V of every `GET /signal?value=V`, which answers how
 * many sockets it reached; `/stats` answers how many are held. Listens on
 * `HOST`:`PORT` (default 127.0.0.1:0) and prints
 * `listening on http://HOST:PORT/`.
 *
 * Run: `deno run -A bench/servers/deno_serve_websocket.ts`
 *
 * @module
 */
import { listening, settings } from "./contract.mjs";

const { hostname, port } = settings(Deno.env.toObject(), "deno_serve_websocket.ts", ["websocket"]);
const UTF8 = { "Content-Type": "text/plain; charset=utf-8" };
const held = new Set<WebSocket>();

function echoing(request: Request): { socket: WebSocket; response: Response } {
  const upgraded = Deno.upgradeWebSocket(request);
  const socket = upgraded.socket;
  socket.onmessage = (event) => socket.send(event.data);
  return upgraded;
}

Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
Deno.serve({
  hostname,
  port,
  onListen: (addr) => console.log(listening(hostname, addr.port)),
}, (request) => {
  const url = new URL(request.url);
  if (url.pathname === "/ws") return echoing(request).response;
  if (url.pathname === "/news") {
    const { socket, response } = echoing(request);
    socket.onopen = () => held.add(socket);
    socket.onclose = () => held.delete(socket);
    return response;
  }
  if (url.pathname === "/signal") {
    const value = url.searchParams.get("value") ?? "";
    let sent = 0;
    for (const socket of held) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      socket.send(value);
      sent++;
    }
    return new Response(`${sent}\n`, { headers: UTF8 });
  }
  if (url.pathname === "/stats") return new Response(`${held.size}\n`, { headers: UTF8 });
  return new Response("not found\n", { status: 404, headers: UTF8 });
});
