/**
 * A Hono app on our server, through `fromFetchHandler`: routes with a
 * parameter, JSON in and out, and a server-sent event stream that reaches the
 * client event by event.
 *
 * ```sh
 * curl localhost:8000/hello/ann                        # {"hello":"ann"}
 * curl -d '{"a":1}' -H 'Content-Type: application/json' localhost:8000/echo
 * curl -N localhost:8000/clock?count=3                 # three events, one a second
 * ```
 *
 * Run: `deno run -A examples/hono.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000).
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { fromFetchHandler } from "../middleware/mod.ts";
import { serveExample } from "./serve_example.ts";

/** The Hono app. */
export const app: Hono = new Hono();

app.get("/", (c) => c.text("GET /hello/:name, POST /echo (JSON), GET /clock?count=N (server-sent events)\n"));

app.get("/hello/:name", (c) => c.json({ hello: c.req.param("name") }));

app.post("/echo", async (c) => {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: "send a JSON body (Content-Type: application/json)" }, 400);
  }
  return c.json({ received: body });
});

app.get("/clock", (c) => {
  const count = Math.min(Number(c.req.query("count") ?? 5) || 5, 60);
  return streamSSE(c, async (stream) => {
    // Each event goes out as it is written; when the client leaves, the stream is aborted.
    for (let i = 1; i <= count && !stream.aborted; i++) {
      await stream.writeSSE({ event: "tick", id: String(i), data: new Date().toISOString() });
      if (i < count) await stream.sleep(1000);
    }
  });
});

/** The app as one of ours: mount it with `serve`, or among routes. */
export const honoApp = fromFetchHandler(app.fetch);

if (import.meta.main) {
  serveExample(honoApp);
}
