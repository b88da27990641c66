/**
 * examples/chat.ts, the chat behind the demo's page, on real sockets: the
 * long poll, the event stream and the WebSocket, each reading the named
 * queue by offset; and its answers to bad requests.
 */
import assert from "node:assert/strict";
// @ts-types="npm:@types/ws@8.18.2"
import WebSocketClient from "ws";
import { BusUnavailable, MemoryBus, type QueueRead } from "../../core/mod.ts";
import { CANNOT_TAKE, createChat, MAX_TEXT, type Message } from "../../examples/chat.ts";
import { Client, get, header, HOST, responseTo, startServer, until } from "../http.ts";

type Read = QueueRead<Message>;

function post(path: string, body: string | Uint8Array): Uint8Array {
  const data = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const head = new TextEncoder().encode(
    `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${data.length}\r\nConnection: close\r\n\r\n`,
  );
  const request = new Uint8Array(head.length + data.length);
  request.set(head);
  request.set(data, head.length);
  return request;
}

function say(port: number, name: string, text: string) {
  return responseTo(port, post(`/say?name=${encodeURIComponent(name)}`, text));
}

function startChat(pollTimeout = 2000) {
  const chat = createChat({ name: `chat-${crypto.randomUUID()}`, pollTimeout });
  return { chat, t: startServer(chat.routes) };
}

Deno.test("chat: a waiting poll gets the message said; a poll without an offset gets what is kept", async () => {
  const { t } = startChat();
  try {
    const ann = await Client.connect(t.port);
    assert.ok(await ann.write("GET /poll HTTP/1.1\r\nHost: t\r\n\r\n"));
    await until(() => t.server.server.sched.taskCount >= 2, 2000, "ann's poll to wait");
    const said = await say(t.port, "bob", "héllo");
    assert.equal(said.status, 200);
    assert.equal(said.text, '{"said":true}');
    const first = await ann.response();
    assert.equal(header(first, "content-type"), "application/json; charset=utf-8");
    assert.equal(header(first, "cache-control"), "no-store");
    const news: Read = JSON.parse(first.text);
    assert.equal(news.reset, false);
    assert.deepEqual(news.entries.map((e) => [e.message.from, e.message.text]), [["bob", "héllo"]]);
    assert.ok(typeof news.entries[0].message.at === "number");
    await say(t.port, "ann", "second");
    // After the last offset seen: only what is new, at once.
    const after = news.entries[0].offset;
    assert.ok(await ann.write(`GET /poll?after=${after} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`));
    const next: Read = JSON.parse((await ann.response()).text);
    assert.deepEqual(next.entries.map((e) => e.message.text), ["second"]);
    await ann.close();
    // A page that loads: everything kept.
    const all: Read = JSON.parse((await responseTo(t.port, get("/poll", { host: HOST }))).text);
    assert.deepEqual(all.entries.map((e) => e.message.text), ["héllo", "second"]);
  } finally {
    await t.stop();
  }
});

Deno.test("chat: a poll with no news answers no entries after its timeout; an offset of another epoch resets", async () => {
  const { t } = startChat(50);
  try {
    const quiet = await responseTo(t.port, get("/poll", { host: HOST }));
    assert.equal(quiet.status, 200);
    assert.equal(quiet.text, '{"entries":[],"reset":false}');
    await say(t.port, "ann", "kept");
    const stale: Read = JSON.parse(
      (await responseTo(t.port, get("/poll?after=elsewhere:7", { host: HOST }))).text,
    );
    assert.equal(stale.reset, true);
    assert.deepEqual(stale.entries.map((e) => e.message.text), ["kept"]);
  } finally {
    await t.stop();
  }
});

Deno.test("chat: bad requests get a precise status and say what a message is", async () => {
  const { t } = startChat();
  try {
    const wrongMethod = await responseTo(t.port, get("/say", { host: HOST }));
    assert.equal(wrongMethod.status, 405);
    assert.equal(header(wrongMethod, "allow"), "POST");
    assert.equal(wrongMethod.text, '{"error":"POST the message as the body"}');
    const empty = await say(t.port, "ann", "  \n");
    assert.equal(empty.status, 400);
    assert.equal(empty.text, `{"error":"a message is 1 to ${MAX_TEXT} characters of text"}`);
    const tooLong = await say(t.port, "ann", "x".repeat(MAX_TEXT + 1));
    assert.equal(tooLong.status, 400);
    const tooBig = await say(t.port, "ann", "x".repeat(MAX_TEXT * 4 + 1));
    assert.equal(tooBig.status, 413);
    // Nothing bad was stored; a name is trimmed to 40 characters, and an empty one is "anonymous".
    await say(t.port, "", "who am I");
    await say(t.port, "n".repeat(60), "long name");
    const all: Read = JSON.parse((await responseTo(t.port, get("/poll", { host: HOST }))).text);
    assert.deepEqual(all.entries.map((e) => [e.message.from, e.message.text]), [
      ["anonymous", "who am I"],
      ["n".repeat(40), "long name"],
    ]);
  } finally {
    await t.stop();
  }
});

Deno.test("chat: the event stream sends each message with its offset as id, and resumes from Last-Event-ID", async () => {
  const { t } = startChat();
  try {
    await say(t.port, "ann", "one");
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.includes("\n\n", text.indexOf("data:"))));
    assert.match(client.received, /Content-Type: text\/event-stream; charset=utf-8\r\n/);
    const id = client.received.match(/\nid: (\S+)\n/)![1];
    const data: Read = JSON.parse(client.received.match(/\ndata: (.*)\n/)![1]);
    assert.equal(data.entries.at(-1)!.offset, id);
    assert.deepEqual(data.entries.map((e) => e.message.text), ["one"]);
    await client.close();
    await say(t.port, "bob", "two");
    // The browser reconnects with the last id it saw: only what it missed comes.
    const again = await Client.connect(t.port);
    assert.ok(await again.write(`GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: ${id}\r\n\r\n`));
    assert.ok(await again.readUntil((text) => text.includes("\n\n", text.indexOf("data:"))));
    const missed: Read = JSON.parse(again.received.match(/\ndata: (.*)\n/)![1]);
    assert.deepEqual(missed.entries.map((e) => e.message.text), ["two"]);
    await again.close();
  } finally {
    await t.stop();
  }
});

Deno.test("chat: an event stream reset onto an empty history sends one reset, then waits (no busy loop)", async () => {
  const { t } = startChat();
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: gone:3\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.includes("\n\n", text.indexOf("data:"))));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = client.received.split("\n\n").filter((event) => event.includes("data:"));
    assert.equal(events.length, 1, client.received);
    assert.match(events[0], /^id: ?\ndata: \{"epoch":"[^"]+","entries":\[\],"reset":true\}$/m);
    await say(t.port, "ann", "after the reset");
    assert.ok(await client.readUntil((text) => text.includes("after the reset")));
    await client.close();
  } finally {
    await t.stop();
  }
});

/** What the server sent on a socket: reads of the room, acknowledgements and refusals, in order. */
type SocketMessage = Read | { said: true } | { error: string };

function openSocket(
  port: number,
  query: string,
): Promise<{ ws: WebSocketClient; got: SocketMessage[]; reads: () => Read[]; closed: Promise<number> }> {
  const ws = new WebSocketClient(`ws://${HOST}:${port}/socket${query}`);
  const got: SocketMessage[] = [];
  ws.on("message", (data: Buffer) => got.push(JSON.parse(data.toString())));
  const closed = new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code)));
  const reads = () => got.filter((m): m is Read => "entries" in m);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, got, reads, closed }));
    ws.once("error", reject);
  });
}

Deno.test("chat: a WebSocket says what it is sent, acknowledges it, and hears every message from its offset on", async () => {
  const { t } = startChat();
  try {
    await say(t.port, "ann", "before");
    const a = await openSocket(t.port, "?name=zoe");
    await until(() => a.reads().length === 1, 2000, "the history");
    assert.deepEqual(a.reads()[0].entries.map((e) => e.message.text), ["before"]);
    a.ws.send("héllo from zoe");
    await until(
      () => a.reads().length === 2 && a.got.length === 3,
      2000,
      "its own message back, and the ack",
    );
    assert.deepEqual(a.got.find((m) => !("entries" in m)), { said: true });
    assert.deepEqual(a.reads()[1].entries.map((e) => [e.message.from, e.message.text]), [[
      "zoe",
      "héllo from zoe",
    ]]);
    // Another socket, from the first message's offset on: only what came after.
    const b = await openSocket(t.port, `?after=${a.reads()[0].entries[0].offset}`);
    await until(() => b.reads().length === 1, 2000, "what b missed");
    assert.deepEqual(b.reads()[0].entries.map((e) => e.message.text), ["héllo from zoe"]);
    // What the chat cannot take closes the socket with a code that says why.
    a.ws.send("x".repeat(MAX_TEXT + 1));
    assert.equal(await a.closed, CANNOT_TAKE);
    b.ws.send(new Uint8Array([1, 2, 3]));
    assert.equal(await b.closed, CANNOT_TAKE);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});

/** A bus whose store is down: every append fails, as Redis gone away does. */
class DownBus extends MemoryBus {
  override append(): Promise<string> {
    return Promise.reject(new BusUnavailable("redis://127.0.0.1:1 is unreachable"));
  }
}

Deno.test("chat: a message the store refuses is answered with an error, on the socket (which stays open) and by POST", async () => {
  const chat = createChat({ name: `chat-${crypto.randomUUID()}` });
  const t = startServer(chat.routes, { bus: new DownBus() });
  try {
    const a = await openSocket(t.port, "?name=zoe");
    a.ws.send("lost?");
    await until(() => a.got.length === 1, 2000, "the refusal");
    assert.deepEqual(a.got, [{
      error: 'not said: PublishSubscribeQueue.publish("' + chat.room.name +
        '"): not stored: redis://127.0.0.1:1 is unreachable',
    }]);
    assert.equal(a.ws.readyState, WebSocketClient.OPEN);
    a.ws.close(1000);
    assert.equal(await a.closed, 1000);
    const posted = await say(t.port, "ann", "lost too?");
    assert.equal(posted.status, 503);
    assert.match(posted.text, /^\{"error":"not said: .*redis:\/\/127\.0\.0\.1:1 is unreachable"\}$/);
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});
