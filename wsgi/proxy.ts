/**
 * cogen's coroutine extensions, as the seed spells them: the per-request
 * proxy `environ.cogen` (`operation`, `result`, `exception`) and the helpers
 * that record an operation on it and return `""` — the mirror of `core`
 * (`environ.cogen.core.events.WaitForSignal(...)`), the body reads
 * (`environ["cogen.input"].read(n)`), `cogen.call` and `cogen.yield`.
 *
 * An app yields the `""` they return; middleware that passes empty chunks
 * through passes the operation through; the server runs it and stores the
 * outcome on the proxy.
 *
 * @module
 */
import * as core from "../core/mod.ts";
import { isPromiseLike } from "../core/await.ts";
import { runningTask } from "../core/scheduler.ts";
import type { Operation, PublishSubscribeQueue, Queue } from "../core/mod.ts";

/** Something the server can run for an app: an operation or a promise. */
export type Runnable = Operation<unknown> | PromiseLike<unknown>;

/**
 * The per-request proxy, `environ.cogen` (also `environ["cogen.wsgi"]`).
 *
 * @example
 * ```ts
 * import type { Environ, StartResponse } from "@cogen/cogen/wsgi";
 * // The seed's wait_app.
 * async function* waitApp(environ: Environ, startResponse: StartResponse) {
 *   startResponse("200 OK", [["Content-Type", "text/html"]]);
 *   yield "I'm waiting for some signal";
 *   yield environ.cogen.core.events.WaitForSignal("abc", { timeout: 1000 });
 *   if (environ.cogen.result instanceof Error) yield "Your time is up !";
 *   else yield `Someone signaled me: ${environ.cogen.result}`;
 * }
 * ```
 */
export class CogenProxy {
  /** The operation recorded for the server to run at the next `""`, or `null`. */
  operation: Operation<unknown> | PromiseLike<unknown> | null = null;
  /** The outcome of the last operation: its value, or the `Error` it failed with. */
  result: unknown = undefined;
  /** The error of the last operation, or `null` when it succeeded. */
  exception: unknown = null;
  /** The request's Content-Length (-1 when absent). */
  contentLength: number;
  /** The request body the app reads (made by the server with the proxy). */
  readonly #input: (InputSource & { readonly bytesRead: number }) | null;
  /** The helpers bound to this proxy, made on first use: most apps never use them. */
  #helpers: Extensions | null = null;
  // The signal is made on first use: most requests never look at it.
  #signal: AbortSignal | null;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;

  /**
   * @ignore Built by the server for each request, with its body (`input`).
   * Without `signal`, the proxy makes its own on first use, and
   * {@linkcode CogenProxy.abort} aborts it.
   */
  constructor(
    contentLength: number,
    input: (InputSource & { readonly bytesRead: number }) | null = null,
    signal?: AbortSignal,
  ) {
    this.contentLength = contentLength;
    this.#input = input;
    this.#signal = signal ?? null;
  }

  /** The mirror of `core`: constructors that record an operation here and return `""`. */
  get core(): CoreMirror {
    return this.#extensions().core;
  }

  /** Body reads that record an operation here and return `""`. */
  get input(): InputOperations {
    return this.#extensions().input;
  }

  /** Records `factory(...args)` as the operation; returns `""`. */
  get call(): <A extends unknown[]>(
    factory: (...args: A) => Operation<unknown> | PromiseLike<unknown>,
    ...args: A
  ) => "" {
    return this.#extensions().call;
  }

  /** Records `operation`; returns `""`. */
  get yield(): (operation: Operation<unknown> | PromiseLike<unknown>) => "" {
    return this.#extensions().yield;
  }

  #extensions(): Extensions {
    return this.#helpers ??= createExtensions(this, this.#input);
  }

  /** Body bytes the app has read so far, however it read them. */
  get readCount(): number {
    return this.#input?.bytesRead ?? 0;
  }

  /** Aborted when the client goes away or the server shuts down (never on a normal end). */
  get signal(): AbortSignal {
    if (this.#signal === null) {
      if (this.#aborted) this.#signal = AbortSignal.abort(this.#abortReason);
      else {
        this.#controller = new AbortController();
        this.#signal = this.#controller.signal;
      }
    }
    return this.#signal;
  }

  /** @ignore For the server: aborts the proxy's own signal (made now or on first use). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}

/** The operations of `core` offered by the mirror. */
const EVENTS = {
  Sleep: core.Sleep,
  WaitForSignal: core.WaitForSignal,
  Signal: core.Signal,
  AddCoro: core.AddCoro,
  Join: core.Join,
  Call: core.Call,
  Await: core.Await,
  Race: core.Race,
  All: core.All,
  CurrentTask: core.CurrentTask,
};

/**
 * `environ.cogen.core.events`: each operation of `core`, called without `new`:
 * it records the operation on the proxy and returns `""` to yield.
 */
export interface MirrorEvents {
  /** Records `new Sleep(ms)`. */
  Sleep(...args: ConstructorParameters<typeof core.Sleep>): "";
  /** Records `new WaitForSignal(name, options)`. */
  WaitForSignal(...args: ConstructorParameters<typeof core.WaitForSignal>): "";
  /** Records `new Signal(name, value, options)`. */
  Signal(...args: ConstructorParameters<typeof core.Signal>): "";
  /** Records `new AddCoro(coro, ...args)`. */
  AddCoro(...args: ConstructorParameters<typeof core.AddCoro>): "";
  /** Records `new Join(task, options)`. */
  Join(...args: ConstructorParameters<typeof core.Join>): "";
  /** Records `new Call(coro, ...args)`. */
  Call(...args: ConstructorParameters<typeof core.Call>): "";
  /** Records `new Await(promise, options)`. */
  Await(...args: ConstructorParameters<typeof core.Await>): "";
  /** Records `new Race(ops)`. */
  Race(...args: ConstructorParameters<typeof core.Race>): "";
  /** Records `new All(ops)`. */
  All(...args: ConstructorParameters<typeof core.All>): "";
  /** Records `new CurrentTask()`. */
  CurrentTask(): "";
}

/** `environ.cogen.core`: `events` holds every operation of `core`, plus queue and pub/sub helpers. */
export interface CoreMirror {
  /** `yield environ.cogen.core.events.Sleep(10)` and so on. */
  readonly events: MirrorEvents;
  /** `yield environ.cogen.core.queue(q).get({ timeout })`: `get`, `put`, `join` of a queue the app created. */
  queue<T>(q: Queue<T>): {
    get(options?: core.OperationOptions): "";
    put(item: T, options?: core.OperationOptions): "";
    join(options?: core.OperationOptions): "";
  };
  /** `yield environ.cogen.core.pubsub(ps).fetch({ key })`: the operations of a pub/sub queue. */
  pubsub<T>(ps: PublishSubscribeQueue<T>): {
    subscribe(key?: unknown): "";
    unsubscribe(key?: unknown): "";
    publish(message: T): "";
    fetch(options?: core.FetchOptions): "";
  };
}

/**
 * `environ["cogen.input"]`: asynchronous body reads that record an operation
 * and return `""`; the chunk (a `Uint8Array`; `""` at the end) or the error
 * arrives in `environ.cogen.result`.
 */
export interface InputOperations {
  /** Reads up to `n` bytes. */
  read(n?: number): "";
  /** Reads one line (up to `limit` bytes; past it the result is an error). */
  readline(limit?: number): "";
  /** The seed's name for `read`. */
  Read(n?: number): "";
  /** The seed's name for `readline`. */
  ReadLine(limit?: number): "";
}

/** The helpers a request's proxy offers (see `createExtensions`). */
export interface Extensions {
  /** `environ.cogen.core`. */
  readonly core: CoreMirror;
  /** `environ["cogen.input"]`. */
  readonly input: InputOperations;
  /** `environ.cogen.call`. */
  readonly call: CogenProxy["call"];
  /** `environ.cogen.yield`. */
  readonly yield: CogenProxy["yield"];
}

/** The reads an `Input` offers, as operations. */
export interface InputSource {
  /** A read of up to `n` bytes (`""` at the end). */
  readOperation(n: number): Operation<Uint8Array | "">;
  /** A read of one line of at most `limit` bytes (`""` at the end). */
  readlineOperation(limit: number): Operation<Uint8Array | "">;
}

/**
 * Builds the helpers of `proxy`: each records its operation there. Made on
 * a proxy's first use of them, so a request that never uses them carries
 * none of their closures.
 */
function createExtensions(proxy: CogenProxy, source: InputSource | null): Extensions {
  const record = (operation: Runnable): "" => {
    // In another task (one the app started), the operation would be run by nobody: say where to call it.
    const task = runningTask();
    if (task !== null && (task.owner as { proxy?: unknown } | null)?.proxy !== proxy) {
      throw new Error(
        "cogen: environ.cogen helpers record an operation on the request being served; call them from the " +
          'app\'s own code while it runs (not from another task or a callback), then yield the "" they return',
      );
    }
    if (proxy.operation !== null) {
      throw new Error(
        `cogen: an operation (${
          String(proxy.operation)
        }) is already recorded and was not yielded yet; yield "" after each recorded operation`,
      );
    }
    proxy.operation = operation;
    return "";
  };
  const input = (): InputSource => {
    if (source === null) throw new Error("cogen: this request has no body to read through cogen.input");
    return source;
  };
  const events = {} as Record<string, (...args: unknown[]) => "">;
  for (const [name, Op] of Object.entries(EVENTS)) {
    const ctor = Op as unknown as new (...args: unknown[]) => Operation<unknown>;
    events[name] = (...args: unknown[]) => record(new ctor(...args));
  }
  const coreMirror: CoreMirror = {
    events: events as unknown as MirrorEvents,
    queue: <T>(q: Queue<T>) => ({
      get: (options?: core.OperationOptions) => record(q.get(options)),
      put: (item: T, options?: core.OperationOptions) => record(q.put(item, options)),
      join: (options?: core.OperationOptions) => record(q.join(options)),
    }),
    pubsub: <T>(ps: PublishSubscribeQueue<T>) => ({
      subscribe: (key?: unknown) => record(ps.subscribe(key)),
      unsubscribe: (key?: unknown) => record(ps.unsubscribe(key)),
      publish: (message: T) => record(ps.publish(message)),
      fetch: (options?: core.FetchOptions) => record(ps.fetch(options)),
    }),
  };
  const read = (n = 65536) => record(input().readOperation(n));
  const readline = (limit = 65536) => record(input().readlineOperation(limit));
  return {
    core: coreMirror,
    input: { read, readline, Read: read, ReadLine: readline },
    call: (factory, ...args) => record(factory(...args)),
    yield: (operation) => record(operation),
  };
}

/** Whether a yielded value is something the server runs: an operation or a promise. */
export function isRunnable(value: unknown): value is Runnable {
  return value instanceof core.Operation || isPromiseLike(value);
}
