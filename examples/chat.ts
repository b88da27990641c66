/**
 * The chat behind the demo's page: one named `PublishSubscribeQueue` and
 * the three ways a browser can hear it, each a generator that pauses on the
 * queue without holding up anyone else.
 *
 * | route                             | what it does                                                |
 * | --------------------------------- | ----------------------------------------------------------- |
 * | `POST /say?name=N`                | stores the body as N's message; answers `{"said":true}`     |
 * | `GET /poll?after=OFFSET`          | long poll: what came after OFFSET, waiting up to 25 s       |
 * | `GET /events?after=OFFSET`        | Server-Sent Events: one event per read, `id:` its offset    |
 * | `GET /socket?after=OFFSET&name=N` | WebSocket: news out; each text in is said, then acknowledged |
 *
 * Each answer with news (`/poll`'s JSON, an SSE event, a WebSocket message)
 * is `{ epoch, entries: [{ offset, message: { from, text, at } }], reset }`:
 * the queue's `read` as it is. `after` is the last offset the page saw, so a
 * page that was away (or that lands on another worker) gets exactly what it
 * missed; `reset` says the history it knew is gone (a new epoch). On the
 * WebSocket, each text the page sends is answered `{"said":true}` once
 * stored, or `{"error"}`, so the page knows what to send again after a drop.
 *
 * The queue is named, so under `--bus redis://…` it is one queue across
 * every worker and machine: the code does not change.
 *
 * Run: `deno run -A examples/chat.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000); then `curl 'localhost:8000/poll'` in one shell
 * and `curl -d hello 'localhost:8000/say?name=you'` in another.
 *
 * @module
 */
import {
  type Operation,
  OperationTimeout,
  PublishSubscribeQueue,
  type QueueRead,
  Race,
} from "../core/mod.ts";
import { sse } from "../middleware/mod.ts";
import {
  acceptWebSocket,
  type App,
  ClientGone,
  type Environ,
  type Route,
  ServerShutdown,
} from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** A chat message. */
export interface Message {
  /** Who said it. */
  from: string;
  /** What they said. */
  text: string;
  /** When the server stored it (ms since the epoch). */
  at: number;
}

/** Options of {@linkcode createChat}. */
export interface ChatOptions {
  /** The queue's name on the bus. Default `"chat"`. */
  name?: string;
  /** Messages kept for pages that load or come back. Default 200. */
  history?: number;
  /** Ms a long poll waits for news before it answers no entries. Default 25000. */
  pollTimeout?: number;
}

/** The longest message and name accepted, in characters. */
export const MAX_TEXT = 2000;
const MAX_NAME = 40;
/** The close code for what the chat cannot take (an app's own code: 4000-4999). */
export const CANNOT_TAKE = 4400;
const SAID = '{"said":true}';
const JSON_TYPE: [string, string][] = [["Content-Type", "application/json; charset=utf-8"]];

/** The chat: its queue and its four routes (`/say`, `/poll`, `/events`, `/socket`). */
export function createChat(
  options: ChatOptions = {},
): { room: PublishSubscribeQueue<Message>; routes: Route[] } {
  const room = new PublishSubscribeQueue<Message>({
    name: options.name ?? "chat",
    maxLength: options.history ?? 200,
  });
  const pollTimeout = options.pollTimeout ?? 25_000;

  /** `POST /say?name=N`: the body is the message. `yield` pauses this request alone until it is stored. */
  const say: App = async function* (environ, startResponse) {
    if (environ.REQUEST_METHOD !== "POST") {
      startResponse("405 Method Not Allowed", [["Allow", "POST"], ...JSON_TYPE]);
      yield '{"error":"POST the message as the body"}';
      return;
    }
    const text = await readText(environ, MAX_TEXT * 4);
    const message = text === null ? null : messageOf(queryOf(environ).get("name"), text);
    if (message === null) {
      startResponse(text === null ? "413 Content Too Large" : "400 Bad Request", JSON_TYPE);
      yield JSON.stringify({ error: `a message is 1 to ${MAX_TEXT} characters of text` });
      return;
    }
    const answer: string = yield* said(message);
    startResponse(answer === SAID ? "200 OK" : "503 Service Unavailable", JSON_TYPE);
    yield answer;
  };

  /** `GET /poll?after=OFFSET`: one answer, as soon as there is news (or `entries: []` after a while). */
  const poll: App = async function* (environ, startResponse) {
    const after = queryOf(environ).get("after") ?? undefined;
    let news: QueueRead<Message> | { entries: []; reset: false };
    try {
      // The request parks here, costing no thread and no timer per client, until a publish anywhere wakes it.
      news = yield* room.read({ after, timeout: pollTimeout });
    } catch (error) {
      if (!(error instanceof OperationTimeout)) throw error;
      news = { entries: [], reset: false };
    }
    startResponse("200 OK", [...JSON_TYPE, ["Cache-Control", "no-store"]]);
    yield JSON.stringify(news);
  };

  /** `GET /events`: a stream that never ends; the browser's `EventSource` sends `Last-Event-ID` when it reconnects. */
  const events: App = sse(async function* (environ, lastEventId) {
    let after = lastEventId ?? queryOf(environ).get("after") ?? undefined;
    for (;;) {
      const news: QueueRead<Message> = yield room.read({ after, timeout: -1 });
      after = nextAfter(news, after);
      yield { id: after ?? "", data: JSON.stringify(news) };
    }
  });

  /** `GET /socket`: one generator both listens to the page and to the room, whichever speaks first. */
  const socket: App = function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse, {
      maxMessageBytes: MAX_TEXT * 4,
      idleTimeout: 30_000,
    });
    let after = queryOf(environ).get("after") ?? undefined;
    const name = queryOf(environ).get("name");
    for (;;) {
      // The losing branch of a Race is withdrawn: nothing is lost, the next turn asks again.
      const got = yield* new Race([ws.receive(), room.read({ after, timeout: -1 })]);
      if (got === null) return; // the page closed the socket
      if (typeof got === "string") {
        const message = messageOf(name, got);
        if (message === null) return yield* ws.close(CANNOT_TAKE, `a message is 1 to ${MAX_TEXT} characters`);
        // Each message is acknowledged once stored, so the page knows what to send again after a drop.
        yield* ws.send(yield* said(message));
      } else if (got instanceof Uint8Array) {
        return yield* ws.close(CANNOT_TAKE, "send text");
      } else {
        after = nextAfter(got, after);
        yield* ws.send(JSON.stringify(got));
      }
    }
  };

  /** Publishes `message`; answers `{"said":true}`, or `{"error"}` when the store refused it (the bus is down). */
  function* said(message: Message): Generator<Operation<unknown>, string, unknown> {
    try {
      yield* room.publish(message);
      return SAID;
    } catch (error) {
      if (!(error instanceof Error) || error instanceof ClientGone || error instanceof ServerShutdown) {
        throw error;
      }
      return JSON.stringify({ error: `not said: ${error.message}` });
    }
  }

  return { room, routes: [["/say", say], ["/poll", poll], ["/events", events], ["/socket", socket]] };
}

/** Where to read on from after `news`: its last offset; from the start after a reset that kept nothing. */
function nextAfter(news: QueueRead<Message>, after: string | undefined): string | undefined {
  return news.entries.at(-1)?.offset ?? (news.reset ? undefined : after);
}

/** A message from `name` saying `text`, or `null` when the text is empty or too long. */
function messageOf(name: string | null, text: string): Message | null {
  if (text.trim() === "" || text.length > MAX_TEXT) return null;
  return { from: (name ?? "").trim().slice(0, MAX_NAME) || "anonymous", text, at: Date.now() };
}

function queryOf(environ: Environ): URLSearchParams {
  return new URLSearchParams(environ.QUERY_STRING);
}

/** The request body as text, or `null` when it is longer than `limit` bytes. */
async function readText(environ: Environ, limit: number): Promise<string | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of environ["wsgi.input"]) {
    size += chunk.length;
    if (size > limit) return null;
    parts.push(chunk);
  }
  return new TextDecoder().decode(await new Blob(parts as BlobPart[]).arrayBuffer());
}

if (import.meta.main) {
  serveExample(createChat().routes);
}
