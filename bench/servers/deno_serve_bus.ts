/**
 * The `bus` section's `Deno.serve`, one of two processes on one port
 * (`reusePort`, hence `--unstable-net`), each subscribed to a Redis channel
 * with node-redis (`npm:@redis/client`): `GET /wait` holds until
 * `GET /signal?value=V`, sent to either process, is published on the
 * channel and wakes the waiters of both; `/stats` answers `PID COUNT`.
 * Listens on `HOST`:`PORT`, Redis at `REDIS_URL`.
 *
 * Run: `PORT=8000 REDIS_URL=redis://127.0.0.1:6379 deno run -A --unstable-net bench/servers/deno_serve_bus.ts`
 *
 * @module
 */
import { createClient } from "@redis/client";
import { listening, settings } from "./contract.mjs";

const { hostname, port } = settings(Deno.env.toObject(), "deno_serve_bus.ts", ["longpoll"]);
const url = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
const CHANNEL = "bench:longpoll";
const UTF8 = { "Content-Type": "text/plain; charset=utf-8" };
const waiting = new Set<(value: string) => void>();

const publisher = createClient({ url });
const subscriber = publisher.duplicate();
await publisher.connect();
await subscriber.connect();
await subscriber.subscribe(CHANNEL, (value: string) => {
  const woken = [...waiting];
  waiting.clear();
  for (const wake of woken) wake(value);
});

Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
Deno.serve({
  hostname,
  port,
  reusePort: true,
  onListen: (addr) => console.log(listening(hostname, addr.port)),
}, async (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/wait") {
    const { promise, resolve } = Promise.withResolvers<string>();
    waiting.add(resolve);
    request.signal.addEventListener("abort", () => waiting.delete(resolve), { once: true });
    return new Response(`${await promise}\n`, { headers: UTF8 });
  }
  if (path === "/signal") {
    const value = new URL(request.url).searchParams.get("value") ?? "";
    const receivers = await publisher.publish(CHANNEL, value);
    return new Response(`${receivers}\n`, { headers: UTF8 });
  }
  if (path === "/stats") return new Response(`${Deno.pid} ${waiting.size}\n`, { headers: UTF8 });
  return new Response("not found\n", { status: 404, headers: UTF8 });
});
