/**
 * The demo `deno task start` serves: a chat page, and every example app
 * beside it, under one server.
 *
 * | path                 | app                                                              |
 * | -------------------- | ---------------------------------------------------------------- |
 * | `/`                  | the chat page (examples/demo_page/), `?transport=longpoll\|sse\|websocket` |
 * | `/chat/…`            | the chat: `say`, `poll`, `events`, `socket` (examples/chat.ts)   |
 * | `/wait`              | the seed's wait_app: waits a second for `/signal`                |
 * | `/signal?value=`     | wakes `/wait`                                                    |
 * | `/echo`              | the request as JSON (examples/echo.ts)                           |
 * | `/hello`             | `Hello, World!` (examples/hello.ts)                              |
 * | `/static/`           | examples/public through the middleware suite (static.ts)        |
 * | `/stats`             | the live panel: worker, requests held, requests per second       |
 * | `/code/NAME`         | the source of the demo, as text                                  |
 *
 * Run: `deno task start` (through the CLI: `deno run -A cli.ts
 * examples/demo.ts`; HOST and PORT from the environment, default
 * 127.0.0.1:8000). Across processes: `deno run -A cli.ts examples/demo.ts
 * --workers 2 --bus redis://127.0.0.1:6379` — the chat and `/signal` then
 * reach every worker.
 *
 * @module
 */
import { compose, compress, PathInfoDispatcher, staticFiles } from "../middleware/mod.ts";
import type { App, AppResult, AppYield, Route } from "../wsgi/mod.ts";
import { WORKER_ENV } from "../cli/control.ts";
import { createChat } from "./chat.ts";
import { echo } from "./echo.ts";
import { hello } from "./hello.ts";
import { serveExample } from "./serve_example.ts";
import { PUBLIC, staticSite } from "./static.ts";
import { signalApp, waitApp } from "./wait.ts";

const HERE = decodeURIComponent(new URL("./", import.meta.url).pathname);
/** The chat page's folder: `index.html`, `chat.js`, `chat.css`. */
export const PAGE = `${HERE}demo_page/`;
/** The files `/code/` shows. */
const SOURCES = new Map([
  ["chat.ts", `${HERE}chat.ts`],
  ["demo.ts", `${HERE}demo.ts`],
  ["wait.ts", `${HERE}wait.ts`],
  ["chat.js", `${PAGE}chat.js`],
]);
const TEXT: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];

/** This process in the live panel: the CLI's worker number, or 1 alone. */
const worker = { id: Number(JSON.parse(Deno.env.get(WORKER_ENV) ?? "{}").id ?? 1), pid: Deno.pid };
/** Requests in progress (long polls, event streams and sockets among them), and a count per second. */
const live = { held: 0, second: 0, thisSecond: 0, lastSecond: 0 };

/** Names the worker that answered, on every response. */
const WORKER_HEADER: [string, string] = ["X-Cogen-Worker", String(worker.id)];

/** `app`, counted in the live panel while it runs; its answers name the worker. */
export function counted(app: App): App {
  return (environ, startResponse) => {
    const second = Math.floor(Date.now() / 1000);
    if (second !== live.second) {
      live.lastSecond = second === live.second + 1 ? live.thisSecond : 0;
      live.second = second;
      live.thisSecond = 0;
    }
    live.thisSecond++;
    const body = app(
      environ,
      (status, headers, excInfo) => startResponse(status, [...headers, WORKER_HEADER], excInfo),
    );
    // A sync body goes through a sync generator, an async one through an async generator: either way
    // yield* hands every chunk and operation through, and their results back, and the app cannot tell.
    return body instanceof Promise || Symbol.asyncIterator in body
      ? heldAsync(body) as AsyncIterable<AppYield>
      : heldSync(body);
  };
}

/** Counts a sync body as held from its first step to its end (or the client leaving). */
function* heldSync(body: Iterable<AppYield>): Generator<AppYield, void, unknown> {
  live.held++;
  try {
    yield* body;
  } finally {
    live.held--;
  }
}

/** Counts an async body (or one an async app resolves to) as held from its first step to its end. */
async function* heldAsync(body: AppResult | Promise<AppResult>): AsyncGenerator<unknown, void, unknown> {
  live.held++;
  try {
    yield* (await body) as AsyncIterable<AppYield>;
  } finally {
    live.held--;
  }
}

/** `GET /stats`: the live panel's figures, for the worker that answers. */
const stats: App = (_environ, startResponse) => {
  const now = Math.floor(Date.now() / 1000);
  const perSecond = now === live.second ? live.lastSecond : now === live.second + 1 ? live.thisSecond : 0;
  startResponse("200 OK", [["Content-Type", "application/json"], ["Cache-Control", "no-store"]]);
  // Made before this answer's own body starts: `held` leaves this request out.
  return [JSON.stringify({ worker: worker.id, pid: worker.pid, held: live.held, perSecond })];
};

/** `GET /code/NAME`: one of the demo's sources, as text. */
const code: App = async function* (environ, startResponse) {
  const path = SOURCES.get(environ.PATH_INFO.slice(1));
  if (path === undefined) {
    startResponse("404 Not Found", TEXT);
    yield `no such source; try ${[...SOURCES.keys()].map((name) => `/code/${name}`).join(", ")}\n`;
    return;
  }
  startResponse("200 OK", TEXT);
  yield await Deno.readTextFile(path);
};

const chat = createChat();

/** Every example app under one server (what `deno task start` serves through the CLI). */
export const app: Route[] = [
  ["/chat", counted(compose(PathInfoDispatcher(chat.routes), compress))],
  ["/wait", counted(waitApp)],
  ["/signal", counted(signalApp)],
  ["/echo", counted(echo)],
  ["/hello", counted(hello)],
  ["/static", counted(staticSite(PUBLIC))],
  ["/stats", counted(stats)],
  ["/code", counted(compose(code, compress))],
  ["/", counted(compose(staticFiles(PAGE), compress))],
];

if (import.meta.main) serveExample(app);
