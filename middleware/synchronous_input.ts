/**
 * `SynchronousInputMiddleware`: buffers the body with asynchronous reads,
 * then runs the app with a `wsgi.input` whose synchronous methods work.
 *
 * @module
 */
import { Input } from "../wsgi/mod.ts";
import type { App } from "../wsgi/mod.ts";
import { relay } from "./relay.ts";

/** Options of {@linkcode SynchronousInputMiddleware}. */
export interface SynchronousInputOptions {
  /** Bytes per read while buffering. Default 65536. */
  bufferLength?: number;
}

/**
 * Reads the whole request body first — each read an operation through
 * `environ["cogen.input"]`, so other connections run meanwhile — then calls
 * `app` with `wsgi.input` replaced by the buffered body: `read(n)`,
 * `readline()` and `readlines()` work synchronously. A body that fails to
 * arrive (the client leaves, bad chunking, over `maxBodyBytes`) fails the
 * request before the app runs.
 *
 * @throws {RangeError} when `bufferLength` is not an integer >= 1.
 * @example
 * ```ts
 * import { SynchronousInputMiddleware } from "@cogen/cogen/middleware";
 * import type { App } from "@cogen/cogen/wsgi";
 * const legacy: App = (environ, startResponse) => {
 *   const lines = environ["wsgi.input"].readlines(); // synchronous: the body is buffered
 *   startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *   return [`${lines.length} lines`];
 * };
 * const app = SynchronousInputMiddleware(legacy, { bufferLength: 8192 });
 * ```
 */
export function SynchronousInputMiddleware(app: App, options: SynchronousInputOptions = {}): App {
  const bufferLength = options.bufferLength ?? 65536;
  if (!Number.isInteger(bufferLength) || bufferLength < 1) {
    throw new RangeError(
      `SynchronousInputMiddleware: bufferLength must be an integer >= 1, got ${bufferLength}`,
    );
  }
  return async function* synchronousInput(environ, startResponse) {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      yield environ["cogen.input"].read(bufferLength);
      const chunk = environ.cogen.result;
      if (environ.cogen.exception !== null) throw environ.cogen.exception;
      if (!(chunk instanceof Uint8Array) || chunk.length === 0) break; // "" at the end
      parts.push(chunk);
      total += chunk.length;
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    environ["wsgi.input"] = Input.fromBytes(body, environ["wsgi.input"].trailers);
    yield* relay(app(environ, startResponse));
  };
}
