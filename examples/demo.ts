/**
 * The demo `deno task start` serves: every example app under one server.
 *
 * | path             | app                                                    |
 * | ---------------- | ------------------------------------------------------ |
 * | `/`              | this index                                             |
 * | `/hello`         | `Hello, World!` (examples/hello.ts)                    |
 * | `/echo`          | the request as JSON (examples/echo.ts)                 |
 * | `/wait`          | the seed's wait_app: waits a second for `/signal`      |
 * | `/signal?value=` | wakes `/wait`                                          |
 * | `/poll?client=`  | the chat's long poll (examples/chat.ts)                |
 * | `/say?name=`     | POST a chat message                                    |
 * | `/static/`       | examples/public through the middleware suite (static.ts) |
 *
 * Run: `deno task start` (through the CLI: `deno run -A cli.ts
 * examples/demo.ts`; HOST and PORT from the environment, default
 * 127.0.0.1:8000), or `deno run -A examples/demo.ts` in one process.
 *
 * @module
 */
import type { Scheduler } from "../core/mod.ts";
import type { App, Route } from "../wsgi/mod.ts";
import { createChatRoom } from "./chat.ts";
import { echo } from "./echo.ts";
import { hello } from "./hello.ts";
import { serveExample } from "./serve_example.ts";
import { PUBLIC, staticSite } from "./static.ts";
import { signalApp, waitApp } from "./wait.ts";

const INDEX = `cogen for Deno: the demo

GET  /hello                 Hello, World!
GET  /echo?x=1              the request as JSON (try POST with a body)
GET  /wait                  waits up to a second for a signal (the seed's wait_app)
GET  /signal?value=hi       signals /wait
GET  /poll?client=me        chat: waits for messages (long poll)
POST /say?name=you          chat: says the request body
GET  /static/               a folder served with the middleware suite (one log line per response)
`;

const index: App = (environ, startResponse) => {
  if (environ.PATH_INFO !== "/" && environ.PATH_INFO !== "") {
    startResponse("404 Not Found", [["Content-Type", "text/plain; charset=utf-8"]]);
    return [`404 Not Found\n\n${INDEX}`];
  }
  startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
  return [INDEX];
};

const chat = createChatRoom();
/** The schedulers the chat's housekeeping runs in: one per worker, from its first chat request on. */
const kept = new WeakSet<Scheduler>();

/** `app`, which starts the chat's housekeeping in the scheduler that serves it, once. */
function withHousekeeping(app: App): App {
  return (environ, startResponse) => {
    const sched = environ["cogen.sched"];
    if (!kept.has(sched)) {
      kept.add(sched);
      sched.add(chat.housekeeping);
    }
    return app(environ, startResponse);
  };
}

/** Every example app under one server (what `deno task start` serves through the CLI). */
export const app: Route[] = [
  ["/hello", hello],
  ["/echo", echo],
  ["/wait", waitApp],
  ["/signal", signalApp],
  ["/poll", withHousekeeping(chat.poll)],
  ["/say", withHousekeeping(chat.say)],
  ["/static", staticSite(PUBLIC)],
  ["/", index],
];

if (import.meta.main) serveExample(app);
