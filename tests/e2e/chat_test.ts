/** examples/chat.ts: a long-poll chat over PublishSubscribeQueue, served by one process. */
import assert from "node:assert/strict";
import { createChatRoom, type Message } from "../../examples/chat.ts";
import { Client, get, headerAll, responseTo, startServer, until } from "../http.ts";

function say(port: number, name: string, text: string) {
  const body = new TextEncoder().encode(text);
  const head = new TextEncoder().encode(
    `POST /say?name=${name} HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
  );
  const request = new Uint8Array(head.length + body.length);
  request.set(head);
  request.set(body, head.length);
  return responseTo(port, request);
}

Deno.test("chat: a waiting poll gets the message; a new client first gets everything kept; JSON answers", async () => {
  const room = createChatRoom({ pollTimeout: 2000 });
  const t = startServer([["/say", room.say], ["/poll", room.poll]]);
  const sched = t.server.server.sched;
  try {
    const ann = await Client.connect(t.port);
    assert.ok(await ann.write("GET /poll?client=ann HTTP/1.1\r\nHost: t\r\n\r\n"));
    await until(() => room.messages.subscribers === 1 && sched.taskCount === 2, 2000, "ann's poll to wait");
    const said = await say(t.port, "bob", "héllo");
    assert.equal(said.status, 200);
    assert.deepEqual(headerAll(said, "content-type"), ["application/json; charset=utf-8"]);
    assert.deepEqual(JSON.parse(said.text), { delivered: 1 });
    const news: Message[] = JSON.parse((await ann.response()).text);
    assert.deepEqual(news.map((m) => [m.from, m.text]), [["bob", "héllo"]]);
    assert.ok(typeof news[0].at === "number");
    await say(t.port, "ann", "second");
    // ann's next poll returns only what is new since her last poll, at once.
    assert.ok(await ann.write("GET /poll?client=ann HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert.deepEqual(JSON.parse((await ann.response()).text).map((m: Message) => m.text), ["second"]);
    await ann.close();
    // A new client's first poll: every message kept so far.
    const cid = await responseTo(t.port, get("/poll?client=cid", { host: "test" }));
    assert.deepEqual(JSON.parse(cid.text).map((m: Message) => m.text), ["héllo", "second"]);
  } finally {
    await t.stop();
  }
});

Deno.test("chat: a poll with no news answers [] after its timeout; bad requests get a clear status", async () => {
  const room = createChatRoom({ pollTimeout: 50 });
  const t = startServer([["/say", room.say], ["/poll", room.poll]]);
  try {
    assert.equal((await responseTo(t.port, get("/poll?client=quiet", { host: "test" }))).text, "[]");
    const missing = await responseTo(t.port, get("/poll", { host: "test" }));
    assert.equal(missing.status, 400);
    assert.match(missing.text, /poll needs \?client=ID/);
    const wrongMethod = await responseTo(t.port, get("/say", { host: "test" }));
    assert.equal(wrongMethod.status, 405);
    assert.deepEqual(headerAll(wrongMethod, "allow"), ["POST"]);
  } finally {
    await t.stop();
  }
});

Deno.test("chat: housekeeping forgets idle clients and compacts the log", async () => {
  const room = createChatRoom({ pollTimeout: 50, idleClient: 300, sweepEvery: 10 });
  const t = startServer([["/say", room.say], ["/poll", room.poll]]);
  const housekeeping = t.server.server.sched.add(room.housekeeping);
  try {
    await responseTo(t.port, get("/poll?client=gone", { host: "test" }));
    await say(t.port, "x", "one");
    assert.equal(room.messages.subscribers, 1);
    await until(
      () => room.messages.subscribers === 0 && room.messages.size === 0,
      2000,
      "the idle client to go",
    );
  } finally {
    await housekeeping.cancel();
    await t.stop();
  }
});
