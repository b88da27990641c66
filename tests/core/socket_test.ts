import assert from "node:assert/strict";
import {
  LineTooLong,
  OperationTimeout,
  Race,
  Scheduler,
  Sleep,
  Socket,
  type SocketListener,
} from "../../core/mod.ts";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

/** A listener on 127.0.0.1 and a raw Deno client connected to it. */
async function pair(): Promise<{ server: SocketListener; client: Deno.Conn; sched: Scheduler }> {
  const server = Socket.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  return { server, client, sched: new Scheduler() };
}

async function send(conn: Deno.Conn, data: string): Promise<void> {
  const bytes = new TextEncoder().encode(data);
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

Deno.test("Socket: accept, readline, read, write and EOF over TCP", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept({ timeout: 2000 });
    const first = text(yield* sock.readline(100));
    const second = text(yield* sock.readline(100));
    const rest = text(yield* sock.read(100));
    const eof = yield* sock.read(100);
    const n = yield* sock.write("bye");
    sock.close();
    return { first, second, rest, eofLength: eof.length, n, closed: sock.closed };
  });
  const run = sched.run();
  await send(client, "one\ntwo\nthree");
  await client.closeWrite();
  const reply = new Uint8Array(10);
  const got = await client.read(reply);
  await run;
  assert.deepEqual(task.result, {
    first: "one\n",
    second: "two\n",
    rest: "three",
    eofLength: 0,
    n: 3,
    closed: true,
  });
  assert.equal(text(reply.subarray(0, got!)), "bye");
  client.close();
  server.close();
});

Deno.test("Socket: readline at EOF returns the partial last line, then an empty line", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept();
    const lines = [text(yield* sock.readline()), text(yield* sock.readline())];
    sock.close();
    return lines;
  });
  const run = sched.run();
  await send(client, "tail");
  await client.closeWrite();
  await run;
  assert.deepEqual(task.result, ["tail", ""]);
  client.close();
  server.close();
});

Deno.test("Socket: readline past its limit throws LineTooLong and keeps the bytes", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept();
    let error: unknown;
    try {
      yield* sock.readline(4);
    } catch (err) {
      error = err;
    }
    const kept = text(yield* sock.readline(100));
    sock.close();
    return { error, kept };
  });
  const run = sched.run();
  await send(client, "abcdefgh\n");
  await run;
  const { error, kept } = task.result!;
  assert.ok(error instanceof LineTooLong);
  assert.match((error as Error).message, /no line end within 4 bytes/);
  assert.equal(kept, "abcdefgh\n");
  client.close();
  server.close();
});

Deno.test("Socket: a weak timeout restarts while data trickles in, and fires on silence", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept();
    // 5 bytes, 40 ms apart: 160 ms in all, but never 100 ms without data.
    const line = text(yield* sock.readline(100, { timeout: 100 }));
    let timedOut = false;
    try {
      yield* sock.readline(100, { timeout: 100 });
    } catch (err) {
      timedOut = err instanceof OperationTimeout;
    }
    sock.close();
    return { line, timedOut };
  });
  const run = sched.run();
  for (const ch of "abcd\n") {
    await send(client, ch);
    await new Promise((r) => setTimeout(r, 40));
  }
  await run;
  assert.deepEqual(task.result, { line: "abcd\n", timedOut: true });
  client.close();
  server.close();
});

Deno.test("Socket: a read abandoned by a Race loses no data", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept();
    const raced = yield* new Race([sock.read(100), new Sleep(20)]);
    const next = text(yield* sock.read(100, { timeout: 2000 }));
    sock.close();
    return { raced, next };
  });
  const run = sched.run();
  await new Promise((r) => setTimeout(r, 60));
  await send(client, "late data");
  await run;
  assert.deepEqual(task.result, { raced: undefined, next: "late data" });
  client.close();
  server.close();
});

Deno.test("Socket: cancelling a task blocked in read runs its finally; the socket keeps the data", async () => {
  const { server, client, sched } = await pair();
  let sock: Socket | undefined;
  const log: string[] = [];
  const reader = sched.add(function* () {
    sock = yield* server.accept();
    try {
      yield* sock.read(100);
      log.push("read returned");
    } finally {
      log.push("finally");
    }
  });
  const run = sched.run();
  while (sock === undefined) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 10));
  await reader.cancel();
  assert.equal(reader.state, "cancelled");
  assert.deepEqual(log, ["finally"]);
  await send(client, "kept");
  const after = sched.add(function* () {
    const data = text(yield* sock!.read(100, { timeout: 2000 }));
    sock!.close();
    return data;
  });
  await run;
  await sched.run();
  assert.equal(after.result, "kept");
  client.close();
  server.close();
});

Deno.test("SocketListener: an accept that timed out hands its connection to the next accept", async () => {
  const server = Socket.listen({ hostname: "127.0.0.1", port: 0 });
  const sched = new Scheduler();
  let client: Deno.Conn | undefined;
  const task = sched.add(function* () {
    let timedOut = false;
    try {
      yield* server.accept({ timeout: 20 });
    } catch (err) {
      timedOut = err instanceof OperationTimeout;
    }
    client = yield Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const sock = yield* server.accept({ timeout: 2000 });
    sock.close();
    return timedOut;
  });
  await sched.run();
  assert.equal(task.result, true);
  client!.close();
  server.close();
});

Deno.test("Socket: connect, and sendFile of a byte range", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "0123456789abcdef");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sched = new Scheduler();
  const task = sched.add(function* () {
    const sock = yield* Socket.connect({ hostname: "127.0.0.1", port: listener.addr.port }, {
      timeout: 2000,
    });
    const file = yield Deno.open(path);
    try {
      return yield* sock.sendFile(file, { offset: 4, length: 6, blockSize: 4 });
    } finally {
      file.close();
      sock.close();
    }
  });
  const run = sched.run();
  const conn = await listener.accept();
  const chunks: string[] = [];
  const buf = new Uint8Array(64);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    chunks.push(text(buf.subarray(0, n)));
  }
  await run;
  assert.equal(task.result, 6);
  assert.equal(chunks.join(""), "456789");
  conn.close();
  listener.close();
  await Deno.remove(path);
});

Deno.test("Socket: a write that times out throws OperationTimeout and closes the socket", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept();
    let timedOut = false;
    try {
      // The client never reads: the kernel buffers fill and the write stalls.
      yield* sock.write(new Uint8Array(64 * 1024 * 1024), { timeout: 100 });
    } catch (err) {
      timedOut = err instanceof OperationTimeout;
    }
    return { timedOut, closed: sock.closed };
  });
  await sched.run();
  assert.deepEqual(task.result, { timedOut: true, closed: true });
  client.close();
  server.close();
});

Deno.test("Socket: Unix sockets via { path }", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cogen.sock`;
  const server = Socket.listen({ path });
  const sched = new Scheduler();
  sched.add(function* () {
    const sock = yield* server.accept({ timeout: 2000 });
    yield* sock.write(yield* sock.readline());
    sock.close();
  });
  const client = sched.add(function* () {
    const sock = yield* Socket.connect({ path }, { timeout: 2000 });
    yield* sock.write("over unix\n");
    const line = text(yield* sock.readline());
    sock.close();
    return line;
  });
  await sched.run();
  assert.equal(client.result, "over unix\n");
  server.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Socket: bad arguments are refused with a message naming them", () => {
  const conn = { close() {} } as unknown as Deno.Conn;
  assert.throws(() => new Socket(conn, { bufferSize: 0 }), /bufferSize must be an integer >= 1, got 0/);
  assert.throws(() => new Socket(conn, { timeout: -5 }), /timeout must be a number of ms >= -1/);
  const sock = new Socket(conn);
  assert.throws(() => sock.read(0), /Socket.read: n must be an integer >= 1, got 0/);
  assert.throws(() => sock.readline(-1), /limit must be an integer >= 1, got -1/);
  const file = {} as Deno.FsFile;
  assert.throws(() => sock.sendFile(file, { offset: -1 }), /offset must be an integer >= 0, got -1/);
  assert.throws(() => sock.sendFile(file, { blockSize: 0 }), /blockSize must be an integer >= 1, got 0/);
});

Deno.test("Socket: consuming everything while a read is under way keeps that read's bytes in place", async () => {
  const { server, client, sched } = await pair();
  const task = sched.add(function* () {
    const sock = yield* server.accept();
    yield* sock.read(1); // "a" read, "bc" still buffered
    const pending = sock.fill(); // a read under way, writing after "bc"
    sock.consume(sock.buffered().length); // everything buffered consumed meanwhile
    yield pending;
    const next = text(sock.buffered());
    sock.close();
    return next;
  });
  const run = sched.run();
  await send(client, "abc");
  await new Promise((r) => setTimeout(r, 20));
  await send(client, "late");
  await run;
  assert.equal(task.result, "late");
  client.close();
  server.close();
});

/** A raw listener on 127.0.0.1, a client connected to it, and the accepted side as a Socket. */
async function accepted(): Promise<{ listener: Deno.TcpListener; client: Deno.TcpConn; sock: Socket }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  return { listener, client, sock: new Socket(await listener.accept()) };
}

/** Resolves with what `sock.watchWith` tells its watcher. */
function watchOnce(sock: Socket): Promise<boolean> {
  return new Promise((resolve) => sock.watchWith({ watched: resolve }));
}

Deno.test("Socket.watchWith: tells the watcher of bytes (kept in the buffer) and of the peer leaving", async () => {
  const { listener, client, sock } = await accepted();
  try {
    let watched = watchOnce(sock);
    await send(client, "GET / HTTP/1.1\r\n");
    assert.equal(await watched, true);
    assert.equal(text(sock.buffer.subarray(sock.start, sock.end)), "GET / HTTP/1.1\r\n");
    // With bytes buffered, the watch is an ordinary read after them.
    watched = watchOnce(sock);
    await send(client, "Host: x\r\n");
    assert.equal(await watched, true);
    assert.equal(text(sock.buffer.subarray(sock.start, sock.end)), "GET / HTTP/1.1\r\nHost: x\r\n");
    sock.consume(sock.end - sock.start);
    watched = watchOnce(sock);
    client.close();
    assert.equal(await watched, false);
    assert.equal(sock.eof, true);
  } finally {
    sock.close();
    listener.close();
  }
});

Deno.test("Socket.watchWith: a watched read that fails (the socket closed under it) tells the watcher false", async () => {
  const { listener, client, sock } = await accepted();
  try {
    const watched = watchOnce(sock);
    sock.close(); // the pending read fails; no rejection may go unhandled (the test would fail)
    assert.equal(await watched, false);
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    client.close();
    listener.close();
  }
});

Deno.test("Socket.watchWith: watched reads share slabs, yet each keeps exactly its own bytes", async () => {
  // 150 watched sockets (more than one 4 KiB slab of 64-byte views): every client sends at once, so
  // the reads complete together; each socket must hold its own bytes, whole, and nobody else's.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs: { client: Deno.TcpConn; sock: Socket }[] = [];
  try {
    for (let i = 0; i < 150; i++) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      pairs.push({ client, sock: new Socket(await listener.accept()) });
    }
    const watched = pairs.map(({ sock }) => watchOnce(sock));
    const sent = pairs.map((_, i) => `client ${i}: ${"x".repeat(i % 60)}\n`);
    await Promise.all(pairs.map(({ client }, i) => send(client, sent[i])));
    assert.deepEqual(await Promise.all(watched), pairs.map(() => true));
    for (const [i, { sock }] of pairs.entries()) {
      // A watch read takes at most 64 bytes; the rest follows with an ordinary read.
      while (sock.end - sock.start < new TextEncoder().encode(sent[i]).length) await sock.fill();
      assert.equal(text(sock.buffer.subarray(sock.start, sock.end)), sent[i]);
    }
  } finally {
    for (const { client, sock } of pairs) {
      client.close();
      sock.close();
    }
    listener.close();
  }
});
