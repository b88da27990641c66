/**
 * What the CLI tests share: app files written to a temporary folder, the
 * real CLI run as a child process (`deno run -A cli.ts …`) whose output is
 * collected line by line, and one raw HTTP request at a time.
 *
 * @module
 */
import { get, HOST, responseTo } from "../http.ts";

/** The CLI's entry point. */
export const CLI = new URL("../../cli.ts", import.meta.url).pathname;
/** `core/mod.ts`, for app files that need operations. */
export const CORE = new URL("../../core/mod.ts", import.meta.url).href;
/** `wsgi/mod.ts`, for app files that need the server's errors. */
export const WSGI = new URL("../../wsgi/mod.ts", import.meta.url).href;

/**
 * A temporary folder of app files, removed with everything in it when the
 * test lets go of it (`await using dir = await appFolder(…)`). It reads as its
 * path in a template string: `${dir}/app.ts`.
 */
export class AppFolder implements AsyncDisposable {
  constructor(readonly path: string) {}

  toString(): string {
    return this.path;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.path, { recursive: true });
  }
}

/** Writes app files (name → source) to a new temporary folder; returns the folder. */
export async function appFolder(files: Record<string, string>): Promise<AppFolder> {
  const path = await Deno.makeTempDir({ prefix: "cogen-cli-" });
  for (const [name, source] of Object.entries(files)) await Deno.writeTextFile(`${path}/${name}`, source);
  return new AppFolder(path);
}

/** The CLI running in a child process. */
export class RunningCli {
  readonly child: Deno.ChildProcess;
  /** Every line it printed, in order (stdout and stderr apart). */
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly #read: Promise<void>;

  constructor(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args],
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#read = Promise.all([lines(this.child.stdout, this.stdout), lines(this.child.stderr, this.stderr)])
      .then(() => {});
  }

  /** The worker pids the supervisor announced, in order (`worker N (pid P) listening on …`). */
  get announcedPids(): number[] {
    return this.stdout.flatMap((line) => {
      const match = line.match(/^cogen: worker \d+ \(pid (\d+)\) listening on /);
      return match ? [Number(match[1])] : [];
    });
  }

  /** Waits until `check` holds of the output (or the CLI exits, or `timeout` ms pass). */
  async until(check: () => boolean, what: string, timeout = 15_000): Promise<void> {
    const deadline = Date.now() + timeout;
    let exited = false;
    this.child.status.then(() => exited = true);
    while (!check()) {
      if (exited) throw new Error(`the CLI exited before ${what}:\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${this.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends a signal to the supervisor. */
  signal(name: Deno.Signal): void {
    this.child.kill(name);
  }

  /** Waits for the CLI to exit; returns its status once all its output was read. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#read;
    return status;
  }

  /** Stops it (SIGTERM, then SIGKILL after `grace` ms) and waits for it and every worker to be gone. */
  async stop(grace = 10_000): Promise<Deno.CommandStatus> {
    const pids = this.announcedPids;
    try {
      this.child.kill("SIGTERM");
    } catch {
      // It exited already.
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // It exited meanwhile.
      }
    }, grace);
    const status = await this.exited();
    clearTimeout(timer);
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL"); // a worker outliving its supervisor is a failure the tests see by its absence
      } catch {
        // Gone, as it should be.
      }
    }
    return status;
  }

  /** All it printed, for failure messages. */
  output(): string {
    return `stdout:\n${this.stdout.join("\n")}\nstderr:\n${this.stderr.join("\n")}`;
  }
}

/** Collects the lines of `stream` into `into`. */
async function lines(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = parts.pop()!;
    into.push(...parts);
  }
  if (rest !== "") into.push(rest);
}

/** `GET path` on a fresh connection to 127.0.0.1:`port`: the status and body. */
export async function fetchText(port: number, path = "/"): Promise<{ status: number; body: string }> {
  const response = await responseTo(port, get(path, { host: HOST }), { timeout: 5000 });
  return { status: response.status, body: response.body };
}

/** A free TCP port on 127.0.0.1 (free when this returns). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether process `pid` is alive. */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
