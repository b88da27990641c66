/**
 * The benchmark's servers written for `Deno.serve`, one per section, chosen
 * by the `APP` environment variable:
 *
 * - `hello`: every request gets `Hello, World!` as text/plain (what
 *   `examples/hello.ts` answers);
 * - `transfer`: `GET /64k` answers 65 536 bytes, `POST /upload` reads the
 *   whole body and answers its length, anything else `Hello, World!`;
 * - `longpoll`: the contract of `examples/longpoll.ts` (`contract.mjs`); a
 *   client that leaves is dropped on `request.signal`'s abort.
 *
 * It listens on `HOST`:`PORT` (default 127.0.0.1:0), over HTTPS with
 * `CERT_FILE` and `KEY_FILE` (PEM files), and prints
 * `listening on http://HOST:PORT/` (`https://`). On SIGTERM it prints `served N` (the
 * requests answered) and exits, so the bench can check wrk's counts.
 *
 * Run: `APP=hello deno run -A bench/servers/deno_serve.ts`
 *
 * @module
 */
import { BIG_SIZE, HELLO, listening, settings, Waiters } from "./contract.mjs";

const TEXT = { "Content-Type": "text/plain" };
const BINARY = { "Content-Type": "application/octet-stream" };
const UTF8 = { "Content-Type": "text/plain; charset=utf-8" };
const HELLO_BYTES = new TextEncoder().encode(HELLO);
const BIG = new Uint8Array(BIG_SIZE).fill(0x78);

let served = 0;

function hello(): Response {
  served++;
  return new Response(HELLO_BYTES, { headers: TEXT });
}

async function transfer(request: Request): Promise<Response> {
  served++;
  const path = new URL(request.url).pathname;
  if (path === "/64k") return new Response(BIG, { headers: BINARY });
  if (path === "/upload") {
    let length = 0;
    if (request.body !== null) { for await (const chunk of request.body) length += chunk.byteLength; }
    return new Response(`${length}\n`, { headers: UTF8 });
  }
  return new Response(HELLO_BYTES, { headers: TEXT });
}

const waiters = new Waiters();

async function longpoll(request: Request): Promise<Response> {
  served++;
  const url = new URL(request.url);
  if (url.pathname !== "/wait") {
    const [status, text] = waiters.answer(url);
    return new Response(text, { status, headers: UTF8 });
  }
  const { promise, resolve } = Promise.withResolvers<string>();
  request.signal.addEventListener("abort", waiters.add(resolve), { once: true });
  return new Response(`${await promise}\n`, { headers: UTF8 });
}

const handlers = { hello, transfer, longpoll };
const { hostname, port, app, tls } = settings(Deno.env.toObject(), "deno_serve.ts", [
  "hello",
  "transfer",
  "longpoll",
]);

Deno.addSignalListener("SIGTERM", () => {
  console.log(`served ${served}`);
  Deno.exit(0);
});

const onListen = (addr: Deno.NetAddr) => console.log(listening(hostname, addr.port, tls !== null));
Deno.serve(
  tls === null ? { hostname, port, onListen } : {
    hostname,
    port,
    onListen,
    cert: Deno.readTextFileSync(tls.certFile),
    key: Deno.readTextFileSync(tls.keyFile),
  },
  handlers[app],
);
