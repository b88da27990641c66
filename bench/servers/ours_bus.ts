/**
 * The `bus` section's app for ours, served through the CLI with two workers
 * and `--bus redis://…`: `GET /wait` holds until `GET /signal?value=V`,
 * sent to any worker, wakes the waiters of every worker through Redis;
 * `/stats` answers `PID COUNT` (this worker's waiters); `/publish?m=M`
 * appends to the named queue `bench`, `/read?after=O` reads it.
 *
 * Run: `deno run -A cli.ts bench/servers/ours_bus.ts -w 2 --bus redis://127.0.0.1:6379`
 *
 * @module
 */
import { PublishSubscribeQueue, Signal, WaitForSignal } from "../../core/mod.ts";
import type { App, Environ, Route, StartResponse } from "../../wsgi/mod.ts";

const TEXT: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];
const queue = new PublishSubscribeQueue<string>({ name: "bench" });
const query = (environ: Environ) => new URLSearchParams(environ.QUERY_STRING);

async function* wait(_environ: Environ, startResponse: StartResponse) {
  const value: string = yield new WaitForSignal("longpoll", { timeout: -1 });
  startResponse("200 OK", TEXT);
  yield `${value}\n`;
}

async function* signal(environ: Environ, startResponse: StartResponse) {
  const woken: number = yield new Signal("longpoll", query(environ).get("value") ?? "");
  startResponse("200 OK", TEXT);
  yield `${woken}\n`;
}

const stats: App = (environ, startResponse) => {
  startResponse("200 OK", TEXT);
  return [`${Deno.pid} ${environ["cogen.sched"].signals.get("longpoll")?.waiters.length ?? 0}\n`];
};

async function* publish(environ: Environ, startResponse: StartResponse) {
  yield queue.publish(query(environ).get("m") ?? "");
  startResponse("200 OK", TEXT);
  yield "stored\n";
}

async function* read(environ: Environ, startResponse: StartResponse) {
  const got = yield* queue.read({ after: query(environ).get("after") ?? undefined, timeout: 10_000 });
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  yield JSON.stringify(got);
}

/** The routes. */
export const app: Route[] = [
  ["/wait", wait],
  ["/signal", signal],
  ["/stats", stats],
  ["/publish", publish],
  ["/read", read],
];
