/**
 * A small long-poll chat on a `PublishSubscribeQueue`:
 *
 * - `POST /say?name=N` with the message as the body: publishes it; answers
 *   `{"delivered": n}`, the number of polls it woke;
 * - `GET /poll?client=ID`: every message since this client's last poll, as a
 *   JSON array of `{"from", "text", "at"}`; waits (up to 25 s, then `[]`)
 *   while there is none. A new client first gets every message kept.
 *
 * The room forgets clients that have not polled for a minute and compacts
 * its log, so it stays small however many come and go.
 *
 * Run: `deno run -A examples/chat.ts` (HOST and PORT from the environment,
 * default 127.0.0.1:8000); then `curl 'localhost:8000/poll?client=me'` in one
 * shell and `curl -d hello 'localhost:8000/say?name=you'` in another.
 *
 * @module
 */
import { type Operation, OperationTimeout, PublishSubscribeQueue, Sleep } from "../core/mod.ts";
import type { App, Environ, StartResponse } from "../wsgi/mod.ts";
import { serveExample } from "./serve_example.ts";

/** A chat message. */
export interface Message {
  from: string;
  text: string;
  at: number;
}

const JSON_TYPE: [string, string][] = [["Content-Type", "application/json; charset=utf-8"]];
const POLL_TIMEOUT = 25_000;
const IDLE_CLIENT = 60_000;

/** A chat room: its two apps, its log, and the coroutine that keeps it small. */
export interface ChatRoom {
  /** `POST /say?name=N`. */
  say: App;
  /** `GET /poll?client=ID`. */
  poll: App;
  /** The message log. */
  messages: PublishSubscribeQueue<Message>;
  /** Forgets clients idle for a minute and compacts the log, every few seconds (add it to the scheduler). */
  housekeeping: () => Generator<Operation<unknown>, void, unknown>;
}

/** Options of {@linkcode createChatRoom}. */
export interface ChatOptions {
  /** Ms a poll waits for news before answering `[]`. Default 25000. */
  pollTimeout?: number;
  /** Ms after which a client that has not polled is forgotten. Default 60000. */
  idleClient?: number;
  /** Ms between two rounds of housekeeping. Default 5000. */
  sweepEvery?: number;
}

/** Makes a chat room. */
export function createChatRoom(options: ChatOptions = {}): ChatRoom {
  const pollTimeout = options.pollTimeout ?? POLL_TIMEOUT;
  const idleClient = options.idleClient ?? IDLE_CLIENT;
  const sweepEvery = options.sweepEvery ?? 5_000;
  const messages = new PublishSubscribeQueue<Message>();
  const lastSeen = new Map<string, number>();

  async function* say(environ: Environ, startResponse: StartResponse) {
    if (environ.REQUEST_METHOD !== "POST") {
      startResponse("405 Method Not Allowed", [["Allow", "POST"], ...JSON_TYPE]);
      yield '{"error":"POST the message"}';
      return;
    }
    const parts: Uint8Array[] = [];
    for await (const chunk of environ["wsgi.input"]) parts.push(chunk);
    const text = new TextDecoder().decode(await new Blob(parts as BlobPart[]).arrayBuffer());
    const from = new URLSearchParams(environ.QUERY_STRING).get("name") ?? "anonymous";
    const delivered: number = yield messages.publish({ from, text, at: Date.now() });
    startResponse("200 OK", JSON_TYPE);
    yield JSON.stringify({ delivered });
  }

  async function* poll(environ: Environ, startResponse: StartResponse) {
    const client = new URLSearchParams(environ.QUERY_STRING).get("client");
    if (!client) {
      startResponse("400 Bad Request", JSON_TYPE);
      yield '{"error":"poll needs ?client=ID"}';
      return;
    }
    const key = `client:${client}`;
    lastSeen.set(client, Date.now());
    yield messages.subscribe(key);
    let news: Message[] = [];
    try {
      news = yield messages.fetch({ key, timeout: pollTimeout });
    } catch (error) {
      if (!(error instanceof OperationTimeout)) throw error;
    } finally {
      lastSeen.set(client, Date.now());
    }
    startResponse("200 OK", JSON_TYPE);
    yield JSON.stringify(news);
  }

  function* housekeeping(): Generator<Operation<unknown>, void, unknown> {
    for (;;) {
      yield new Sleep(sweepEvery);
      const now = Date.now();
      for (const [client, seen] of lastSeen) {
        if (now - seen > idleClient) {
          lastSeen.delete(client);
          yield messages.unsubscribe(`client:${client}`);
        }
      }
      messages.compact();
    }
  }

  return { say, poll, messages, housekeeping };
}

if (import.meta.main) {
  const room = createChatRoom();
  const server = serveExample([["/say", room.say], ["/poll", room.poll]]);
  server.server.sched.add(room.housekeeping);
}
