// @ts-check
/**
 * The benchmark's servers written for `node:http`, run with `node` (not
 * Deno): the same three apps as `deno_serve.ts`, chosen by `APP`
 * (`hello`, `transfer`, `longpoll`), the same address (`HOST`:`PORT`,
 * default 127.0.0.1:0), the same `listening on http://HOST:PORT/` line, and
 * `served N` on SIGTERM. A long-polling client that leaves is dropped on the
 * response's `close` event.
 *
 * Run: `APP=hello node bench/servers/node_http.mjs`
 *
 * @module
 */
import http from "node:http";

const hostname = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 0);
const app = process.env.APP ?? "hello";

const HELLO = Buffer.from("Hello, World!");
const BIG = Buffer.alloc(65536, 0x78);
const TEXT = { "Content-Type": "text/plain", "Content-Length": String(HELLO.length) };
const BINARY = { "Content-Type": "application/octet-stream", "Content-Length": String(BIG.length) };
const UTF8 = "text/plain; charset=utf-8";

let served = 0;

/**
 * @param {http.ServerResponse} response
 * @param {string} text
 */
function sendText(response, text) {
  const body = Buffer.from(text);
  response.writeHead(200, { "Content-Type": UTF8, "Content-Length": String(body.length) });
  response.end(body);
}

/** @type {http.RequestListener} */
function hello(_request, response) {
  served++;
  response.writeHead(200, TEXT);
  response.end(HELLO);
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
    response.end(HELLO);
  }
}

/** @type {Set<(value: string) => void>} */
const waiters = new Set();

/** @type {http.RequestListener} */
function longpoll(request, response) {
  served++;
  const url = new URL(request.url ?? "/", "http://x");
  if (url.pathname === "/wait") {
    /** @param {string} value */
    const wake = (value) => sendText(response, `${value}\n`);
    waiters.add(wake);
    response.on("close", () => waiters.delete(wake));
  } else if (url.pathname === "/signal") {
    const value = url.searchParams.get("value") ?? "";
    const woken = [...waiters];
    waiters.clear();
    for (const wake of woken) wake(value);
    sendText(response, `${woken.length}\n`);
  } else if (url.pathname === "/stats") {
    sendText(response, `${waiters.size}\n`);
  } else {
    response.writeHead(404, { "Content-Type": UTF8 });
    response.end("not found\n");
  }
}

/** @type {Record<string, http.RequestListener>} */
const handlers = { hello, transfer, longpoll };
const handler = handlers[app];
if (handler === undefined) {
  console.error(`node_http.mjs: APP must be one of ${Object.keys(handlers).join(", ")}, got ${app}`);
  process.exit(2);
}

process.on("SIGTERM", () => {
  console.log(`served ${served}`);
  process.exit(0);
});

const server = http.createServer(handler);
server.listen(port, hostname, () => {
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  console.log(`listening on http://${hostname}:${bound}/`);
});
