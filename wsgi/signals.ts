/**
 * `stopOnSignals`: what a server process does when asked to stop (SIGTERM
 * from a process manager, SIGINT from Ctrl-C): a graceful shutdown, then
 * exit 0.
 *
 * @module
 */
import type { Server } from "./server.ts";

/** Options of {@linkcode stopOnSignals}. */
export interface StopOnSignalsOptions {
  /** Ms requests in flight get before they are stopped. Default 10000. */
  deadline?: number;
  /** The signals to act on. Default `["SIGINT", "SIGTERM"]`. */
  signals?: Deno.Signal[];
  /** Called once the server has stopped. Default: `Deno.exit(0)`. */
  onStopped?: () => void;
  /** Where the one line per signal goes. Default: stderr. */
  log?: (line: string) => void;
}

/**
 * On the first of `signals`, shuts `server` down gracefully — it stops
 * accepting, closes idle keep-alive connections at once, throws
 * `ServerShutdown` into apps waiting on an operation (a held long poll
 * gets a complete answer: its own, or 503), gives the rest `deadline` ms —
 * then calls `onStopped` (by default, exits 0). A second signal stops what
 * is left at once. Returns a function that removes the listeners.
 *
 * @example
 * ```ts
 * import { serve, stopOnSignals } from "@cogen/cogen/wsgi";
 * const server = serve((_environ, startResponse) => {
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   return ["hello"];
 * }, { port: 0 });
 * const remove = stopOnSignals(server, { deadline: 5000 });
 * remove(); // (this example stops on its own instead)
 * await server.shutdown(0);
 * ```
 */
export function stopOnSignals(server: Server, options: StopOnSignalsOptions = {}): () => void {
  const deadline = options.deadline ?? 10_000;
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  const log = options.log ?? ((line: string) => console.error(line));
  const onStopped = options.onStopped ?? (() => Deno.exit(0));
  let stopping = false;
  const listeners: [Deno.Signal, () => void][] = [];
  const remove = () => {
    for (const [signal, listener] of listeners) {
      try {
        Deno.removeSignalListener(signal, listener);
      } catch {
        // Already removed.
      }
    }
    listeners.length = 0;
  };
  for (const signal of signals) {
    const listener = () => {
      if (stopping) {
        log(`cogen: ${signal} again: stopping the requests left now`);
        server.shutdown(0);
        return;
      }
      stopping = true;
      log(`cogen: ${signal}: shutting down (requests in flight get ${deadline} ms)`);
      server.shutdown(deadline).then(() => {
        remove();
        onStopped();
      });
    };
    try {
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    } catch {
      // A signal this platform does not have (SIGTERM on Windows): nothing to listen for.
    }
  }
  return remove;
}
