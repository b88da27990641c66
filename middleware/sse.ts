/**
 * `sse`: Server-Sent Events (`text/event-stream`) from a generator of
 * events, with a heartbeat comment while it waits and the client's
 * `Last-Event-ID` handed to it.
 *
 * @module
 */
import { AddCoro, Operation, OperationTimeout, Queue, type Task, type Yieldable } from "../core/mod.ts";
import { type App, type Chunk, type Environ, ServerShutdown } from "../wsgi/mod.ts";

/** One event; every field is optional, but an event has at least one. */
export interface ServerSentEvent {
  /** The data: each line becomes a `data:` line (the client joins them with `\n`). */
  data?: string;
  /** The event's type (`event:`; the client's `message` when absent). No CR or LF. */
  event?: string;
  /** The event's id (`id:`): what the client sends back as `Last-Event-ID` when it reconnects. No CR, LF or NUL. */
  id?: string | number;
  /** Ms the client waits before it reconnects (`retry:`), an integer >= 0. */
  retry?: number;
  /** A comment (`:` lines): the client ignores it. */
  comment?: string;
}

/** What an event source yields: events to send, and operations (or promises) to wait on. */
export type EventSourceYield = ServerSentEvent | Yieldable;

/**
 * Makes the events of one client: a generator yielding
 * {@linkcode ServerSentEvent}s to send and operations to wait on (their
 * results come back from `yield`, as in an app). `lastEventId` is the
 * `Last-Event-ID` the client reconnected with, else `null`.
 */
export type EventSourceFunction = (
  environ: Environ,
  lastEventId: string | null,
) => // deno-lint-ignore no-explicit-any -- what `yield op` gives back depends on the op
| Generator<EventSourceYield, void, any>
// deno-lint-ignore no-explicit-any -- as above
| AsyncGenerator<EventSourceYield, void, any>;

/** Options of {@linkcode sse}. */
export interface SseOptions {
  /** Ms of silence after which a comment line is sent (keeps proxies and the client's socket alive); 0: never. Default 15000. */
  heartbeat?: number;
  /** Events made ahead of a slow client before the source waits for it to read. Default 64. */
  buffered?: number;
  /** More response headers (after `Content-Type`, `Cache-Control` and `X-Accel-Buffering`). */
  headers?: [string, string][];
}

const LINE_BREAK = /\r\n|\r|\n/;
const HEARTBEAT = ":\n\n";
const FIELDS = new Set(["data", "event", "id", "retry", "comment"]);

/**
 * An event as `text/event-stream` text, ending with its blank line.
 *
 * @throws {TypeError} naming the field that cannot be sent (a line break in
 *   `event` or `id`, a `retry` that is not an integer >= 0, data that is not
 *   a string, an unknown field, or no field at all).
 * @example
 * ```ts
 * import { formatEvent } from "@cogen/cogen/middleware";
 * formatEvent({ id: 7, event: "tick", data: "line 1\nline 2" });
 * // "event: tick\nid: 7\ndata: line 1\ndata: line 2\n\n"
 * ```
 */
export function formatEvent(event: ServerSentEvent): string {
  let text = "";
  for (const key in event) {
    if (!FIELDS.has(key)) {
      throw new TypeError(`sse: an event has data, event, id, retry and comment; got a field "${key}"`);
    }
  }
  const { data, event: type, id, retry, comment } = event;
  if (comment !== undefined) { for (const line of String(comment).split(LINE_BREAK)) text += `: ${line}\n`; }
  if (type !== undefined) {
    if (typeof type !== "string" || LINE_BREAK.test(type)) {
      throw new TypeError(`sse: event must be a string without line breaks, got ${JSON.stringify(type)}`);
    }
    text += `event: ${type}\n`;
  }
  if (id !== undefined) {
    const value = String(id);
    if ((typeof id !== "string" && typeof id !== "number") || /[\r\n\0]/.test(value)) {
      throw new TypeError(
        `sse: id must be a string or number without CR, LF or NUL, got ${JSON.stringify(id)}`,
      );
    }
    text += `id: ${value}\n`;
  }
  if (retry !== undefined) {
    if (!Number.isInteger(retry) || retry < 0) {
      throw new TypeError(`sse: retry must be an integer number of ms >= 0, got ${String(retry)}`);
    }
    text += `retry: ${retry}\n`;
  }
  if (data !== undefined) {
    if (typeof data !== "string") {
      throw new TypeError(`sse: data must be a string (JSON.stringify an object), got ${typeof data}`);
    }
    for (const line of data.split(LINE_BREAK)) text += `data: ${line}\n`;
  }
  if (text === "") {
    throw new TypeError("sse: an event needs at least one of data, event, id, retry or comment");
  }
  return text + "\n";
}

/** What the source's task hands the response: an event's text, or how the source ended. */
type Handed = string | SourceEnd;

/** The source ended: by returning (`error` undefined), or by throwing it. */
class SourceEnd {
  constructor(readonly error?: unknown, readonly failed = false) {}
}

/**
 * An app that streams Server-Sent Events made by `source`. The source runs
 * as a task of its own, so that while it waits (on a signal, a queue, a
 * sleep) the response sends a heartbeat comment every `heartbeat` ms of
 * silence. The response is `200` `text/event-stream`, its head sent at once
 * (the client's `EventSource` opens); each event goes out as one chunk
 * (flushed by the compress middleware). When the client leaves, the source
 * is cancelled (its `finally` runs); when it returns, the response ends; an
 * error it throws cuts the response short and is reported. A server shutting
 * down ends the stream cleanly (the client reconnects elsewhere).
 *
 * @example
 * ```ts
 * import { Sleep } from "@cogen/cogen/core";
 * import { sse } from "@cogen/cogen/middleware";
 * export const ticks = sse(async function* (_environ, lastEventId) {
 *   let n = Number(lastEventId ?? 0) || 0;
 *   for (;;) {
 *     yield new Sleep(1000);
 *     n++;
 *     yield { id: n, data: `tick ${n}` };
 *   }
 * });
 * ```
 */
export function sse(source: EventSourceFunction, options: SseOptions = {}): App {
  const heartbeat = options.heartbeat ?? 15_000;
  const buffered = options.buffered ?? 64;
  if (!(heartbeat >= 0) || !Number.isFinite(heartbeat)) {
    throw new RangeError(`sse: heartbeat must be a number of ms >= 0 (0: none), got ${String(heartbeat)}`);
  }
  if (!Number.isInteger(buffered) || buffered < 1) {
    throw new RangeError(`sse: buffered must be an integer >= 1, got ${String(buffered)}`);
  }
  const headers: [string, string][] = [
    ["Content-Type", "text/event-stream; charset=utf-8"],
    ["Cache-Control", "no-cache"],
    // nginx and its kin would hold the events back to fill a buffer.
    ["X-Accel-Buffering", "no"],
    ...(options.headers ?? []),
  ];
  return function serverSentEvents(environ, startResponse) {
    const lastEventId = typeof environ.HTTP_LAST_EVENT_ID === "string" ? environ.HTTP_LAST_EVENT_ID : null;
    startResponse("200 OK", headers);
    return stream(source(environ, lastEventId), heartbeat, buffered);
  };
}

/** The response: the events the source's task hands over, and heartbeats between. */
async function* stream(
  events: ReturnType<EventSourceFunction>,
  heartbeat: number,
  buffered: number,
): AsyncGenerator<Chunk | Operation<unknown>, void, unknown> {
  const queue = new Queue<Handed>(buffered);
  const wait = heartbeat > 0 ? { timeout: heartbeat } : undefined;
  const task = (yield new AddCoro(produce, events, queue)) as Task<void>;
  try {
    yield ""; // the head goes out now: the client's EventSource opens
    for (;;) {
      let handed: Handed;
      try {
        handed = (yield queue.get(wait)) as Handed;
      } catch (error) {
        if (error instanceof OperationTimeout) {
          yield HEARTBEAT;
          continue;
        }
        if (error instanceof ServerShutdown) return;
        throw error;
      }
      if (typeof handed === "string") yield handed;
      else if (handed.failed) throw handed.error;
      else return;
    }
  } finally {
    // The client left, the server stops, or the source ended: its task (if still running) ends too.
    task.cancel().catch(() => {});
  }
}

/**
 * The source's task: runs `events`, waiting on its operations here (their
 * outcome goes back into it), and hands each event's text to the response;
 * waits for room when the client reads slowly.
 */
async function* produce(
  events: ReturnType<EventSourceFunction>,
  queue: Queue<Handed>,
): AsyncGenerator<Operation<unknown> | undefined, void, unknown> {
  let ended: SourceEnd;
  // Whether the source itself is over (it returned, or threw): else its `finally` is run here (`return()`).
  let finished = false;
  try {
    let step = await events.next();
    while (!step.done) {
      const value = step.value;
      if (isEvent(value)) {
        yield queue.put(formatEvent(value));
        step = await events.next();
        continue;
      }
      let outcome: unknown;
      try {
        // A promise is awaited here: this task is an async generator, whose `yield` would await it anyway.
        outcome = value === undefined || value instanceof Operation ? yield value : await value;
      } catch (error) {
        step = await events.throw(error);
        continue;
      }
      step = await events.next(outcome);
    }
    finished = true;
    ended = new SourceEnd();
  } catch (error) {
    // The source threw (it is over), or what it yielded could not be sent (it is not: it still holds what it
    // holds, and its `finally` must run).
    ended = new SourceEnd(error, true);
  } finally {
    // Cancelled (the client left), or stopped for a bad event: the source's `finally` runs. On a source that
    // threw, `return()` does nothing.
    if (!finished) await events.return(undefined);
  }
  yield queue.put(ended);
}

/** Whether a yielded value is an event (a plain object), not an operation, a promise or a turn given up. */
function isEvent(value: EventSourceYield): value is ServerSentEvent {
  if (value === undefined || value instanceof Operation) return false;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `sse: an event source yields events ({ data, event, id, retry, comment }) or operations, got ${
        typeof value === "string" ? `the string ${JSON.stringify(value)}: yield { data: … }` : String(value)
      }`,
    );
  }
  return typeof (value as PromiseLike<unknown>).then !== "function";
}
