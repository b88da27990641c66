/**
 * WebSocket on our server: `acceptWebSocket` and `examples/websocket.ts`,
 * with a real client (`npm:ws`: every frame type, fragmentation, close
 * codes, a 10 MB message, 1,000 sockets at once) and with raw frames for
 * what no real client sends (unmasked frames, reserved bits, bad UTF-8 cut
 * mid-message, frames pipelined behind the handshake).
 */
import assert from "node:assert/strict";
// @ts-types="npm:@types/ws@8.18.2"
import WebSocketClient from "ws";
import { Race, Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { acceptWebSocket, type App, HttpError, type ServerWebSocket } from "../../wsgi/mod.ts";
import { app as example } from "../../examples/websocket.ts";
import { Client, header, HOST, normalizeDate, startServer, until, withServer } from "../http.ts";
import {
  clientFrame,
  closePayload,
  concat,
  RawWebSocket,
  SAMPLE_ACCEPT,
  upgradeRequest,
} from "../raw_websocket.ts";
import { testCertificate } from "../tls_certificate.ts";

const TEXT = 0x1, BINARY = 0x2, CONTINUATION = 0x0, CLOSE = 0x8, PING = 0x9, PONG = 0xa;

/** Opens a `ws` client and waits until it is open. */
async function connect(port: number, path = "/ws", protocols?: string[]): Promise<WebSocketClient> {
  const ws = new WebSocketClient(`ws://${HOST}:${port}${path}`, protocols);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return ws;
}

/** The next message of a `ws` client: its data and whether it was binary. */
function nextMessage(ws: WebSocketClient): Promise<{ data: Uint8Array; binary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data: Uint8Array, binary: boolean) => resolve({ data: new Uint8Array(data), binary }))
  );
}

/** Resolves with the close code and reason a `ws` client saw. */
function closed(ws: WebSocketClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once("close", (code: number, reason: Uint8Array) => resolve({ code, reason: String(reason) }))
  );
}

Deno.test("websocket: the handshake answers 101 with the accept key, exactly; no subprotocol unless both speak it", async () => {
  const chat: App = async function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse, { protocols: ["superchat", "chat"] });
    yield* ws.send(`protocol=${ws.protocol}`);
    yield* ws.close();
  };
  await withServer([["/ws", example[0][1]], ["/chat", chat]], {}, async ({ port, errors }) => {
    const raw = await RawWebSocket.open(port);
    assert.equal(
      normalizeDate(raw.head),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${SAMPLE_ACCEPT}\r\nDate: <date>\r\nServer: cogen-deno/0.1.0\r\n\r\n`,
    );
    await raw.close();
    const chosen = await RawWebSocket.open(port, "/chat", "Sec-WebSocket-Protocol: chat, superchat\r\n");
    assert.match(chosen.head, /\r\nSec-WebSocket-Protocol: superchat\r\n/);
    assert.equal((await chosen.frame())!.text, "protocol=superchat");
    await chosen.close();
    const none = await RawWebSocket.open(port, "/chat", "Sec-WebSocket-Protocol: mqtt\r\n");
    assert.doesNotMatch(none.head, /Sec-WebSocket-Protocol/);
    assert.equal((await none.frame())!.text, "protocol=");
    await none.close();
    assert.deepEqual(errors, []);
  });
});

Deno.test("websocket: a bad handshake is answered 400 with the reason, or 426 with Sec-WebSocket-Version: 13", async () => {
  const base = (lines: string) => `GET /ws HTTP/1.1\r\nHost: ${HOST}\r\n${lines}\r\n`;
  const good = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const cases: [string, number, string][] = [
    [base(""), 400, 'the request has no "Upgrade: websocket"'],
    [
      base("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"),
      400,
      'the request has no "Connection: Upgrade"',
    ],
    [base(good), 426, "Sec-WebSocket-Version is missing; this server speaks 13"],
    [base(good + "Sec-WebSocket-Version: 8\r\n"), 426, 'Sec-WebSocket-Version "8"; this server speaks 13'],
    [
      base(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n",
      ),
      400,
      'Sec-WebSocket-Key "short" is not 16 bytes in base64',
    ],
    [
      base("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"),
      400,
      "the request has no Sec-WebSocket-Key",
    ],
    [
      `POST /ws HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\n${good}Sec-WebSocket-Version: 13\r\n\r\n`,
      400,
      "a WebSocket opens with GET, not POST",
    ],
  ];
  await withServer(example, {}, async ({ port }) => {
    for (const [request, status, reason] of cases) {
      const client = await Client.connect(port);
      assert.ok(await client.write(request));
      const response = await client.response();
      assert.equal(response.status, status, request);
      assert.equal(
        response.body,
        `${status} ${status === 400 ? "Bad Request" : "Upgrade Required"}\n${reason}\n`,
      );
      assert.equal(header(response, "Sec-WebSocket-Version"), status === 426 ? "13" : undefined);
      await client.close();
    }
  });
});

Deno.test("websocket: npm:ws echoes text, binary, empty and 10 MB messages, fragmented ones, and answers pings", async () => {
  await withServer(example, {}, async ({ port, errors }) => {
    const ws = await connect(port);
    try {
      for (const [data, binary] of [["hello", false], ["", false], ["ünïcödé ☃ 🎉", false]] as const) {
        const got = nextMessage(ws);
        ws.send(data);
        const message = await got;
        assert.equal(message.binary, binary);
        assert.equal(new TextDecoder().decode(message.data), data);
      }
      for (const data of [new Uint8Array([0, 1, 2, 255]), new Uint8Array(0)]) {
        const got = nextMessage(ws);
        ws.send(data);
        const message = await got;
        assert.ok(message.binary);
        assert.deepEqual([...message.data], [...data]);
      }
      // 10 MB, both ways.
      const big = new Uint8Array(10 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
      const got = nextMessage(ws);
      ws.send(big);
      const echoed = await got;
      assert.equal(echoed.data.length, big.length);
      const wrong = echoed.data.findIndex((b, i) => b !== big[i]);
      assert.equal(
        wrong,
        -1,
        `byte ${wrong}: ${echoed.data.subarray(wrong, wrong + 8)} for ${big.subarray(wrong, wrong + 8)}`,
      );
      // A fragmented text message: three frames, reassembled.
      const fragmented = nextMessage(ws);
      ws.send("frag", { fin: false });
      ws.send("men", { fin: false });
      ws.send("ted", { fin: true });
      assert.equal(new TextDecoder().decode((await fragmented).data), "fragmented");
      // A ping is answered with a pong carrying its payload.
      const pong = new Promise<string>((resolve) =>
        ws.once("pong", (data: Uint8Array) => resolve(new TextDecoder().decode(data)))
      );
      ws.ping("are you there");
      assert.equal(await pong, "are you there");
      // The client closes with its code: the server answers with the same one.
      const end = closed(ws);
      ws.close(4000, "done here");
      assert.equal((await end).code, 4000);
    } finally {
      ws.terminate();
    }
    assert.deepEqual(errors, []);
  });
});

Deno.test("websocket: frames pipelined behind the handshake, control frames between fragments, a close answered then the TCP close", async () => {
  await withServer(example, {}, async ({ port }) => {
    const raw = await RawWebSocket.open(
      port,
      "/ws",
      "",
      clientFrame(TEXT, "early"),
    );
    assert.equal((await raw.frame())!.text, "early");
    await raw.send(
      clientFrame(TEXT, "one ", { fin: false }),
      clientFrame(PING, "between"),
      clientFrame(CONTINUATION, "two ", { fin: false }),
      clientFrame(PONG, "unasked"),
      clientFrame(CONTINUATION, "three"),
    );
    const pong = (await raw.frame())!;
    assert.deepEqual([pong.opcode, pong.text], [PONG, "between"]);
    const message = (await raw.frame())!;
    assert.deepEqual([message.opcode, message.fin, message.text], [TEXT, true, "one two three"]);
    await raw.send(clientFrame(CLOSE, closePayload(1000, "bye")));
    const close = (await raw.frame())!;
    assert.deepEqual([close.opcode, close.code], [CLOSE, 1000]);
    assert.ok(await raw.closedByServer(), "the server closes the TCP connection after the close handshake");
    await raw.close();
  });
});

Deno.test("websocket: protocol errors close with 1002, bad UTF-8 with 1007 (fail fast, also across fragments), too big with 1009", async () => {
  // "κόσμε", then ED A0 80 (a surrogate, never valid UTF-8).
  const bad = concat(new TextEncoder().encode("κόσμε"), new Uint8Array([0xed, 0xa0, 0x80]));
  const cases: [string, Uint8Array[], number][] = [
    ["unmasked", [clientFrame(TEXT, "x", { mask: null })], 1002],
    ["RSV1 without an extension", [clientFrame(TEXT, "x", { rsv: 4 })], 1002],
    ["a reserved opcode", [clientFrame(0x3, "x")], 1002],
    ["a fragmented ping", [clientFrame(PING, "x", { fin: false })], 1002],
    ["a continuation without a message", [clientFrame(CONTINUATION, "x")], 1002],
    ["a close with a 1-byte payload", [clientFrame(CLOSE, new Uint8Array([3]))], 1002],
    ["a close with code 1005", [clientFrame(CLOSE, closePayload(1005))], 1002],
    ["invalid UTF-8 in one frame", [clientFrame(TEXT, bad)], 1007],
    // The bad sequence in the first fragment: refused before the message ends (no final fragment is ever sent).
    ["invalid UTF-8 in a first fragment", [clientFrame(TEXT, bad, { fin: false })], 1007],
    ["over maxMessageBytes", [clientFrame(BINARY, new Uint8Array(2000))], 1009],
  ];
  const stopped: string[] = [];
  const app: App = async function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse, { maxMessageBytes: 1024 });
    try {
      for (;;) {
        const message = yield* ws.receive();
        if (message === null) return;
        yield* ws.send(message);
      }
    } finally {
      stopped.push(`${ws.closeCode}`);
    }
  };
  await withServer(app, {}, async ({ port, errors }) => {
    for (const [what, frames, code] of cases) {
      const raw = await RawWebSocket.open(port, "/");
      await raw.send(...frames);
      const close = await raw.frame();
      assert.ok(close !== null && close.opcode === CLOSE, `${what}: a close frame`);
      assert.equal(close.code, code, `${what}: ${close.reason}`);
      assert.ok(close.reason.length > 0, `${what}: the close says why`);
      assert.ok(await raw.closedByServer(), `${what}: the server closes the connection`);
      await raw.close();
    }
    await until(() => stopped.length === cases.length, 2000, "every app to end");
    assert.deepEqual(stopped, cases.map(([, , code]) => String(code)));
    assert.deepEqual(errors, []);
  });
});

Deno.test("websocket: receive races a signal; a client that vanishes stops the app; a shutdown stops it and closes with 1001", async () => {
  const log: string[] = [];
  const app: App = async function* (environ, startResponse) {
    if (environ.PATH_INFO === "/announce") {
      yield new Signal("news", { news: "extra!" });
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      yield "announced";
      return;
    }
    const ws: ServerWebSocket = acceptWebSocket(environ, startResponse);
    try {
      for (;;) {
        const got = yield* new Race([ws.receive(), new WaitForSignal<{ news: string }>("news")]);
        if (got === null) return;
        if (typeof got === "object" && "news" in got) yield* ws.send(`news ${got.news}`);
        else yield* ws.send(`echo ${got}`);
      }
    } catch (error) {
      // The server shutting down throws ServerShutdown in: the app may still send a last word; its end closes (1001).
      log.push(`${environ.PATH_INFO} stopped by ${(error as Error).name}`);
      throw error;
    } finally {
      log.push(`${environ.PATH_INFO} ended ${ws.closeCode}`);
    }
  };
  const server = startServer(app);
  try {
    const a = await connect(server.port, "/a");
    const b = await RawWebSocket.open(server.port, "/b");
    const got = nextMessage(a);
    a.send("hi");
    assert.equal(new TextDecoder().decode((await got).data), "echo hi");
    const news = nextMessage(a);
    const announcer = await Client.connect(server.port);
    assert.ok(await announcer.write(`GET /announce HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    assert.equal((await announcer.response()).body, "announced");
    await announcer.close();
    assert.equal(new TextDecoder().decode((await news).data), "news extra!");
    assert.equal((await b.frame())!.text, "news extra!");
    // b vanishes without a close frame: its app is stopped.
    await b.close();
    await until(() => log.includes("/b ended 1006"), 3000, "b's app to stop");
    // Shutdown: a is closed with 1001, going away.
    const end = closed(a);
    await server.stop(2000);
    assert.equal((await end).code, 1001);
    assert.ok(log.includes("/a stopped by ServerShutdown"), log.join(", "));
  } finally {
    await server.stop();
  }
});

Deno.test("websocket: an idle client is pinged; one that does not answer is closed and its app stopped", async () => {
  const log: string[] = [];
  const app: App = async function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse, { idleTimeout: 150 });
    try {
      while ((yield* ws.receive()) !== null);
    } finally {
      log.push(`ended ${ws.closeCode} ${ws.closeReason}`);
    }
  };
  await withServer(app, {}, async ({ port }) => {
    const raw = await RawWebSocket.open(port, "/");
    const ping = (await raw.frame(1000))!;
    assert.equal(ping.opcode, PING);
    // Answered: it stays open, and is pinged again later.
    await raw.send(clientFrame(PONG, ping.payload));
    assert.equal((await raw.frame(1000))!.opcode, PING);
    // Not answered: closed.
    assert.ok(await raw.closedByServer(2000));
    await until(() => log.length === 1, 2000, "the app to stop");
    assert.equal(log[0], "ended 1006 no answer to a ping within 150 ms");
    await raw.close();
  });
});

Deno.test("websocket: send waits while the client does not read (backpressure)", async () => {
  let sent = 0;
  const app: App = async function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse, { highWaterMark: 64 * 1024 });
    const chunk = new Uint8Array(16 * 1024);
    for (let i = 0; i < 4096; i++) {
      yield* ws.send(chunk);
      sent++;
    }
  };
  await withServer(app, {}, async ({ port }) => {
    const client = await Client.connect(port);
    assert.ok(await client.write(upgradeRequest("/")));
    // The client reads nothing: the app gets only as far as the socket's buffers and the high-water mark allow.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(
      sent > 0 && sent < 1024,
      `sent ${sent} of 4096 messages of 16 KiB to a client that reads nothing`,
    );
    await client.close();
  });
});

Deno.test("websocket: 1,000 npm:ws clients at once, each echoed", async () => {
  await withServer(example, {}, async ({ port, errors }) => {
    const clients = await Promise.all(Array.from({ length: 1000 }, () => connect(port)));
    try {
      const echoes = await Promise.all(clients.map((ws: WebSocketClient, i: number) => {
        const got = nextMessage(ws);
        ws.send(`client ${i}`);
        return got;
      }));
      echoes.forEach((message, i) => assert.equal(new TextDecoder().decode(message.data), `client ${i}`));
      await Promise.all(clients.map((ws) => {
        const end = closed(ws);
        ws.close(1000);
        return end;
      }));
    } finally {
      for (const ws of clients) ws.terminate();
    }
    assert.deepEqual(errors, []);
  });
});

Deno.test("websocket: over TLS (wss://) with npm:ws, the same echo", async () => {
  const { cert, key } = await testCertificate();
  await withServer(example, { cert, key }, async ({ port, errors }) => {
    const ws = new WebSocketClient(`wss://localhost:${port}/ws`, { ca: cert });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    try {
      const got = nextMessage(ws);
      ws.send("secret");
      assert.equal(new TextDecoder().decode((await got).data), "secret");
      const end = closed(ws);
      ws.close(1000);
      assert.equal((await end).code, 1000);
    } finally {
      ws.terminate();
    }
    assert.deepEqual(errors, []);
  });
});

Deno.test("websocket: 101 only through acceptWebSocket; a host that cannot switch says so", async () => {
  const direct: App = (_environ, startResponse) => {
    startResponse("101 Switching Protocols", [["Upgrade", "websocket"]]);
    return [];
  };
  await withServer(direct, {}, async ({ port, errors }) => {
    const client = await Client.connect(port);
    assert.ok(await client.write(upgradeRequest("/")));
    assert.equal((await client.response()).status, 500);
    await client.close();
    assert.match(String(errors[0].error), /101 Switching Protocols through acceptWebSocket/);
  });
  const environ = {
    REQUEST_METHOD: "GET",
    SERVER_PROTOCOL: "HTTP/1.1",
    HTTP_UPGRADE: "websocket",
    HTTP_CONNECTION: "Upgrade",
    HTTP_SEC_WEBSOCKET_KEY: "dGhlIHNhbXBsZSBub25jZQ==",
    HTTP_SEC_WEBSOCKET_VERSION: "13",
  } as unknown as Parameters<App>[0];
  assert.throws(
    () => acceptWebSocket(environ, () => () => {}),
    /acceptWebSocket: this host cannot switch the connection to WebSocket \(environ has no cogen.websocket\)/,
  );
});

Deno.test("websocket: a message and the close in one write: the echo goes out before the close; a leading U+FEFF is kept", async () => {
  await withServer(example, {}, async ({ port }) => {
    const raw = await RawWebSocket.open(port);
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]);
    await raw.send(
      clientFrame(TEXT, bom),
      clientFrame(TEXT, "Hello World!"),
      clientFrame(CLOSE, closePayload(1000)),
    );
    const first = (await raw.frame())!;
    assert.deepEqual([first.opcode, [...first.payload]], [TEXT, [...bom]]);
    assert.equal((await raw.frame())!.text, "Hello World!");
    const close = (await raw.frame())!;
    assert.deepEqual([close.opcode, close.code], [CLOSE, 1000]);
    assert.ok(await raw.closedByServer());
    await raw.close();
    // A fragmented message, then a continuation with nothing to continue: the message is echoed, then 1002.
    const broken = await RawWebSocket.open(port);
    await broken.send(
      clientFrame(TEXT, "fragment1", { fin: false }),
      clientFrame(CONTINUATION, "fragment2"),
      clientFrame(CONTINUATION, "nothing to continue", { fin: false }),
    );
    assert.equal((await broken.frame())!.text, "fragment1fragment2");
    assert.equal((await broken.frame())!.code, 1002);
    await broken.close();
  });
});

Deno.test("websocket: an answer other than 101 leaves the connection to HTTP, and closes it after", async () => {
  const app: App = (environ, startResponse) => {
    acceptWebSocket(environ, startResponse);
    throw new HttpError(403, "not for you");
  };
  await withServer(app, {}, async ({ port }) => {
    const client = await Client.connect(port);
    // A second request right behind: it is not read as WebSocket frames.
    assert.ok(await client.write(upgradeRequest("/") + `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    const response = await client.response();
    assert.equal(response.status, 403);
    assert.equal(response.body, "403 Forbidden\nnot for you\n");
    const rest = await client.readUntilClose(2000);
    assert.ok(rest.closed, "the connection closes after the answer");
    assert.equal(rest.text, "", "nothing else is sent");
    await client.close();
  });
});

Deno.test("websocket: the close handshake is prompt while reading waits for the app; an app that fails closes with 1011; one that only sends is stopped after the close", async () => {
  let sendOnlyEnded = false;
  const app: App = function* (environ, startResponse) {
    const ws = acceptWebSocket(environ, startResponse);
    if (environ.PATH_INFO === "/ignore") {
      yield new Sleep(100); // 64 messages and more arrive meanwhile; reading pauses
      yield* ws.close();
      return;
    }
    if (environ.PATH_INFO === "/fail") {
      yield* ws.send("hello");
      throw new Error("the app broke");
    }
    try {
      for (;;) {
        yield* ws.send("tick");
        yield new Sleep(20);
      }
    } finally {
      sendOnlyEnded = true;
    }
  };
  await withServer(app, {}, async ({ port, errors }) => {
    const paused = await RawWebSocket.open(port, "/ignore");
    await paused.send(...Array.from({ length: 100 }, (_, i) => clientFrame(TEXT, `m${i}`)));
    const close = (await paused.frame())!;
    assert.equal(close.code, 1000);
    const sent = Date.now();
    await paused.send(clientFrame(CLOSE, closePayload(1000)));
    assert.ok(await paused.closedByServer(1500));
    assert.ok(Date.now() - sent < 1000, "the client's close was read at once");
    await paused.close();

    const failing = await RawWebSocket.open(port, "/fail");
    assert.equal((await failing.frame())!.text, "hello");
    assert.equal((await failing.frame())!.code, 1011);
    await failing.close();
    assert.match(String(errors.at(-1)?.error), /the app broke/);

    const ticker = await RawWebSocket.open(port, "/tick");
    assert.equal((await ticker.frame())!.text, "tick");
    await ticker.send(clientFrame(CLOSE, closePayload(1000)));
    await until(() => sendOnlyEnded, 3000, "the send-only app to be stopped after the close");
    await ticker.close();
  });
});
