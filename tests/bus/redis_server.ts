/**
 * A real `redis-server` for a test: on a free loopback port, without
 * persistence (`--save "" --appendonly no`), stopped (or killed, to test an
 * outage) by its pid, and started again on the same port.
 *
 * @module
 */
import { freePort } from "../cli/run_cli.ts";

/** A redis-server the test started. */
export class RedisServer {
  readonly port: number;
  readonly #args: string[];
  #child: Deno.ChildProcess | null = null;

  private constructor(port: number, args: string[]) {
    this.port = port;
    this.#args = args;
  }

  /** Starts one on a free port (`extra` are more `redis-server` arguments); resolves once it answers. */
  static async start(extra: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(freePort(), extra);
    await server.restart();
    return server;
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again), on the same port; resolves once it answers PING. */
  async restart(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        ...this.#args,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(64);
        const n = await conn.read(buf);
        conn.close();
        const reply = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        if (reply.startsWith("+PONG") || reply.startsWith("-NOAUTH")) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills it at once (SIGKILL): an outage. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await child.status;
  }

  /** Stops it for good. */
  stop(): Promise<void> {
    return this.kill();
  }
}
