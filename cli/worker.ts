/**
 * A worker process of the CLI: loads the app, serves it on every bind with
 * `reusePort` (so that its siblings, and its replacement during a reload,
 * share the port), tells the supervisor when it is ready, and shuts down
 * gracefully on SIGTERM (a second SIGTERM stops what is left at once).
 *
 * @module
 */
import { type Bus, Scheduler } from "../core/mod.ts";
import { accessLog } from "../middleware/mod.ts";
import { type App, PathInfoDispatcher, type Route, WSGIServer } from "../wsgi/mod.ts";
import { describeBind } from "./bind.ts";
import { messageLine, type WorkerMessage, type WorkerSettings } from "./control.ts";
import { AppLoadError, loadApp } from "./load_app.ts";
import { readTlsFiles } from "./tls_files.ts";
import type { TlsKeyPair } from "../wsgi/tls.ts";

const encoder = new TextEncoder();

/**
 * Runs the worker described by `settings` until it is told to stop; exits
 * the process (0 after a graceful shutdown, 1 when it cannot serve).
 *
 * @example
 * ```ts ignore
 * await runWorker(JSON.parse(Deno.env.get("COGEN_WORKER")!));
 * ```
 */
export async function runWorker(settings: WorkerSettings): Promise<void> {
  const say = (message: WorkerMessage) => writeLine(messageLine(settings.token, message));
  let loaded: App | Route[];
  try {
    loaded = await loadApp(settings.app, settings.cwd);
  } catch (error) {
    say({
      type: "failed",
      message: error instanceof AppLoadError ? error.message : String(error),
      exitCode: 1,
    });
    Deno.exit(1);
  }
  const app = wrap(typeof loaded === "function" ? loaded : PathInfoDispatcher(loaded), settings, say);
  let bus: Bus | undefined;
  if (settings.bus !== "memory:") {
    try {
      // Loaded only when asked for: a worker without a Redis bus carries no Redis client.
      const { RedisBus } = await import("../bus/redis.ts");
      bus = await RedisBus.connect(settings.bus);
    } catch (error) {
      say({ type: "failed", message: error instanceof Error ? error.message : String(error), exitCode: 1 });
      Deno.exit(1);
    }
  }
  let tls: TlsKeyPair | null = null;
  try {
    // Read again by each worker: a reload serves a renewed certificate.
    if (settings.cert !== null) tls = readTlsFiles(settings.cert, settings.key!);
  } catch (error) {
    say({ type: "failed", message: (error as Error).message, exitCode: 1 });
    Deno.exit(1);
  }
  const sched = new Scheduler({ bus });
  const servers: WSGIServer[] = [];
  for (const bind of settings.binds) {
    try {
      const address = "path" in bind ? { path: bind.path } : { hostname: bind.hostname, port: bind.port };
      servers.push(
        new WSGIServer(address, app, sched, {
          ...settings.limits,
          reusePort: !("path" in bind),
          multiprocess: settings.workers > 1,
          debug: settings.debug,
          ...tls,
        }),
      );
    } catch (error) {
      const why = error instanceof Deno.errors.AddrInUse
        ? "the address is in use (another server listens there)"
        : error instanceof Error
        ? error.message
        : String(error);
      say({
        type: "failed",
        message: `cannot listen on ${describeBind(bind, tls !== null)}: ${why}`,
        exitCode: 1,
      });
      Deno.exit(1);
    }
  }
  for (const server of servers) sched.add(server.serve);
  sched.run();

  let stopping = false;
  const stop = (deadline: number) => {
    if (stopping && deadline > 0) deadline = 0; // a second SIGTERM: what is left stops at once
    stopping = true;
    Promise.all(servers.map((server) => server.shutdown(deadline))).then(async () => {
      sched.stop();
      await sched.bus.close();
      Deno.exit(0);
    });
  };
  Deno.addSignalListener("SIGTERM", () => stop(settings.gracefulTimeout));
  // The supervisor decides: Ctrl-C and a closing terminal reach every process of the group, and HUP,
  // TTIN and TTOU are its own; a worker that took them would stop, or be suspended, on its own.
  for (const signal of ["SIGINT", "SIGHUP", "SIGTTIN", "SIGTTOU"] as const) {
    Deno.addSignalListener(signal, () => {});
  }
  watchSupervisor(() => stop(settings.gracefulTimeout));
  say({ type: "ready", addresses: settings.binds.map((bind) => describeBind(bind, tls !== null)) });
}

/** The app with what the command line adds: the access log, the count toward `--max-requests`. */
function wrap(app: App, settings: WorkerSettings, say: (message: WorkerMessage) => void): App {
  if (settings.accessLog !== null) {
    app = accessLog(app, { format: "combined", write: logWriter(settings.accessLog) });
  }
  if (settings.maxRequests > 0) {
    const inner = app;
    let served = 0;
    app = (environ, startResponse) => {
      if (++served === settings.maxRequests) say({ type: "recycle" });
      return inner(environ, startResponse);
    };
  }
  return app;
}

/** Where access log lines go: stdout (`"-"`), or appended to a file (whole lines, so workers can share it). */
function logWriter(to: string): (line: string) => void {
  if (to === "-") return writeLine;
  const file = Deno.openSync(to, { append: true, create: true });
  return (line) => {
    file.writeSync(encoder.encode(line + "\n"));
  };
}

/** Writes one whole line to stdout. */
function writeLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let written = 0; written < bytes.length;) written += Deno.stdout.writeSync(bytes.subarray(written));
}

/** Calls `gone` once the supervisor's end of stdin closes (it exited, or was killed). */
function watchSupervisor(gone: () => void): void {
  (async () => {
    const buf = new Uint8Array(64);
    try {
      while ((await Deno.stdin.read(buf)) !== null);
    } catch {
      // A closed stdin is as good as an ended one.
    }
    gone();
  })();
}
