/**
 * `blocking`: a synchronous WSGI app served from a {@linkcode WorkerPool},
 * so that while it computes, every other connection is served.
 *
 * @module
 */
import type { Operation } from "../core/mod.ts";
import type { App, Environ } from "../wsgi/mod.ts";
import { concatBytes } from "../wsgi/bytes.ts";
import type { WsgiReply, WsgiRequest } from "./messages.ts";
import { moduleHref, PoolCallOperation, WorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";

/** Options of {@linkcode blocking}: a pool of its own (`size`), or one to share (`pool`). */
export type BlockingOptions = WorkerPoolOptions | { pool: WorkerPool };

/**
 * An app that runs the synchronous app `exportName` of `moduleUrl` in a
 * worker: the request body is read first (within the server's
 * `maxBodyBytes`) and handed over as a synchronous `wsgi.input`, with the
 * environ's plain fields (strings, numbers, booleans); the app's status,
 * headers and body come back. The synchronous app returns an iterable of
 * strings or `Uint8Array`s, as in Python's WSGI. The app's `pool` is the
 * pool it runs in (`await app.pool.close()` ends its workers).
 *
 * @example
 * ```ts
 * import type { App } from "@cogen/cogen";
 * import { blocking } from "@cogen/cogen/pool";
 * // report.ts: export function report(environ, startResponse) { startResponse("200 OK", []); return [slowWork()]; }
 * const report = blocking(new URL("./report.ts", import.meta.url), "report", { size: 2 });
 * const fast: App = (_environ, startResponse) => {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   return ["at once"];
 * };
 * const routes = [["/slow", report], ["/", fast]] as const; // serve(routes): "/" answers while "/slow" computes
 * await report.pool.close();
 * ```
 */
export function blocking(
  moduleUrl: string | URL,
  exportName: string,
  options: BlockingOptions = {},
): App & { readonly pool: WorkerPool } {
  const module = moduleHref(moduleUrl);
  const pool = "pool" in options ? options.pool : new WorkerPool(module, options);
  const app: App = async function* blockingApp(environ, startResponse) {
    const input = environ["wsgi.input"];
    const parts: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      const chunk = (yield input.readOperation(65536)) as Uint8Array | "";
      if (chunk === "" || chunk.length === 0) break;
      parts.push(chunk.slice());
      length += chunk.length;
    }
    const request: WsgiRequest = { environ: plainFields(environ), body: concatBytes(parts, length) };
    const reply =
      (yield new PoolCallOperation<WsgiReply>(pool, "wsgi", module, exportName, [request]) as Operation<
        WsgiReply
      >) as WsgiReply;
    startResponse(reply.status, reply.headers);
    if (reply.body.length > 0) yield reply.body;
  };
  return Object.assign(app, { pool });
}

/** The environ's fields that can cross to a worker: strings, numbers and booleans. */
function plainFields(environ: Environ): Record<string, string | number | boolean> {
  const plain: Record<string, string | number | boolean> = {};
  for (const key in environ) {
    const value = environ[key];
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      plain[key] = value;
    }
  }
  return plain;
}
