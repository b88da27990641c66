/**
 * The apps the middleware tests stack their middleware around to prove they
 * stream: one that sends a first chunk, waits on an operation carried by
 * `""`, then on one yielded directly, and notes that its `finally` ran; and
 * the route that wakes it.
 *
 * @module
 */
import { Await, Signal } from "../../core/mod.ts";
import type { App } from "../../wsgi/mod.ts";

const TEXT: [string, string][] = [["Content-Type", "text/plain"]];

/** Yields "Hello ", waits for the "go" signal (an operation carried by ""), then "World (value, direct)". */
export function helloWaitWorld(probe: { finallyRan: boolean }, status = "200 OK"): App {
  return async function* (environ, startResponse) {
    try {
      startResponse(status, TEXT);
      yield "Hello ";
      yield environ.cogen.core.events.WaitForSignal("go", { timeout: 5000 });
      const signalled = environ.cogen.result;
      const direct: unknown = yield new Await(Promise.resolve("direct"));
      yield `World (${signalled}, ${direct})`;
    } finally {
      probe.finallyRan = true;
    }
  };
}

/** Signals "go" with "signalled"; answers how many it woke. */
export const go: App = async function* (_environ, startResponse) {
  const woken: number = yield new Signal("go", "signalled");
  startResponse("200 OK", TEXT);
  yield String(woken);
};
