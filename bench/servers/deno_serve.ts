/**
 * The benchmark's servers written for `Deno.serve`, one per section, chosen
 * by the `APP` environment variable:
 *
 * - `hello`: every request gets `Hello, World!` as text/plain (what
 *   `examples/hello.ts` answers);
 * - `transfer`: `GET /64k` answers 65 536 bytes, `POST /upload` reads the
 *   whole body and answers its length, anything else `Hello, World!`;
 * - `longpoll`: the contract of `examples/longpoll.ts` — `GET /wait` holds
 *   until `GET /signal?value=V` and then answers `V\n`; `/signal` answers how
 *   many it woke; a client that leaves is dropped (`request.signal`);
 *   `/stats` answers how many wait.
 *
 * It listens on `HOST`:`PORT` (default 127.0.0.1:0) and prints
 * `listening on http://HOST:PORT/`. On SIGTERM it prints `served N` (the
 * requests answered) and exits, so the bench can check wrk's counts.
 *
 * Run: `APP=hello deno run -A bench/servers/deno_serve.ts`
 *
 * @module
 */

const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
const port = Number(Deno.env.get("PORT") ?? 0);
const app = Deno.env.get("APP") ?? "hello";

const HELLO = new TextEncoder().encode("Hello, World!");
const BIG = new Uint8Array(65536).fill(0x78);
const TEXT = { "Content-Type": "text/plain" };
const BINARY = { "Content-Type": "application/octet-stream" };
const UTF8 = { "Content-Type": "text/plain; charset=utf-8" };

let served = 0;

function hello(): Response {
  served++;
  return new Response(HELLO, { headers: TEXT });
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
  return new Response(HELLO, { headers: TEXT });
}

const waiters = new Set<(value: string) => void>();

async function longpoll(request: Request): Promise<Response> {
  served++;
  const url = new URL(request.url);
  if (url.pathname === "/wait") {
    const { promise, resolve } = Promise.withResolvers<string>();
    waiters.add(resolve);
    request.signal.addEventListener("abort", () => waiters.delete(resolve), { once: true });
    const value = await promise;
    return new Response(`${value}\n`, { headers: UTF8 });
  }
  if (url.pathname === "/signal") {
    const value = url.searchParams.get("value") ?? "";
    const woken = [...waiters];
    waiters.clear();
    for (const resolve of woken) resolve(value);
    return new Response(`${woken.length}\n`, { headers: UTF8 });
  }
  if (url.pathname === "/stats") return new Response(`${waiters.size}\n`, { headers: UTF8 });
  return new Response("not found\n", { status: 404, headers: UTF8 });
}

const handlers: Record<string, (request: Request) => Response | Promise<Response>> = {
  hello,
  transfer,
  longpoll,
};
const handler = handlers[app];
if (handler === undefined) {
  console.error(`deno_serve.ts: APP must be one of ${Object.keys(handlers).join(", ")}, got ${app}`);
  Deno.exit(2);
}

Deno.addSignalListener("SIGTERM", () => {
  console.log(`served ${served}`);
  Deno.exit(0);
});

Deno.serve({
  hostname,
  port,
  onListen: (addr) => console.log(`listening on http://${hostname}:${addr.port}/`),
}, handler);
