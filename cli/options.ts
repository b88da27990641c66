/**
 * The command line of `cli.ts`: its options, how they are read, and the
 * help. A bad flag or value is a {@linkcode UsageError} naming it (the CLI
 * prints the usage and exits 2).
 *
 * @module
 */
import { type Bind, parseBind } from "./bind.ts";
import { checkRedisUrl } from "../bus/url.ts";
import { UsageError } from "./usage_error.ts";

export { UsageError };

/** What the command line asked for. */
export interface CliOptions {
  /** `path/to/app.ts[:export]`. */
  app: string;
  /** Where to listen (at least one). */
  binds: Bind[];
  /** Worker processes. */
  workers: number;
  /** Ms a shutdown or reload gives requests in flight. */
  gracefulTimeout: number;
  /** Requests after which a worker is replaced (0: never). */
  maxRequests: number;
  /** Up to this many more requests, at random, per worker (so that workers are not all replaced at once). */
  maxRequestsJitter: number;
  /** Where the Combined Log Format lines go: a file, `"-"` for stdout, or `null` for none. */
  accessLog: string | null;
  /** Restart the workers when a source file changes. */
  reload: boolean;
  /** Error answers carry the stack. */
  debug: boolean;
  /** What carries named signals and queues between the workers: `memory:` (each its own) or `redis://…`. */
  bus: string;
  /** The server's limits and timeouts that were given (the rest keep their defaults). */
  limits: Record<string, number>;
  /** HTTPS: the PEM file of the certificate chain (with `key`), or `null` for plain HTTP. */
  cert: string | null;
  /** The PEM file of its private key (with `cert`). */
  key: string | null;
}

/** The server limits and timeouts as flags: flag → option of `serve`, and whether it is a time in ms. */
const LIMIT_FLAGS: Record<string, [option: string, time: boolean]> = {
  "--max-request-line": ["maxRequestLine", false],
  "--max-header-bytes": ["maxHeaderBytes", false],
  "--max-headers": ["maxHeaders", false],
  "--max-body-bytes": ["maxBodyBytes", false],
  "--max-drain-bytes": ["maxDrainBytes", false],
  "--max-connections": ["maxConnections", false],
  "--headers-timeout": ["headersTimeout", true],
  "--keep-alive-timeout": ["keepAliveTimeout", true],
  "--sockoper-timeout": ["sockoperTimeout", true],
};

/** The help, as `--help` prints it. */
export const USAGE = `usage: deno run -A cli.ts APP [options]

  APP                      path/to/app.ts[:export]: the export named after ":" (default: "app",
                           else the module's default export): an App, a list of [prefix, app]
                           routes, or a fetch handler ((request) => Response, or an object with a
                           fetch method such as a Hono app)

  -b, --bind ADDR          HOST:PORT, [::1]:PORT or unix:PATH; repeatable
                           (default 127.0.0.1:8000, or $HOST:$PORT when they are set)
  -w, --workers N          worker processes sharing the port; "auto" = one per core (default 1)
      --graceful-timeout S seconds a shutdown or reload gives requests in flight (default 30)
      --max-requests N     replace a worker after N requests (default 0: never)
      --max-requests-jitter J
                           up to J more, at random, per worker (default 0)
      --limit-concurrency N
                           answer 503 to connections above N per worker (default 100000)
      --access-log [FILE]  Combined Log Format lines to FILE (after APP, or --access-log=FILE),
                           or to stdout without FILE
      --bus URL            what carries named signals and queues between the workers:
                           memory: (each worker its own; the default) or
                           redis://[user:pass@]host:port[/db]
      --cert FILE          serve HTTPS with this PEM certificate chain (with --key; TCP binds)
      --key FILE           the PEM private key of --cert
      --reload             restart the workers when a source file changes (development)
      --debug              error answers carry the stack
  -h, --help               this help

  The server's limits (bytes or counts) and timeouts (ms; or with a unit: 500ms, 30s):
      --max-request-line N (8192)       --headers-timeout MS (30000)
      --max-header-bytes N (16384)      --keep-alive-timeout MS (65000)
      --max-headers N (100)             --sockoper-timeout MS (60000)
      --max-body-bytes N (10485760)     --max-connections N (100000)
      --max-drain-bytes N (65536)

  Signals to the supervisor: TERM or INT drain every worker (within --graceful-timeout) and
  exit 0; HUP replaces the workers one by one with the code on disk; TTIN adds a worker, TTOU
  removes one.
`;

/**
 * Reads the command line (`args` without the program); `env` gives `HOST`
 * and `PORT` when no `--bind` is given; `cores` is what `--workers auto`
 * means.
 *
 * @throws {UsageError} naming the flag or value that is wrong.
 * @example
 * ```ts
 * import { parseCli } from "./options.ts";
 * const options = parseCli(["app.ts", "-w", "2", "--bind", "127.0.0.1:9000"], {}, 2);
 * options.workers; // 2
 * ```
 */
export function parseCli(args: string[], env: Record<string, string | undefined>, cores: number): CliOptions {
  const options: CliOptions = {
    app: "",
    binds: [],
    workers: 1,
    gracefulTimeout: 30_000,
    maxRequests: 0,
    maxRequestsJitter: 0,
    accessLog: null,
    reload: false,
    debug: false,
    bus: "memory:",
    limits: {},
    cert: null,
    key: null,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-") {
      if (options.app !== "") throw new UsageError(`one APP only: got ${options.app} and ${arg}`);
      options.app = arg;
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    /** The flag's value: after "=", or the next argument. */
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-")) {
        throw new UsageError(`${flag} needs a value`);
      }
      i++;
      return next;
    };
    switch (flag) {
      case "-h":
      case "--help":
        throw new UsageError("");
      case "-b":
      case "--bind":
        options.binds.push(parseBind(value(), flag));
        break;
      case "-w":
      case "--workers": {
        const v = value();
        options.workers = v === "auto" ? cores : integer(flag, v, 1);
        break;
      }
      case "--graceful-timeout":
        options.gracefulTimeout = duration(flag, value(), 1000);
        break;
      case "--max-requests":
        options.maxRequests = integer(flag, value(), 0);
        break;
      case "--max-requests-jitter":
        options.maxRequestsJitter = integer(flag, value(), 0);
        break;
      case "--limit-concurrency":
        options.limits.maxConnections = integer(flag, value(), 1);
        break;
      case "--access-log": {
        // A file name only in --access-log=FILE, or after APP: before it, the next word is APP.
        const next = args[i + 1];
        if (inline !== undefined) options.accessLog = inline === "" ? "-" : inline;
        else if (options.app !== "" && next !== undefined && !next.startsWith("-")) {
          options.accessLog = value();
        } else options.accessLog = "-";
        break;
      }
      case "--bus": {
        const url = value();
        if (url !== "memory:") {
          try {
            checkRedisUrl(url);
          } catch (error) {
            throw new UsageError(`--bus: ${(error as Error).message}, or memory:`);
          }
        }
        options.bus = url;
        break;
      }
      case "--cert":
        options.cert = value();
        break;
      case "--key":
        options.key = value();
        break;
      case "--reload":
        if (inline !== undefined) throw new UsageError(`--reload takes no value, got ${arg}`);
        options.reload = true;
        break;
      case "--debug":
        if (inline !== undefined) throw new UsageError(`--debug takes no value, got ${arg}`);
        options.debug = true;
        break;
      default: {
        const limit = LIMIT_FLAGS[flag];
        if (limit === undefined) throw new UsageError(`unknown option ${flag}`);
        const [option, time] = limit;
        options.limits[option] = time ? duration(flag, value(), 1) : integer(flag, value(), 1);
      }
    }
  }
  if (options.app === "") {
    throw new UsageError("APP is missing: say which module to serve (path/to/app.ts[:export])");
  }
  if (options.binds.length === 0) {
    const host = env.HOST ?? "127.0.0.1";
    const port = env.PORT ?? "8000";
    options.binds.push(parseBind(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`, "HOST/PORT"));
  }
  if ((options.cert === null) !== (options.key === null)) {
    throw new UsageError(
      `--cert and --key go together: ${options.cert === null ? "--cert" : "--key"} is missing`,
    );
  }
  if (options.cert !== null && options.binds.some((bind) => "path" in bind)) {
    throw new UsageError("TLS is for TCP binds: a unix: socket takes no --cert/--key");
  }
  if (options.workers > 1 && options.binds.some((bind) => "path" in bind)) {
    throw new UsageError("unix: sockets are served by one worker only; use -w 1, or bind a TCP port");
  }
  return options;
}

/** An integer of at least `min`. */
function integer(flag: string, value: string, min: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} wants an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A duration in ms: a number in `unit` ms, or with a unit (`500ms`, `30s`). */
function duration(flag: string, value: string, unit: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value);
  const ms = match === null
    ? Number.NaN
    : Number(match[1]) * (match[2] === "ms" ? 1 : match[2] === "s" ? 1000 : unit);
  if (!(ms >= 1) || !Number.isFinite(ms)) {
    throw new UsageError(
      `${flag} wants a duration (${unit === 1000 ? "seconds" : "ms"}, or with a unit: 500ms, 30s), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return Math.round(ms);
}
