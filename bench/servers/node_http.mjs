// @ts-check
/**
 * The benchmark's servers written for `node:http`, run with `node` (not
 * Deno): the same three apps as `deno_serve.ts`, chosen by `APP`
 * (`hello`, `transfer`, `longpoll`), the same address (`HOST`:`PORT`,
 * default 127.0.0.1:0), the same `listening on http://HOST:PORT/` line
 * (`https://` over TLS), and `served N` on SIGTERM; HTTPS (`node:https`)
 * with `CERT_FILE` and `KEY_FILE`. A long-polling client that leaves is dropped on the
 * response's `close` event.
 *
 * Run: `APP=hello node bench/servers/node_http.mjs`
 *
 * @module
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { BIG_SIZE, HELLO, listening, settings, Waiters } from "./contract.mjs";
import { sendText } from "./node_text.mjs";

const HELLO_BYTES = Buffer.from(HELLO);
const BIG = Buffer.alloc(BIG_SIZE, 0x78);
const TEXT = { "Content-Type": "text/plain", "Content-Length": String(HELLO_BYTES.length) };
const BINARY = { "Content-Type": "application/octet-stream", "Content-Length": String(BIG.length) };

let served = 0;

/** @type {http.RequestListener} */
function hello(_request, response) {
  served++;
  response.writeHead(200, TEXT);
  response.end(HELLO_BYTES);
}

/** @type {http.RequestListener} */
function transfer(request, response) {
  served++;
  const path = (request.url ?? "/").split("?")[0];
  if (path === "/64k") {
    response.writeHead(200, BINARY);
    response.end(BIG);
  } else if (path === "/upload") {
    let length = 0;
    request.on("data", (chunk) => length += chunk.length);
    request.on("end", () => sendText(response, `${length}\n`));
  } else {
    response.writeHead(200, TEXT);
    response.end(HELLO_BYTES);
  }
}

const waiters = new Waiters();

/** @type {http.RequestListener} */
function longpoll(request, response) {
  served++;
  const url = new URL(request.url ?? "/", "http://x");
  if (url.pathname === "/wait") {
    response.on("close", waiters.add((value) => sendText(response, `${value}\n`)));
  } else {
    const [status, text] = waiters.answer(url);
    sendText(response, text, status);
  }
}

const handlers = { hello, transfer, longpoll };
const { hostname, port, app, tls } = settings(process.env, "node_http.mjs", [
  "hello",
  "transfer",
  "longpoll",
]);

process.on("SIGTERM", () => {
  console.log(`served ${served}`);
  process.exit(0);
});

const server = tls === null
  ? http.createServer(handlers[app])
  : https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, handlers[app]);
server.listen(port, hostname, () => {
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  console.log(listening(hostname, bound, tls !== null));
});
