/**
 * Long polling at scale, and clients that leave: one process holds a
 * thousand waiting clients; one that gives up costs nothing afterwards.
 */
import assert from "node:assert/strict";
import { Signal, WaitForSignal } from "../../core/mod.ts";
import type { Environ, StartResponse } from "../../wsgi/mod.ts";
import { signal, stats, wait } from "../../examples/longpoll.ts";
import { Client, get, headerAll, responseTo, startServer, until } from "../http.ts";

const CLIENTS = 1000;

/** Opens `n` connections that each send `GET /wait` (in batches, to be kind to the backlog). */
async function waiters(port: number, n: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, () => Client.connect(port)),
    );
    await Promise.all(
      batch.map(async (c) => assert.ok(await c.write("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n"))),
    );
    clients.push(...batch);
  }
  return clients;
}

Deno.test("long polling: 1 000 clients wait, one signal wakes them all, every answer is right", async () => {
  const t = startServer([["/wait", wait], ["/signal", signal], ["/stats", stats]]);
  const sched = t.server.server.sched;
  try {
    const baseline = sched.taskCount;
    const clients = await waiters(t.port, CLIENTS);
    await until(
      () => sched.signals.get("longpoll")?.waiters.length === CLIENTS,
      10_000,
      "every client to wait",
    );
    const woken = await responseTo(t.port, get("/signal?value=tada", { host: "test" }));
    assert.equal(woken.text, `${CLIENTS}\n`);
    const answers = await Promise.all(clients.map((c) => c.response()));
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.equal(answer.text, "tada\n");
      assert.deepEqual(headerAll(answer, "content-length"), ["5"]);
    }
    await Promise.all(clients.map((c) => c.close()));
    await until(() => sched.taskCount === baseline, 10_000, "the task count to return to its baseline");
    assert.equal(sched.signals.size, 0, "no wait list is left behind");
  } finally {
    await t.stop();
  }
});

Deno.test("long polling: 500 of 1 000 clients leave mid-wait; the next signal counts only the rest", async () => {
  const t = startServer([["/wait", wait], ["/signal", signal], ["/stats", stats]]);
  const sched = t.server.server.sched;
  try {
    const baseline = sched.taskCount;
    const clients = await waiters(t.port, CLIENTS);
    await until(
      () => sched.signals.get("longpoll")?.waiters.length === CLIENTS,
      10_000,
      "every client to wait",
    );
    const leaving = clients.filter((_, i) => i % 2 === 0);
    const staying = clients.filter((_, i) => i % 2 === 1);
    await Promise.all(leaving.map((c) => c.close()));
    // Each departure is noticed (a pending read sees EOF): the waiter leaves the wait list and its task ends.
    await until(
      () => sched.signals.get("longpoll")?.waiters.length === CLIENTS / 2,
      5_000,
      "the leavers to be noticed",
    );
    await until(() => sched.taskCount === baseline + CLIENTS / 2, 5_000, "the leavers' tasks to end");
    const woken = await responseTo(t.port, get("/signal?value=rest", { host: "test" }));
    assert.equal(woken.text, `${CLIENTS / 2}\n`);
    const answers = await Promise.all(staying.map((c) => c.response()));
    assert.ok(answers.every((a) => a.status === 200 && a.text === "rest\n"));
    await Promise.all(staying.map((c) => c.close()));
    await until(() => sched.taskCount === baseline, 10_000, "the task count to return to its baseline");
  } finally {
    await t.stop();
  }
});

Deno.test("client gone: the app's finally runs, its wait is withdrawn and cogen.signal aborts within 1 s", async () => {
  const events: string[] = [];
  let aborted = 0;
  const t = startServer([
    ["/wait", async function* (environ: Environ, startResponse: StartResponse) {
      environ["cogen.signal"].addEventListener("abort", () => {
        aborted = Date.now();
      });
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      yield "waiting";
      try {
        yield new WaitForSignal("gone", { timeout: -1 });
        events.push("woken");
      } finally {
        events.push("finally");
      }
    }],
    ["/signal", async function* (_environ: Environ, startResponse: StartResponse) {
      const woken: number = yield new Signal("gone");
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      yield String(woken);
    }],
  ]);
  const sched = t.server.server.sched;
  try {
    const baseline = sched.taskCount;
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n"));
    await until(() => sched.signals.get("gone")?.waiters.length === 1, 3000, "the app to wait");
    const closedAt = Date.now();
    await client.close();
    await until(() => events.includes("finally"), 1000, "the app's finally");
    assert.deepEqual(events, ["finally"]);
    assert.ok(aborted > 0 && aborted - closedAt < 1000, "cogen.signal aborted within 1 s");
    assert.equal(sched.signals.get("gone"), undefined, "the waiter left the wait list");
    await until(() => sched.taskCount === baseline, 1000, "the connection's task to end");
    assert.equal(
      (await responseTo(t.port, get("/signal", { host: "test" }))).text,
      "0",
      "a later signal counts it no more",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("cogen.signal does not abort when the body was read or the response finished normally", async () => {
  const signals: AbortSignal[] = [];
  const t = startServer(async function* (environ: Environ, startResponse: StartResponse) {
    signals.push(environ["cogen.signal"]);
    for await (const _ of environ["wsgi.input"]) { /* read it all */ }
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "done";
  });
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"));
    assert.equal((await client.response()).text, "done");
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
    assert.equal((await client.response()).text, "done");
    assert.ok((await client.readUntilClose()).closed);
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(signals.length, 2);
    assert.ok(signals.every((s) => !s.aborted));
  } finally {
    await t.stop();
  }
});

Deno.test("shutdown: an app waiting on an operation gets ServerShutdown at once (finally runs, cogen.signal aborts, the response ends whole)", async () => {
  const events: string[] = [];
  const t = startServer(async function* (environ: Environ, startResponse: StartResponse) {
    environ["cogen.signal"].addEventListener("abort", () => events.push("aborted"));
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "waiting";
    try {
      yield new WaitForSignal("forever", { timeout: -1 });
    } catch (error) {
      events.push((error as Error).name);
      throw error;
    } finally {
      events.push("finally");
    }
  });
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n"));
    const sched = t.server.server.sched;
    await until(() => sched.signals.get("forever")?.waiters.length === 1, 3000, "the app to wait");
    const started = Date.now();
    await t.stop(5000);
    assert.ok(Date.now() - started < 1000, "a parked wait does not hold the shutdown until the deadline");
    assert.deepEqual(events.sort(), ["ServerShutdown", "aborted", "finally"]);
    const { text, closed } = await client.readUntilClose();
    assert.ok(closed);
    assert.ok(
      text.endsWith("7\r\nwaiting\r\n0\r\n\r\n"),
      `the chunked body ends whole: ${JSON.stringify(text)}`,
    );
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("shutdown: an app stuck in an await of its own is stopped at the deadline (cogen.signal aborts, the socket closes)", async () => {
  let aborted = false;
  const t = startServer(async function* (environ: Environ, startResponse: StartResponse) {
    environ["cogen.signal"].addEventListener("abort", () => aborted = true);
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    yield "waiting";
    await new Promise(() => {}); // never settles: nothing can interrupt it
  });
  try {
    const client = await Client.connect(t.port);
    assert.ok(await client.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n"));
    assert.ok(await client.readUntil((text) => text.includes("waiting")));
    const started = Date.now();
    await t.stop(200);
    assert.ok(Date.now() - started >= 150, "in-flight requests get until the deadline");
    assert.ok(aborted, "cogen.signal aborted");
    assert.ok((await client.readUntilClose()).closed);
    await client.close();
  } finally {
    await t.stop();
  }
});
