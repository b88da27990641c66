/**
 * The supervisor of the CLI: it starts the workers (each a full server on
 * the same port, with `reusePort`), says where each listens, replaces one
 * that dies (with a growing pause while they keep dying), and handles the
 * signals as gunicorn does — TERM and INT drain every worker, HUP replaces
 * them one by one with the code on disk, TTIN adds a worker and TTOU removes
 * one.
 *
 * @module
 */
import { resolve } from "node:path";
import { type Bind, describeBind } from "./bind.ts";
import { readTlsFiles } from "./tls_files.ts";
import { type TlsKeyPair, tlsListenError } from "../wsgi/tls.ts";
import { readMessage, WORKER_ENV, type WorkerMessage, type WorkerSettings } from "./control.ts";
import type { CliOptions } from "./options.ts";

/** The first pause before a worker that died is replaced; it doubles while replacements die young. */
const FIRST_PAUSE = 100;
const MAX_PAUSE = 10_000;
/** A worker that lived this long died of something new: the pause starts over. */
const LIVED_LONG = 10_000;
/** Ms after the graceful timeout before a worker that is still there is killed. */
const KILL_GRACE = 5000;

const encoder = new TextEncoder();

/** A worker process, as the supervisor sees it. */
interface Worker {
  id: number;
  child: Deno.ChildProcess;
  pid: number;
  startedAt: number;
  /** Set once it said it is ready (a worker that never was is its starter's concern, not a death). */
  ready: boolean;
  /** Set once it is being stopped on purpose (its exit is no death). */
  stopping: boolean;
  /** Settles with its first word: ready, or failed (also when it exits without a word). */
  firstWord: Promise<WorkerMessage>;
  /** Resolves with its exit status. */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Runs the supervisor until TERM or INT: resolves with the exit code (0
 * after a graceful stop; 1 when the workers could not start).
 *
 * @example
 * ```ts ignore
 * Deno.exit(await new Supervisor(options, new URL("./cli.ts", import.meta.url)).run());
 * ```
 */
export class Supervisor {
  readonly #options: CliOptions;
  readonly #cli: string;
  readonly #token = crypto.randomUUID();
  /** The workers serving now (a replacement joins once ready), by id. */
  readonly #workers = new Map<number, Worker>();
  /** Every worker process alive, serving or not (the shutdown waits for all). */
  readonly #alive = new Set<Worker>();
  /** The binds with their ports chosen. */
  #binds: Bind[] = [];
  /** The ids of the workers TTIN is starting. */
  readonly #adding = new Set<number>();
  /** The pause before the next replacement of a worker that died, by id. */
  readonly #pauses = new Map<number, number>();
  #shuttingDown = false;
  #reloading: Promise<void> = Promise.resolve();
  readonly #done = Promise.withResolvers<number>();

  /** A supervisor for `options`; `cli` is the module a worker runs (`cli.ts`). */
  constructor(options: CliOptions, cli: URL) {
    this.#options = options;
    this.#cli = cli.protocol === "file:" ? decodeURIComponent(cli.pathname) : cli.href;
  }

  /** Starts the workers and supervises them; resolves with the process's exit code. */
  async run(): Promise<number> {
    const options = this.#options;
    try {
      const tls = options.cert === null ? null : readTlsFiles(options.cert, options.key!);
      this.#binds = options.binds.map((bind) => reserve(bind, tls));
    } catch (error) {
      log(error instanceof Error ? error.message : String(error));
      return 1;
    }
    if (options.workers > 1) warnWithoutMigration();
    const first = await Promise.all(Array.from({ length: options.workers }, (_, i) => this.#start(i + 1)));
    const failed = first.find((outcome) => typeof outcome === "string");
    if (failed !== undefined) {
      log(failed as string);
      this.#shuttingDown = true;
      await this.#stopAll(0);
      return 1;
    }
    for (const worker of first as Worker[]) this.#serving(worker);
    this.#listen();
    if (options.reload) this.#watchSources();
    return this.#done.promise;
  }

  /** Starts worker `id`: resolves with it once ready, or with why it could not start. */
  async #start(id: number): Promise<Worker | string> {
    const worker = this.#spawn(id);
    const word = await worker.firstWord;
    if (word.type === "ready") return worker;
    await worker.exited;
    return word.type === "failed" ? word.message : `worker ${id} stopped before it was ready`;
  }

  #spawn(id: number): Worker {
    const options = this.#options;
    const settings: WorkerSettings = {
      token: this.#token,
      id,
      app: options.app,
      cwd: Deno.cwd(),
      binds: this.#binds,
      workers: options.workers,
      gracefulTimeout: options.gracefulTimeout,
      maxRequests: options.maxRequests === 0
        ? 0
        : options.maxRequests + Math.floor(Math.random() * (options.maxRequestsJitter + 1)),
      accessLog: options.accessLog,
      debug: options.debug,
      bus: options.bus,
      limits: options.limits,
      cert: options.cert === null ? null : resolve(options.cert),
      key: options.key === null ? null : resolve(options.key),
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", this.#cli],
      env: { [WORKER_ENV]: JSON.stringify(settings) },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const firstWord = Promise.withResolvers<WorkerMessage>();
    const worker: Worker = {
      id,
      child,
      pid: child.pid,
      startedAt: Date.now(),
      ready: false,
      stopping: false,
      firstWord: firstWord.promise,
      exited: child.status,
    };
    this.#alive.add(worker);
    this.#readWords(worker, (message) => {
      if (message.type === "recycle") this.#replace(worker, "it served --max-requests");
      else {
        if (message.type === "ready") worker.ready = true;
        firstWord.resolve(message);
      }
    }).finally(() => firstWord.resolve({ type: "failed", message: `worker ${id} exited`, exitCode: 1 }));
    worker.exited.then((status) => this.#exited(worker, status));
    return worker;
  }

  /** Passes the worker's stdout through, line by line, but for its words to the supervisor. */
  async #readWords(worker: Worker, heard: (message: WorkerMessage) => void): Promise<void> {
    let rest = "";
    for await (const text of worker.child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const message = readMessage(this.#token, line);
        if (message !== null) heard(message);
        else writeOut(line);
      }
    }
    if (rest !== "") writeOut(rest);
  }

  /** `worker` serves from now on (in its id's place). */
  #serving(worker: Worker): void {
    this.#workers.set(worker.id, worker);
    const tls = this.#options.cert !== null;
    const where = this.#binds.map((bind) => describeBind(bind, tls)).join(", ");
    writeOut(`cogen: worker ${worker.id} (pid ${worker.pid}) listening on ${where}`);
  }

  /** A worker process ended: one that died is replaced, after a pause that grows while they keep dying. */
  #exited(worker: Worker, status: Deno.CommandStatus): void {
    this.#alive.delete(worker);
    if (this.#workers.get(worker.id) === worker) this.#workers.delete(worker.id);
    if (this.#alive.size === 0 && this.#shuttingDown) this.#done.resolve(0);
    if (!worker.ready || worker.stopping || this.#shuttingDown) return;
    if (Date.now() - worker.startedAt >= LIVED_LONG) this.#pauses.delete(worker.id);
    const how = status.signal !== null ? `signal ${status.signal}` : `exit code ${status.code}`;
    this.#restartLater(worker.id, `worker ${worker.id} (pid ${worker.pid}) died (${how})`);
  }

  /** Starts worker `id` again after its pause (which doubles for the next time, up to `MAX_PAUSE`). */
  #restartLater(id: number, what: string): void {
    const pause = this.#pauses.get(id) ?? FIRST_PAUSE;
    this.#pauses.set(id, Math.min(pause * 2, MAX_PAUSE));
    log(`${what}; starting another in ${pause} ms`);
    setTimeout(() => this.#restart(id), pause);
  }

  /** Starts a worker in the place of one that died. */
  async #restart(id: number): Promise<void> {
    if (this.#shuttingDown || this.#workers.has(id)) return;
    const outcome = await this.#start(id);
    if (typeof outcome === "string") this.#restartLater(id, `worker ${id} did not start: ${outcome}`);
    else if (this.#shuttingDown) this.#stop(outcome, 0);
    else this.#serving(outcome);
  }

  /**
   * Starts a replacement for `old` (the same id), and once it is ready
   * stops `old` gracefully: its port is never without a listener. Over a
   * Unix socket, whose path one process at a time can hold, `old` stops
   * first.
   */
  async #replace(old: Worker, why: string): Promise<boolean> {
    if (old.stopping || this.#shuttingDown) return true;
    const unix = this.#binds.some((bind) => "path" in bind);
    if (unix) {
      this.#stop(old, this.#options.gracefulTimeout);
      await old.exited;
    }
    const outcome = await this.#start(old.id);
    if (typeof outcome === "string") {
      log(`worker ${old.id} was not replaced (${why}): ${outcome}`);
      return false;
    }
    if (this.#shuttingDown) {
      this.#stop(outcome, 0);
      return true;
    }
    if (!unix) this.#stop(old, this.#options.gracefulTimeout);
    this.#serving(outcome);
    return true;
  }

  /** Asks `worker` to stop (SIGTERM: it drains within `deadline`); kills it if it is still there after. */
  #stop(worker: Worker, deadline: number): void {
    worker.stopping = true;
    signal(worker, "SIGTERM");
    const timer = setTimeout(() => signal(worker, "SIGKILL"), deadline + KILL_GRACE);
    worker.exited.finally(() => clearTimeout(timer));
  }

  /** Stops every worker process; resolves once all have exited. */
  async #stopAll(deadline: number): Promise<void> {
    for (const worker of this.#alive) this.#stop(worker, deadline);
    await Promise.all([...this.#alive].map((worker) => worker.exited));
  }

  /** HUP: every worker replaced, one after another, by one running the code on disk. */
  #reload(why: string): void {
    this.#reloading = this.#reloading.then(async () => {
      if (this.#shuttingDown) return;
      log(`${why}: replacing the workers one by one`);
      for (const old of [...this.#workers.values()]) {
        if (!(await this.#replace(old, why))) return;
      }
    });
  }

  #listen(): void {
    const shutdown = (name: string) => {
      if (this.#shuttingDown) {
        log(`${name} again: the workers stop what is left now`);
        for (const worker of this.#alive) signal(worker, "SIGTERM");
        return;
      }
      this.#shuttingDown = true;
      const seconds = this.#options.gracefulTimeout / 1000;
      log(`${name}: stopping ${this.#alive.size} worker(s); requests in flight get ${seconds} s`);
      if (this.#alive.size === 0) this.#done.resolve(0);
      for (const worker of this.#alive) this.#stop(worker, this.#options.gracefulTimeout);
    };
    Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
    Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
    Deno.addSignalListener("SIGHUP", () => this.#reload("SIGHUP"));
    Deno.addSignalListener("SIGTTIN", () => this.#more());
    Deno.addSignalListener("SIGTTOU", () => this.#fewer());
  }

  /** TTIN: one worker more. */
  async #more(): Promise<void> {
    if (this.#shuttingDown) return;
    let id = 1;
    while (this.#workers.has(id) || this.#adding.has(id)) id++;
    this.#adding.add(id);
    const outcome = await this.#start(id);
    this.#adding.delete(id);
    if (typeof outcome === "string") log(`SIGTTIN: no worker added: ${outcome}`);
    else if (this.#shuttingDown) this.#stop(outcome, 0);
    else {
      log(`SIGTTIN: ${this.#workers.size + 1} workers`);
      this.#serving(outcome);
    }
  }

  /** TTOU: one worker fewer (never none). */
  #fewer(): void {
    if (this.#shuttingDown || this.#workers.size <= 1) return;
    const id = Math.max(...this.#workers.keys());
    const worker = this.#workers.get(id)!;
    this.#workers.delete(id);
    log(`SIGTTOU: ${this.#workers.size} workers; worker ${id} (pid ${worker.pid}) stops`);
    this.#stop(worker, this.#options.gracefulTimeout);
  }

  /** --reload: a change to a source file below the app's folder replaces the workers. */
  #watchSources(): void {
    const [path] = this.#options.app.split(/:(?=[A-Za-z_$][\w$]*$)/);
    const folder = new URL(".", new URL(path, `file://${Deno.cwd()}/`)).pathname;
    const watcher = Deno.watchFs(folder, { recursive: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    (async () => {
      for await (const event of watcher) {
        if (!event.paths.some((file) => /\.(ts|tsx|js|jsx|mjs|json)$/.test(file) && !file.includes("/."))) {
          continue;
        }
        clearTimeout(timer);
        timer = setTimeout(() => this.#reload("a source file changed"), 200);
      }
    })();
    this.#done.promise.finally(() => {
      clearTimeout(timer);
      watcher.close();
    });
  }
}

/**
 * Checks that a TCP bind's port is free (a port in use is a one-line error)
 * and chooses one for port 0; a worker then listens there with `reusePort`.
 */
function reserve(bind: Bind, tls: TlsKeyPair | null): Bind {
  if ("path" in bind) return bind;
  let listener: Deno.Listener;
  try {
    // With TLS, a certificate and key that do not go together are found here, before any worker starts.
    listener = tls === null
      ? Deno.listen({ hostname: bind.hostname, port: bind.port })
      : Deno.listenTls({ hostname: bind.hostname, port: bind.port, ...tls });
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "the address is in use (another server listens there; choose another port with --bind)"
      : tls !== null
      ? tlsListenError(error, "--cert/--key").message
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(`cannot listen on ${describeBind(bind, tls !== null)}: ${why}`);
  }
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return { hostname: bind.hostname, port };
}

/** Several workers: without `tcp_migrate_req`, Linux drops a stopping worker's queue of new connections. */
function warnWithoutMigration(): void {
  let value: string;
  try {
    value = Deno.readTextFileSync("/proc/sys/net/ipv4/tcp_migrate_req").trim();
  } catch {
    return; // not Linux, or too old a kernel to have it
  }
  if (value !== "0") return;
  log(
    "net.ipv4.tcp_migrate_req is 0: a worker that stops (reload, --max-requests) drops the connections " +
      "queued to it; run `sysctl -w net.ipv4.tcp_migrate_req=1` (Linux >= 5.14) for reloads that lose none",
  );
}

function signal(worker: Worker, name: Deno.Signal): void {
  try {
    worker.child.kill(name);
  } catch {
    // It exited already.
  }
}

/** One line on stderr, from the supervisor. */
function log(line: string): void {
  console.error(`cogen: ${line}`);
}

/** One line on stdout (a worker's line passed through, or a worker's address). */
function writeOut(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let written = 0; written < bytes.length;) written += Deno.stdout.writeSync(bytes.subarray(written));
}
