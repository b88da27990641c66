/**
 * The servers the HTTP sections compare, each started in its own
 * subprocess on 127.0.0.1 with a port of its own choosing (`PORT=0`; the
 * port is read from the `listening on http://HOST:PORT/` line every server
 * prints), with the open-files limit raised, and stopped by pid:
 *
 * | server       | hello (and tls)         | transfer                    | longpoll                   |
 * | ------------ | ----------------------- | --------------------------- | -------------------------- |
 * | `ours`       | `deno run -A examples/hello.ts` | `deno run -A bench/servers/ours.ts` | `deno run -A examples/longpoll.ts` |
 * | `deno`       | `deno run -A bench/servers/deno_serve.ts` (`APP=…`) | same | same |
 * | `node`       | `node bench/servers/node_http.mjs` (`APP=…`) | same | same |
 * | `floor`      | `deno run -A bench/servers/deno_listen_floor.ts` (`APP=…`) | — | same |
 * | `floorWsgi`  | — | — | `deno run -A bench/servers/deno_listen_floor.ts --shape=wsgi` |
 *
 * The `tls` section runs the hello servers over HTTPS: `CERT_FILE` and
 * `KEY_FILE` in their environment (see {@linkcode StartOptions.env}).
 *
 * `node:http` runs under Node itself (`node`, checked to be Node.js: see
 * {@linkcode findNode}), not under Deno's Node compatibility layer (which
 * `bench/conformance.ts` uses, because there only the protocol behaviour
 * matters): for speed and memory, Node is what a `node:http` server runs on.
 *
 * @module
 */
import { spawnTracked, stopChild, withOpenFiles } from "./subprocess.ts";

/**
 * The servers compared, in the order they take turns within a round. The
 * last two are not servers: `floor` is the least a program on `Deno.listen`
 * can do for the contract (`bench/servers/deno_listen_floor.ts`), and shows
 * how close to it ours comes, for the sections it can run; `floorWsgi`
 * (`longpoll` only) is that floor plus what the WSGI contract itself keeps
 * per held request, an environ and a suspended generator app.
 */
export const SERVERS = ["ours", "deno", "node", "floor", "floorWsgi"] as const;
/**
 * The servers of the `workers` section, each on every core of the machine
 * in its own way: ours through the CLI with one and with
 * {@linkcode WORKERS} workers, `deno serve --parallel` (threads) and node's
 * `cluster` (processes).
 */
export const MULTI_SERVERS = ["ours1", "oursN", "denoParallel", "nodeCluster"] as const;
/** One of {@linkcode SERVERS} or {@linkcode MULTI_SERVERS}. */
export type ServerName = typeof SERVERS[number] | typeof MULTI_SERVERS[number];
/** Workers of the multi-process servers: one per core. */
export const WORKERS: number = navigator.hardwareConcurrency;
/** Their names in tables. */
export const SERVER_TITLE: Record<ServerName, string> = {
  ours: "ours",
  deno: "Deno.serve",
  node: "node:http",
  floor: "Deno.listen floor",
  floorWsgi: "WSGI-shape floor",
  ours1: "ours, 1 worker",
  oursN: `ours, ${WORKERS} workers`,
  denoParallel: `deno serve --parallel (${WORKERS})`,
  nodeCluster: `node cluster (${WORKERS})`,
};

/** The app a server runs: one per section (`workers` is `hello` on every core, `tls` is `hello` over HTTPS). */
export type ServerApp = "hello" | "transfer" | "longpoll" | "workers" | "tls";

/**
 * The servers a section compares: the floor has no `transfer` (it parses no
 * bodies), and its WSGI shape is for `longpoll` only (what a held request
 * keeps).
 */
export function serversFor(app: ServerApp): readonly ServerName[] {
  if (app === "workers") return MULTI_SERVERS;
  if (app === "longpoll") return SERVERS;
  return SERVERS.filter((s) => s !== "floorWsgi" && (app !== "transfer" || s !== "floor"));
}

/** Node.js as found on PATH: its executable and version. */
export interface NodeInfo {
  /** The executable (`process.execPath`). */
  path: string;
  /** `process.version`, e.g. `v20.20.2`. */
  version: string;
}

let node: Promise<NodeInfo> | undefined;

/**
 * Finds Node.js on PATH, and makes sure it is Node: when `node` is missing,
 * Deno puts its own Node-compatible shim on its subprocesses' PATH, which
 * would silently measure Deno again. Rejects, saying what to install, when
 * there is no real Node.
 */
export function findNode(): Promise<NodeInfo> {
  return node ??= (async () => {
    const script = "process.stdout.write(typeof Deno === 'undefined' ? " +
      "JSON.stringify({ path: process.execPath, version: process.version }) : 'deno')";
    let text: string;
    try {
      const out = await new Deno.Command("node", { args: ["-e", script], stdout: "piped", stderr: "null" })
        .output();
      text = new TextDecoder().decode(out.stdout);
    } catch {
      text = "";
    }
    if (text === "deno") {
      throw new Error("`node` on PATH is Deno's Node compatibility shim, not Node.js: install Node.js");
    }
    try {
      return JSON.parse(text) as NodeInfo;
    } catch {
      throw new Error("Node.js is not installed (or `node` is not on PATH): install it to compare node:http");
    }
  })();
}

/** "Node.js v20.20.2 (`/usr/bin/node`)", or why there is none: for the notes under the tables. */
export async function nodeTitle(): Promise<string> {
  try {
    const { path, version } = await findNode();
    return `Node.js ${version} (\`${path}\`)`;
  } catch (error) {
    return `Node.js, which was not found (${error instanceof Error ? error.message : error})`;
  }
}

/** The command line that runs `name` with `app` (relative to the repository root). */
export async function serverCommand(name: ServerName, app: ServerApp): Promise<[string, string[]]> {
  if (name === "node") return [(await findNode()).path, ["bench/servers/node_http.mjs"]];
  if (name === "nodeCluster") return [(await findNode()).path, ["bench/servers/node_cluster.mjs"]];
  if (name === "ours1" || name === "oursN") {
    const workers = name === "ours1" ? 1 : WORKERS;
    return [Deno.execPath(), ["run", "-A", "cli.ts", "examples/hello.ts:hello", "-w", String(workers)]];
  }
  if (name === "denoParallel") {
    return [Deno.execPath(), [
      "serve",
      "--parallel",
      "-A",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "bench/servers/deno_serve_parallel.ts",
    ]];
  }
  if (name === "floor" && app === "transfer") throw new Error("the Deno.listen floor has no transfer app");
  if (name === "floorWsgi") {
    if (app !== "longpoll") throw new Error("the WSGI-shape floor has only the longpoll app");
    return [Deno.execPath(), ["run", "-A", "bench/servers/deno_listen_floor.ts", "--shape=wsgi"]];
  }
  const file = name === "deno"
    ? "bench/servers/deno_serve.ts"
    : name === "floor"
    ? "bench/servers/deno_listen_floor.ts"
    : {
      hello: "examples/hello.ts",
      workers: "examples/hello.ts",
      tls: "examples/hello.ts",
      transfer: "bench/servers/ours.ts",
      longpoll: "examples/longpoll.ts",
    }[app];
  return [Deno.execPath(), ["run", "-A", file]];
}

/** A running server. */
export interface ServerProcess {
  /** Which server. */
  name: ServerName;
  /** Its process id (the server itself: the shell that raised the limit `exec`ed it). */
  pid: number;
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  /**
   * Stops it: SIGTERM, then SIGKILL after `graceMs`. Resolves with the
   * requests it says it served (`served N` on its stdout: the servers in
   * `bench/servers/` do, ours does not) and the end of its stderr.
   */
  stop(graceMs?: number): Promise<{ served?: number; stderr: string }>;
}

/** Keeps the last `max` characters written to a stream, line by line, and reports lines as they come. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  tail: { text: string },
  max = 4000,
): Promise<void> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let eol: number;
    while ((eol = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, eol);
      pending = pending.slice(eol + 1);
      onLine(line);
      tail.text = (tail.text + line + "\n").slice(-max);
    }
  }
  if (pending) {
    onLine(pending);
    tail.text = (tail.text + pending).slice(-max);
  }
}

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Ms to wait for its `listening on` line. Default 30 000. */
  timeoutMs?: number;
  /** More environment for it (the `tls` section's `CERT_FILE` and `KEY_FILE`). */
  env?: Record<string, string>;
}

/**
 * Starts server `name` running `app` and resolves once it listens. Throws,
 * with the end of its stderr, if it exits first or does not listen within
 * `timeoutMs`; it is then stopped.
 */
export async function startServer(
  name: ServerName,
  app: ServerApp,
  options: StartOptions = {},
): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const [cmd, args] = withOpenFiles(...await serverCommand(name, app));
  const env: Record<string, string> = {
    HOST: "127.0.0.1",
    PORT: "0",
    APP: app === "workers" || app === "tls" ? "hello" : app,
    // Empty unless the section asks for TLS: files named in the bench's own environment must not leak in.
    CERT_FILE: "",
    KEY_FILE: "",
    ...options.env,
  };
  // The scheme the server must announce: a section over TLS gets an `https://` line, every other an `http://`.
  const scheme = env.CERT_FILE !== "" ? "https" : "http";
  const child = spawnTracked(cmd, args, { env });
  const stdout = { text: "" };
  const stderr = { text: "" };
  const listening = Promise.withResolvers<number>();
  let served: number | undefined;
  /** A `listening on` line: its port, if its scheme is the one expected. */
  const announced = (line: string) => {
    const match = /\b[Ll]istening on (https?):\/\/[^:/]+:(\d+)\//.exec(line);
    if (match === null) return;
    if (match[1] === scheme) listening.resolve(Number(match[2]));
    else listening.reject(new Error(`${SERVER_TITLE[name]} listens on ${match[1]}://, not ${scheme}://`));
  };
  const drained = Promise.all([
    drain(child.stdout, (line) => {
      // `listening on http://…` (the CLI prints it once per worker, `deno serve` as `Listening on …`).
      announced(line);
      const count = /^served (\d+)$/.exec(line)?.[1];
      if (count !== undefined) served = Number(count);
    }, stdout),
    // `deno serve` says where it listens on stderr.
    drain(child.stderr, (line) => {
      announced(line);
    }, stderr),
  ]).catch(() => {});
  const stop = async (graceMs = 3000) => {
    await stopChild(child, graceMs);
    await drained;
    return { served, stderr: stderr.text.trim() };
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const port = await Promise.race([
      listening.promise,
      child.status.then((s) => {
        throw new Error(`${SERVER_TITLE[name]} exited with code ${s.code} before listening`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${SERVER_TITLE[name]} did not listen within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    return { name, pid: child.pid, port, stop };
  } catch (error) {
    const { stderr: tail } = await stop(0);
    const last = tail.split("\n").slice(-5).join(" | ");
    throw new Error(`${error instanceof Error ? error.message : error}${last ? `: ${last}` : ""}`);
  } finally {
    clearTimeout(timer);
  }
}
