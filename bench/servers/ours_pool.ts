/**
 * The server of the `pool` bench section: `/fib` computes a Fibonacci
 * number — inline (`MODE=inline`: every other request waits meanwhile) or in
 * a worker pool of one worker per core (`MODE=pool`, through `blocking`) —
 * and `/` answers `Hello, World!` at once. `HOST`/`PORT` from the
 * environment; prints `listening on http://HOST:PORT/`.
 *
 * @module
 */
import { blocking } from "../../pool/mod.ts";
import { type App, serve } from "../../wsgi/mod.ts";
import { fibApp } from "./pool_work.ts";

const mode = Deno.env.get("MODE") ?? "pool";
if (mode !== "pool" && mode !== "inline") {
  throw new Error(`ours_pool.ts: MODE must be pool or inline, got ${mode}`);
}
const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
const hello: App = (_environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["Hello, World!"];
};
const slow: App = mode === "pool"
  ? blocking(new URL("./pool_work.ts", import.meta.url), "fibApp", { size: navigator.hardwareConcurrency })
  : fibApp as unknown as App;
serve([["/fib", slow], ["/", hello]], {
  hostname,
  port: Number(Deno.env.get("PORT") ?? 0),
  onListen: (addr) => console.log(`listening on http://${hostname}:${(addr as Deno.NetAddr).port}/`),
});
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
