/**
 * The `workers` section's `Deno.serve` in Deno's own multi-worker mode:
 * `deno serve --parallel` runs this module's `fetch` on one thread per core
 * (`DENO_JOBS` to choose), answering `Hello, World!` as text/plain.
 *
 * Run: `deno serve --parallel --host 127.0.0.1 --port 0 bench/servers/deno_serve_parallel.ts`
 *
 * @module
 */
import { HELLO } from "./contract.mjs";

const body = new TextEncoder().encode(HELLO);
const headers = { "Content-Type": "text/plain" };

export default {
  fetch: () => new Response(body, { headers }),
} satisfies Deno.ServeDefaultExport;
