/**
 * Server-Sent Events: `/events` sends an event every 200 ms — `id: N` and
 * `data: tick N` — with N counting on from the client's `Last-Event-ID` + 1
 * (from 1 without it), so a browser's `EventSource` that reconnects misses
 * no number. `/` is a page that shows them.
 *
 * Run: `deno run -A examples/sse.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000), then open http://127.0.0.1:8000/ or
 * `curl -N http://127.0.0.1:8000/events`.
 *
 * @module
 */
import { Sleep } from "../core/mod.ts";
import { sse } from "../middleware/mod.ts";
import type { App, Route } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** The ticks: one every 200 ms, numbered on from `Last-Event-ID`. */
export const events: App = sse(async function* (_environ, lastEventId) {
  const last = Number(lastEventId);
  let n = Number.isSafeInteger(last) && last > 0 ? last : 0;
  for (;;) {
    yield new Sleep(200);
    n++;
    yield { id: n, data: `tick ${n}` };
  }
});

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>cogen: Server-Sent Events</title>
<ol id="ticks"></ol>
<script>
  const list = document.getElementById("ticks");
  new EventSource("/events").onmessage = (event) => {
    const item = document.createElement("li");
    item.textContent = event.lastEventId + ": " + event.data;
    list.prepend(item);
  };
</script>
`;

/** The page that shows the ticks. */
export const page: App = (_environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/html; charset=utf-8"]]);
  return [PAGE];
};

/** `/events` and `/`. */
export const app: Route[] = [["/events", events], ["/", page]];

if (import.meta.main) {
  serveExample(app);
}
