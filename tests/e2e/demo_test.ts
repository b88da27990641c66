/**
 * examples/demo.ts on real sockets, without a browser: the page and its
 * script, the sources it links to, the live panel's figures, and the
 * `counted` wrapper's transparency.
 */
import assert from "node:assert/strict";
import { app, counted } from "../../examples/demo.ts";
import type { App } from "../../wsgi/mod.ts";
import { Client, decompress, get, header, HOST, responseTo, startServer } from "../http.ts";

Deno.test("demo: / is the chat page, its script goes gzipped, every answer names its worker", async () => {
  const t = startServer(app);
  try {
    const page = await responseTo(t.port, get("/?transport=sse", { host: HOST }));
    assert.equal(page.status, 200);
    assert.equal(header(page, "content-type"), "text/html; charset=utf-8");
    assert.equal(header(page, "x-cogen-worker"), "1");
    assert.match(page.text, /<title>cogen for Deno: chat<\/title>/);
    assert.match(page.text, /<input name="message"/);
    assert.match(page.text, /<ol id="messages"/);
    const script = await responseTo(
      t.port,
      `GET /chat.js HTTP/1.1\r\nHost: ${HOST}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(header(script, "content-encoding"), "gzip");
    const source = await Deno.readTextFile(new URL("../../examples/demo_page/chat.js", import.meta.url));
    assert.equal(await decompress(script.body, "gzip"), source);
  } finally {
    await t.stop();
  }
});

Deno.test("demo: /code/ shows the demo's sources as text, and says which there are", async () => {
  const t = startServer(app);
  try {
    const chat = await responseTo(t.port, get("/code/chat.ts", { host: HOST }));
    assert.equal(chat.status, 200);
    assert.equal(header(chat, "content-type"), "text/plain; charset=utf-8");
    assert.equal(chat.text, await Deno.readTextFile(new URL("../../examples/chat.ts", import.meta.url)));
    const missing = await responseTo(t.port, get("/code/../cli.ts", { host: HOST }));
    assert.equal(missing.status, 404);
    assert.equal(
      missing.text,
      "no such source; try /code/chat.ts, /code/demo.ts, /code/wait.ts, /code/chat.js\n",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("demo: /stats counts a held long poll while it waits, and not once its client left", async () => {
  const t = startServer(app);
  try {
    const stats = async () => JSON.parse((await responseTo(t.port, get("/stats", { host: HOST }))).text);
    const before = await stats();
    assert.deepEqual(Object.keys(before).sort(), ["held", "perSecond", "pid", "worker"]);
    assert.equal(before.worker, 1);
    assert.equal(before.pid, Deno.pid);
    const poll = await Client.connect(t.port);
    assert.ok(await poll.write(`GET /chat/poll HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    let held = 0;
    for (const deadline = Date.now() + 2000; Date.now() < deadline;) {
      held = (await stats()).held;
      if (held === before.held + 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(held, before.held + 1, "the poll is held");
    await poll.close();
    for (const deadline = Date.now() + 3000; Date.now() < deadline;) {
      held = (await stats()).held;
      if (held === before.held) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(held, before.held, "the poll is no longer held");
  } finally {
    await t.stop();
  }
});

Deno.test("demo: counted hands what a sync app yields through untouched: a promise's value comes back, its rejection is the app's", async () => {
  const syncApp: App = function* (_environ, startResponse) {
    const value: unknown = yield Promise.resolve("resolved");
    let caught = "";
    try {
      yield Promise.reject(new Error("refused"));
    } catch (error) {
      caught = (error as Error).message;
    }
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield `got ${String(value)}, caught ${caught}`;
  };
  const t = startServer(counted(syncApp));
  try {
    const response = await responseTo(t.port, get("/", { host: HOST }));
    assert.equal(response.status, 200);
    assert.equal(response.text, "got resolved, caught refused");
    assert.equal(header(response, "x-cogen-worker"), "1");
    assert.deepEqual(t.errors, []);
  } finally {
    await t.stop();
  }
});
