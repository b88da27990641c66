/**
 * SIGTERM and SIGINT on the examples (`deno task start` runs the demo): each
 * runs in a child process. On the signal the server stops accepting, closes
 * an idle keep-alive connection at once, answers a held long poll in full
 * (503: the chat's poll lets the shutdown error through) and exits 0, long
 * before its 10 s deadline.
 */
import assert from "node:assert/strict";
import { Client, HOST } from "../http.ts";

/** An example running in a child process, and the port it listens on. */
interface Running {
  child: Deno.ChildProcess;
  port: number;
  /** Everything it printed on stderr, once it has exited. */
  stderr: Promise<string>;
}

async function start(example: string): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../../examples/${example}`, import.meta.url).pathname],
    env: { HOST, PORT: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  try {
    for (;;) {
      const match = out.match(/listening on http:\/\/[^:]+:(\d+)\//);
      if (match) return { child, port: Number(match[1]), stderr };
      const { value, done } = await reader.read();
      if (done) throw new Error(`${example} exited before listening: ${out}${await stderr}`);
      out += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`signals: ${signal} on the demo answers the held long poll, closes idle connections, exits 0 at once`, async () => {
    const { child, port, stderr } = await start("demo.ts");
    try {
      // An idle keep-alive connection (one request answered), and a held long poll.
      const idle = await Client.connect(port);
      assert.ok(await idle.write(`GET /hello HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      assert.equal((await idle.response()).status, 200);
      const poll = await Client.connect(port);
      assert.ok(await poll.write(`GET /chat/poll HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the poll is parked
      assert.equal(poll.received, "", "the poll waits");
      const sent = Date.now();
      child.kill(signal);
      const answer = await poll.response("GET", 3000);
      assert.equal(answer.status, 503, "the held poll gets a complete answer");
      assert.match(answer.text, /^503 Service Unavailable\n/);
      assert.ok((await idle.readUntilClose(3000)).closed, "the idle connection is closed");
      const status = await child.status;
      assert.equal(status.code, 0, `exit code 0 (stderr: ${await stderr})`);
      assert.ok(Date.now() - sent < 3000, `it exits long before the deadline (${Date.now() - sent} ms)`);
      assert.match(await stderr, new RegExp(`cogen: ${signal}: shutting down`));
      await idle.close();
      await poll.close();
      // It no longer listens.
      await assert.rejects(Deno.connect({ hostname: HOST, port }));
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // It exited.
      }
      await child.status;
    }
  });
}

Deno.test("signals: SIGTERM on an example with nothing in flight exits 0", async () => {
  const { child, stderr } = await start("hello.ts");
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0, await stderr);
});
