/**
 * What the supervisor and its workers tell each other. The supervisor
 * starts a worker with its settings as JSON in the `COGEN_WORKER`
 * environment variable, and stops it with signals; a worker speaks up in
 * lines on its stdout that begin with the token the supervisor gave it (the
 * rest of its stdout, an access log say, passes through as it is). The
 * worker's stdin is a pipe from the supervisor: when it ends, the
 * supervisor is gone, and so goes the worker.
 *
 * @module
 */
import type { Bind } from "./bind.ts";

/** The environment variable that makes `cli.ts` a worker. */
export const WORKER_ENV = "COGEN_WORKER";

/** A worker's settings. */
export interface WorkerSettings {
  /** Begins every line the worker writes to the supervisor. */
  token: string;
  /** The worker's number (1, 2, …; a replacement keeps it). */
  id: number;
  /** `path/to/app.ts[:export]`, relative to `cwd`. */
  app: string;
  /** Where `app` is relative to. */
  cwd: string;
  /** Where to listen (TCP ports are set: never 0). */
  binds: Bind[];
  /** How many workers serve the port (`wsgi.multiprocess` when more than one). */
  workers: number;
  /** Ms a shutdown gives requests in flight. */
  gracefulTimeout: number;
  /** Requests after which the worker asks to be replaced (0: never). */
  maxRequests: number;
  /** Combined Log Format lines: a file, `"-"` for stdout, or `null`. */
  accessLog: string | null;
  /** Error answers carry the stack. */
  debug: boolean;
  /** `memory:`, or the URL of the Redis bus. */
  bus: string;
  /** The server's limits and timeouts given on the command line. */
  limits: Record<string, number>;
  /** HTTPS: the absolute path of the PEM certificate chain (with `key`), or `null`. */
  cert: string | null;
  /** The absolute path of its PEM private key, or `null`. */
  key: string | null;
}

/** What a worker tells the supervisor. */
export type WorkerMessage =
  /** It listens on every bind (`addresses` as people read them). */
  | { type: "ready"; addresses: string[] }
  /** It served `--max-requests`: start its replacement, then stop it. */
  | { type: "recycle" }
  /** It cannot serve (the app does not load, a port is taken): `message` says why, in one line. */
  | { type: "failed"; message: string; exitCode: number };

/**
 * The line a worker writes for `message`.
 *
 * @example
 * ```ts
 * import { messageLine, readMessage } from "./control.ts";
 * readMessage("t0k3n", messageLine("t0k3n", { type: "recycle" })); // { type: "recycle" }
 * ```
 */
export function messageLine(token: string, message: WorkerMessage): string {
  return `${token} ${JSON.stringify(message)}`;
}

/** The message in a line of a worker's stdout, or `null` for a line of its own (an access log's). */
export function readMessage(token: string, line: string): WorkerMessage | null {
  if (!line.startsWith(token + " ")) return null;
  try {
    return JSON.parse(line.slice(token.length + 1)) as WorkerMessage;
  } catch {
    return null;
  }
}
