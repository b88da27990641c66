/**
 * WebSocket through `toFetchHandler` on `Deno.serve`: the same app and the
 * same `acceptWebSocket`, its messages carried by `Deno.upgradeWebSocket`.
 * A real client (`npm:ws`); the handshake's refusals as on our server.
 */
import assert from "node:assert/strict";
// @ts-types="npm:@types/ws@8.18.2"
import WebSocketClient from "ws";
import { toFetchHandler } from "../../middleware/mod.ts";
import { acceptWebSocket, type App, HttpError, type Route } from "../../wsgi/mod.ts";
import { app as example } from "../../examples/websocket.ts";
import { Client, header, HOST, until } from "../http.ts";

/** Runs `app` on Deno.serve through toFetchHandler; errors are recorded. */
async function withFetchServer(
  app: App | Iterable<Route>,
  fn: (port: number, errors: string[]) => Promise<void>,
): Promise<void> {
  const errors: string[] = [];
  const server = Deno.serve(
    { hostname: HOST, port: 0, onListen() {} },
    toFetchHandler(app, { onError: (error, context) => errors.push(`${context}: ${error}`) }),
  );
  try {
    await fn(server.addr.port, errors);
  } finally {
    await server.shutdown();
  }
}

function open(url: string): Promise<WebSocketClient> {
  const ws = new WebSocketClient(url);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function nextMessage(ws: WebSocketClient): Promise<{ data: Uint8Array; binary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data: Uint8Array, binary: boolean) => resolve({ data: new Uint8Array(data), binary }))
  );
}

Deno.test("fetch websocket: examples/websocket.ts on Deno.serve echoes text and binary; a close is answered with its code", async () => {
  await withFetchServer(example, async (port, errors) => {
    const ws = await open(`ws://${HOST}:${port}/ws`);
    try {
      let got = nextMessage(ws);
      ws.send("hello over Deno.serve");
      let message = await got;
      assert.equal(message.binary, false);
      assert.equal(new TextDecoder().decode(message.data), "hello over Deno.serve");
      got = nextMessage(ws);
      ws.send(new Uint8Array([9, 8, 7]));
      message = await got;
      assert.equal(message.binary, true);
      assert.deepEqual([...message.data], [9, 8, 7]);
      const closed = new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code)));
      ws.close(4001, "bye");
      assert.equal(await closed, 4001);
    } finally {
      ws.terminate();
    }
    assert.deepEqual(errors, []);
  });
});

Deno.test("fetch websocket: the subprotocol chosen, the app's own close, and a client that vanishes stops the app", async () => {
  const log: string[] = [];
  const app: App = async function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse, { protocols: ["chat"] });
    try {
      yield* ws.send(`protocol=${ws.protocol}`);
      if (environ.PATH_INFO === "/closing") {
        yield* ws.close(4002, "enough");
        return;
      }
      while ((yield* ws.receive()) !== null);
    } finally {
      log.push(`${environ.PATH_INFO} ${ws.closeCode}`);
    }
  };
  await withFetchServer(app, async (port) => {
    const chat = new WebSocketClient(`ws://${HOST}:${port}/closing`, ["chat", "other"]);
    const first = nextMessage(chat);
    const closed = new Promise<[number, string]>((resolve) =>
      chat.once(
        "close",
        (code: number, reason: Uint8Array) => resolve([code, new TextDecoder().decode(reason)]),
      )
    );
    assert.equal(new TextDecoder().decode((await first).data), "protocol=chat");
    assert.equal(chat.protocol, "chat");
    assert.deepEqual(await closed, [4002, "enough"]);
    const vanishing = await open(`ws://${HOST}:${port}/vanishing`);
    await nextMessage(vanishing);
    vanishing.terminate();
    await until(() => log.includes("/vanishing 1006"), 3000, "the app of the vanished client to stop");
    assert.ok(log.includes("/closing 4002"), log.join(", "));
  });
});

Deno.test("fetch websocket: a bad handshake is answered as on our server (400 with the reason, 426 with the version)", async () => {
  await withFetchServer(example, async (port) => {
    for (
      const [version, status] of [["8", 426], ["13", 400]] as const
    ) {
      const client = await Client.connect(port);
      assert.ok(
        await client.write(
          `GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Version: ${version}\r\n${
              status === 426 ? "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" : ""
            }\r\n`,
        ),
      );
      const response = await client.response();
      assert.equal(response.status, status);
      if (status === 426) {
        assert.equal(header(response, "sec-websocket-version"), "13");
        assert.equal(
          response.body,
          '426 Upgrade Required\nSec-WebSocket-Version "8"; this server speaks 13\n',
        );
      } else assert.equal(response.body, "400 Bad Request\nthe request has no Sec-WebSocket-Key\n");
      await client.close();
    }
  });
});

Deno.test("fetch websocket: an app that fails after acceptWebSocket, before its 101, gets an HTTP answer and Deno.serve goes on", async () => {
  const app: App = (environ, startResponse) => {
    acceptWebSocket(environ, startResponse);
    throw new HttpError(403, "not for you");
  };
  await withFetchServer([["/fail", app], ["/ws", example[0][1]]], async (port) => {
    const client = await Client.connect(port);
    assert.ok(
      await client.write(
        `GET /fail HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    const response = await client.response();
    assert.equal(response.status, 403);
    assert.equal(response.body, "403 Forbidden\nnot for you\n");
    await client.close();
    // The server still serves WebSockets.
    const ws = await open(`ws://${HOST}:${port}/ws`);
    const got = nextMessage(ws);
    ws.send("still here");
    assert.equal(new TextDecoder().decode((await got).data), "still here");
    ws.terminate();
  });
});
