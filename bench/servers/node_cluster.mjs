// @ts-check
/**
 * The `workers` section's `node:http` in node's `cluster` mode: `WORKERS`
 * processes (default: one per core) answer `Hello, World!` on one port, as
 * `node_http.mjs` does in one. The primary prints
 * `listening on http://HOST:PORT/` once every worker listens.
 *
 * Run: `WORKERS=2 node bench/servers/node_cluster.mjs`
 *
 * @module
 */
import cluster from "node:cluster";
import http from "node:http";
import { availableParallelism } from "node:os";
import { HELLO, listening, settings } from "./contract.mjs";

const { hostname, port } = settings(process.env, "node_cluster.mjs", ["hello"]);
const workers = Number(process.env.WORKERS ?? availableParallelism());

if (cluster.isPrimary) {
  let ready = 0;
  cluster.on("listening", (_worker, address) => {
    if (++ready === workers) console.log(listening(hostname, address.port));
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const body = Buffer.from(HELLO);
  const headers = { "Content-Type": "text/plain", "Content-Length": String(body.length) };
  http.createServer((_request, response) => {
    response.writeHead(200, headers);
    response.end(body);
  }).listen(port, hostname);
}
