/**
 * Accepting when the process is out of file descriptors: the server (a
 * child process limited to 128 open files) gets 300 connections at once.
 * It must keep running, say so in one short line, and serve again once the
 * clients leave and descriptors free up.
 */
import assert from "node:assert/strict";
import { Client, HOST } from "../http.ts";

Deno.test("accept: out of file descriptors, the server keeps running, logs one line, and serves again", async () => {
  const hello = new URL("../../examples/hello.ts", import.meta.url).pathname;
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -n 128 && exec "$0" run -A "$1"`, Deno.execPath(), hello],
    env: { HOST, PORT: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const clients: Deno.Conn[] = [];
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/listening on/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the server exited: ${await stderr}`);
      out += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    const port = Number(out.match(/:(\d+)\//)![1]);
    for (let i = 0; i < 300; i++) clients.push(await Deno.connect({ hostname: HOST, port }));
    // Time for the server to take what it can and run out.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const conn of clients) conn.close();
    clients.length = 0;
    // Once the clients are gone, a new one is served (within the longest accept pause and then some).
    const client = await Client.connect(port);
    assert.ok(await client.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    const response = await client.response("GET", 5000);
    assert.equal(response.status, 200);
    assert.equal(response.text, "Hello, World!");
    await client.close();
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    const log = await stderr;
    const lines = log.split("\n").filter((line) => line.startsWith("cogen: accept:"));
    assert.ok(lines.length >= 1, `the failure is said: ${log}`);
    assert.match(lines[0], /^cogen: accept: .*open files.*ulimit -n\)$/);
    assert.ok(!/panicked|\n\s+at /.test(log), `no panic, no stack: ${log}`);
  } finally {
    for (const conn of clients) conn.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited.
    }
    await child.status;
  }
});
