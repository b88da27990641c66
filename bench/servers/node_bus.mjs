// @ts-check
/**
 * The `bus` section's `node:http`: node's `cluster` with two workers on one
 * port, each subscribed to a Redis channel with node-redis (`@redis/client`,
 * imported from `REDIS_CLIENT`, the path the bench installed it to):
 * `GET /wait` holds until `GET /signal?value=V`, sent to either worker, is
 * published on the channel and wakes the waiters of both; `/stats` answers
 * `PID COUNT`. The primary prints `listening on http://HOST:PORT/` once both
 * workers listen.
 *
 * Run: `PORT=8000 REDIS_URL=redis://127.0.0.1:6379 REDIS_CLIENT=/…/@redis/client/dist/index.js node bench/servers/node_bus.mjs`
 *
 * @module
 */
import cluster from "node:cluster";
import http from "node:http";
import { listening, settings } from "./contract.mjs";
import { sendText } from "./node_text.mjs";

const { hostname, port } = settings(process.env, "node_bus.mjs", ["longpoll"]);
const WORKERS = 2;
const CHANNEL = "bench:longpoll";

if (cluster.isPrimary) {
  let ready = 0;
  cluster.on("listening", (_worker, address) => {
    if (++ready === WORKERS) console.log(listening(hostname, address.port));
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const { createClient } = await import(/** @type {string} */ (process.env.REDIS_CLIENT));
  const publisher = createClient({ url: process.env.REDIS_URL });
  const subscriber = publisher.duplicate();
  await publisher.connect();
  await subscriber.connect();
  /** @type {Set<(value: string) => void>} */
  const waiting = new Set();
  await subscriber.subscribe(CHANNEL, (/** @type {string} */ value) => {
    const woken = [...waiting];
    waiting.clear();
    for (const wake of woken) wake(value);
  });
  http.createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://x");
    if (url.pathname === "/wait") {
      /** @param {string} value */
      const wake = (value) => sendText(response, `${value}\n`);
      waiting.add(wake);
      response.on("close", () => waiting.delete(wake));
    } else if (url.pathname === "/signal") {
      sendText(response, `${await publisher.publish(CHANNEL, url.searchParams.get("value") ?? "")}\n`);
    } else if (url.pathname === "/stats") sendText(response, `${process.pid} ${waiting.size}\n`);
    else sendText(response, "not found\n", 404);
  }).listen(port, hostname);
}
