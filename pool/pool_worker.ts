/**
 * The code a `WorkerPool` runs in each of its Deno Workers: it imports
 * each module it is sent once, then runs each call — an
 * exported function with its arguments, or a synchronous WSGI app with a
 * request — and posts back the result or the error.
 *
 * @module
 */
import { concatBytes } from "../wsgi/bytes.ts";
import type { CallMessage, ReplyMessage, SentError, WsgiReply, WsgiRequest } from "./messages.ts";

/** The worker's global scope, as far as this file uses it. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<CallMessage>) => void) | null;
  postMessage(message: ReplyMessage): void;
}

const scope = globalThis as unknown as WorkerScope;
/** The modules imported so far, by URL (each once). */
const modules = new Map<string, Promise<Record<string, unknown>>>();
const encoder = new TextEncoder();

// Code that ends its own worker (`self.close()`, `Deno.exit()`) would leave its call waiting for ever: the
// pool is told first, and takes the worker for crashed.
const exited = (how: string) => scope.postMessage({ id: -1, ok: false, error: sentError(new Error(how)) });
const closeWorker = (globalThis as { close?: () => void }).close;
if (typeof closeWorker === "function") {
  (globalThis as { close?: () => void }).close = () => {
    exited("the called code closed its worker (self.close())");
    closeWorker.call(globalThis);
  };
}
const exitProcess = Deno.exit;
try {
  Object.defineProperty(Deno, "exit", {
    configurable: true,
    writable: true,
    value: (code?: number) => {
      exited(`the called code ended its worker (Deno.exit(${code ?? ""}))`);
      return exitProcess(code);
    },
  });
} catch {
  // A runtime whose Deno.exit cannot be replaced: such a worker is noticed only by its call's timeout.
}

scope.onmessage = (event) => {
  const message = event.data;
  run(message).then(
    (value) => reply({ id: message.id, ok: true, value }, message),
    (error) => scope.postMessage({ id: message.id, ok: false, error: sentError(error) }),
  );
};

/** Posts a result; one that cannot be cloned becomes an error that says so. */
function reply(message: ReplyMessage, call: CallMessage): void {
  try {
    scope.postMessage(message);
  } catch (error) {
    scope.postMessage({
      id: message.id,
      ok: false,
      error: sentError(
        new TypeError(
          `the result of ${call.name} cannot be sent back from the worker (${(error as Error).message}); ` +
            "return values that structuredClone can copy",
        ),
      ),
    });
  }
}

/** Runs one call. */
async function run(message: CallMessage): Promise<unknown> {
  let module = modules.get(message.module);
  if (module === undefined) {
    module = import(message.module) as Promise<Record<string, unknown>>;
    modules.set(message.module, module);
  }
  const exports = await module;
  const target = exports[message.name];
  if (typeof target !== "function") {
    const names = Object.keys(exports).filter((key) => typeof exports[key] === "function");
    throw new TypeError(
      `${message.module} has no exported function named ${JSON.stringify(message.name)}; ` +
        `its functions: ${names.length === 0 ? "none" : names.join(", ")}`,
    );
  }
  if (message.kind === "call") return await (target as (...args: unknown[]) => unknown)(...message.args);
  return runApp(target as SyncApp, message.args[0] as WsgiRequest);
}

/** A synchronous WSGI app, as the pool serves it. */
type SyncApp = (
  environ: Record<string, unknown>,
  startResponse: (status: string, headers: [string, string][]) => (chunk: string | Uint8Array) => void,
) => Iterable<string | Uint8Array>;

/** Runs a synchronous app on a request: its status, headers and whole body. */
function runApp(app: SyncApp, request: WsgiRequest): WsgiReply {
  let status: string | null = null;
  let headers: [string, string][] = [];
  const parts: Uint8Array[] = [];
  const add = (chunk: string | Uint8Array) => {
    if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
      throw new TypeError(`the app produced ${typeof chunk}; body chunks are strings or Uint8Arrays`);
    }
    if (chunk.length > 0) parts.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  };
  const environ: Record<string, unknown> = {
    ...request.environ,
    "wsgi.input": new SyncInput(request.body),
    "wsgi.errors": { write: (text: string) => console.error(text), flush() {} },
    "wsgi.multithread": true,
    "wsgi.multiprocess": false,
    "wsgi.run_once": false,
  };
  const result = app(environ, (s, h) => {
    status = s;
    headers = h;
    return add;
  });
  try {
    for (const chunk of result) add(chunk);
  } finally {
    (result as { close?: () => void }).close?.();
  }
  if (status === null) throw new Error("the app returned without calling startResponse");
  return { status, headers, body: concatBytes(parts) };
}

/** `wsgi.input` in the worker: the request body, read synchronously. */
class SyncInput {
  #pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  /** Up to `n` bytes (all that is left without `n`). */
  read(n = -1): Uint8Array {
    const end = n < 0 ? this.bytes.length : Math.min(this.bytes.length, this.#pos + n);
    const out = this.bytes.subarray(this.#pos, end);
    this.#pos = end;
    return out;
  }

  /** Up to and including the next LF. */
  readline(): Uint8Array {
    const lf = this.bytes.indexOf(0x0a, this.#pos);
    return this.read(lf < 0 ? -1 : lf + 1 - this.#pos);
  }

  *[Symbol.iterator](): Generator<Uint8Array> {
    for (let line = this.readline(); line.length > 0; line = this.readline()) yield line;
  }
}

/** An error as it crosses back: its name, message and stack. */
function sentError(error: unknown): SentError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? "" };
  return { name: "Error", message: String(error), stack: "" };
}
