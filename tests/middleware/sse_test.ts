/**
 * Server-Sent Events: `sse()` over real sockets — the exact stream of
 * `examples/sse.ts`, `Last-Event-ID`, the heartbeat while the source waits
 * (without disturbing its wait), the client leaving, the source ending or
 * failing, the compress middleware flushing each event — and a real client,
 * `npm:eventsource`, reconnecting with `Last-Event-ID`.
 */
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { compress, formatEvent, sse } from "../../middleware/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { app as example } from "../../examples/sse.ts";
import {
  chunkedSoFar,
  Client,
  decompressPartial,
  HOST,
  normalizeDate,
  until,
  withClient,
  withServer,
} from "../http.ts";

const HEAD =
  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n" +
  "X-Accel-Buffering: no\r\nDate: <date>\r\nServer: cogen-deno/0.1.0\r\nTransfer-Encoding: chunked\r\n\r\n";

Deno.test("sse: formatEvent writes each field, data line by line, and refuses what cannot be sent", () => {
  assert.equal(formatEvent({ data: "tick 1", id: 1 }), "id: 1\ndata: tick 1\n\n");
  assert.equal(
    formatEvent({
      comment: "hi\nthere",
      event: "update",
      id: "a-7",
      retry: 2500,
      data: "one\r\ntwo\rthree\n",
    }),
    ": hi\n: there\nevent: update\nid: a-7\nretry: 2500\ndata: one\ndata: two\ndata: three\ndata: \n\n",
  );
  assert.equal(formatEvent({ data: "" }), "data: \n\n");
  assert.equal(formatEvent({ comment: "" }), ": \n\n");
  const refused: [unknown, RegExp][] = [
    [{}, /an event needs at least one of data, event, id, retry or comment/],
    [{ date: "x" }, /got a field "date"/],
    [{ event: "a\nb" }, /event must be a string without line breaks, got "a\\nb"/],
    [{ id: "1\r" }, /id must be a string or number without CR, LF or NUL/],
    [{ id: "1\0" }, /id must be a string or number without CR, LF or NUL/],
    [{ retry: -1 }, /retry must be an integer number of ms >= 0, got -1/],
    [{ retry: 1.5 }, /retry must be an integer number of ms >= 0, got 1.5/],
    [{ data: { a: 1 } }, /data must be a string \(JSON.stringify an object\), got object/],
  ];
  for (const [event, message] of refused) assert.throws(() => formatEvent(event as never), message);
  assert.throws(() => sse(function* () {}, { heartbeat: -1 }), /heartbeat must be a number of ms >= 0/);
  assert.throws(() => sse(function* () {}, { buffered: 0 }), /buffered must be an integer >= 1, got 0/);
});

Deno.test("sse: examples/sse.ts sends id N and data tick N every 200 ms, from Last-Event-ID + 1", async () => {
  await withServer(example, {}, async ({ port }) => {
    for (const [lastEventId, first] of [[null, 1], ["41", 42], ["junk", 1]] as const) {
      const client = await Client.connect(port);
      try {
        const extra = lastEventId === null ? "" : `Last-Event-ID: ${lastEventId}\r\n`;
        assert.ok(
          await client.write(
            `GET /events HTTP/1.1\r\nHost: ${HOST}\r\nAccept: text/event-stream\r\n${extra}\r\n`,
          ),
        );
        const started = Date.now();
        assert.ok(await client.readUntil((text) => chunkedSoFar(text).split("\n\n").length > 3, 3000));
        const head = client.received.slice(0, client.received.indexOf("\r\n\r\n") + 4);
        assert.equal(normalizeDate(head), HEAD);
        assert.equal(
          chunkedSoFar(client.received).slice(0, 60),
          [0, 1, 2].map((i) => `id: ${first + i}\ndata: tick ${first + i}\n\n`).join("").slice(0, 60),
        );
        assert.ok(Date.now() - started >= 550, "three events take three periods of 200 ms");
      } finally {
        await client.close();
      }
    }
  });
});

Deno.test("sse: a heartbeat comment while the source waits; the wait itself is not disturbed", async () => {
  const app: App = (environ, startResponse) => {
    if (environ.PATH_INFO === "/wake") {
      return (async function* () {
        yield new Signal("news", "hello");
        startResponse("200 OK", [["Content-Type", "text/plain"]]);
        yield "woken";
      })();
    }
    return sse(async function* () {
      const news: string = yield new WaitForSignal("news");
      yield { event: "news", data: news };
    }, { heartbeat: 100 })(environ, startResponse);
  };
  await withClient(app, {}, async (client, { port }) => {
    assert.ok(await client.write(`GET /events HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    assert.ok(await client.readUntil((text) => chunkedSoFar(text) === ":\n\n:\n\n:\n\n", 2000));
    const waker = await Client.connect(port);
    assert.ok(await waker.write(`GET /wake HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    assert.equal((await waker.response()).body, "woken");
    await waker.close();
    // The source got its signal, sent its event and returned: the response ends.
    assert.ok(await client.readUntil((text) => text.endsWith("0\r\n\r\n"), 2000), client.received);
    assert.match(chunkedSoFar(client.received), /^(:\n\n)+event: news\ndata: hello\n\n$/);
  });
});

Deno.test("sse: the client leaving cancels the source (its finally runs); a failing source cuts the stream and is reported", async () => {
  const log: string[] = [];
  const app = sse(async function* (environ) {
    try {
      yield { data: "first" };
      if (environ.PATH_INFO === "/fail") throw new Error("the feed broke");
      yield new Sleep(60_000);
    } finally {
      log.push(`finally ${environ.PATH_INFO}`);
    }
  });
  await withServer(app, {}, async ({ port, errors }) => {
    const leaving = await Client.connect(port);
    assert.ok(await leaving.write(`GET /leave HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    assert.ok(await leaving.readUntil((text) => chunkedSoFar(text) === "data: first\n\n"));
    await leaving.close();
    await until(() => log.includes("finally /leave"), 3000, "the source to be cancelled");

    const failing = await Client.connect(port);
    assert.ok(await failing.write(`GET /fail HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    const outcome = await failing.readUntilClose(3000);
    assert.ok(outcome.closed, "the connection is closed");
    assert.ok(!outcome.text.endsWith("0\r\n\r\n"), "the stream is cut short, not ended");
    assert.equal(chunkedSoFar(failing.received), "data: first\n\n");
    assert.ok(log.includes("finally /fail"));
    await failing.close();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0].error), /the feed broke/);
  });
});

Deno.test("sse: through the compress middleware each event is flushed as it is made", async () => {
  const app = compress(
    sse(async function* () {
      for (let n = 1; n <= 3; n++) {
        yield { id: n, data: `tick ${n} ${"x".repeat(2000)}` };
        yield new Sleep(100);
      }
    }),
    { threshold: 0 },
  );
  await withClient(app, {}, async (client) => {
    assert.ok(await client.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nAccept-Encoding: gzip\r\n\r\n`));
    assert.ok(await client.readUntil((text) => chunkedSoFar(text).length > 0, 2000));
    assert.match(client.received, /Content-Encoding: gzip\r\n/);
    // The first event can be read before the second is made.
    await until(
      () => decompressPartial(chunkedSoFar(client.received), "gzip").includes("id: 1\n"),
      1000,
      "event 1",
    );
    assert.ok(!decompressPartial(chunkedSoFar(client.received), "gzip").includes("id: 2\n"));
    assert.ok(await client.readUntil((text) => text.endsWith("0\r\n\r\n"), 3000));
  });
});

Deno.test("sse: npm:eventsource reconnects after the server closes and goes on from Last-Event-ID", async () => {
  let connections = 0;
  const seen: string[] = [];
  const app = sse(async function* (_environ, lastEventId) {
    connections++;
    seen.push(lastEventId ?? "none");
    let n = Number(lastEventId ?? 0);
    // Two events a connection, then the server ends the stream: the client reconnects.
    for (let i = 0; i < 2; i++) {
      n++;
      yield { id: n, data: `tick ${n}`, retry: i === 0 && n === 1 ? 50 : undefined };
    }
  });
  await withServer(app, {}, async ({ port }) => {
    const source = new EventSource(`http://${HOST}:${port}/events`);
    const got: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        source.onmessage = (event) => {
          got.push(`${event.lastEventId}:${event.data}`);
          if (got.length === 6) resolve();
        };
        setTimeout(() => reject(new Error(`only ${got.join(", ")}`)), 5000);
      });
    } finally {
      source.close();
    }
    assert.deepEqual(got, ["1:tick 1", "2:tick 2", "3:tick 3", "4:tick 4", "5:tick 5", "6:tick 6"]);
    assert.deepEqual(seen.slice(0, 3), ["none", "2", "4"]);
    assert.ok(connections >= 3);
  });
});

Deno.test("sse: a source that yields what cannot be sent is stopped: its finally runs, the stream is cut, the error reported", async () => {
  const log: string[] = [];
  const app = sse(async function* (environ) {
    try {
      yield { data: "first" };
      if (environ.PATH_INFO === "/number") yield { data: 42 as unknown as string };
      else yield "oops" as unknown as { data: string };
    } finally {
      log.push(`finally ${environ.PATH_INFO}`);
    }
  });
  await withServer(app, {}, async ({ port, errors }) => {
    for (const path of ["/number", "/string"]) {
      const client = await Client.connect(port);
      assert.ok(await client.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      assert.ok((await client.readUntilClose(3000)).closed);
      assert.equal(chunkedSoFar(client.received), "data: first\n\n");
      await client.close();
    }
    assert.deepEqual(log, ["finally /number", "finally /string"]);
    assert.match(String(errors[0].error), /data must be a string \(JSON.stringify an object\), got number/);
    assert.match(String(errors[1].error), /got the string "oops": yield \{ data: … \}/);
  });
});
