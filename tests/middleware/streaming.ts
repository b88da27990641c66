/**
 * The apps the middleware tests stack their middleware around to prove they
 * stream: one that sends a first chunk, waits on an operation carried by
 * `""`, then on one yielded directly, and notes that its `finally` ran; and
 * the route that wakes it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Await, Signal } from "../../core/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { Client, DS, get, normalizeDate, responseTo, TEXT } from "../http.ts";

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

/**
 * Asserts that a server running {@linkcode helloWaitWorld} (wrapped in
 * middleware) at `path`, and {@linkcode go} at `/go`, streams: "Hello "
 * reaches the client while the app waits, `/go` finds it still waiting, and
 * the whole chunked answer (with `status`) follows. `whileWaiting` runs
 * between "Hello " and the signal.
 */
export async function assertStreams(
  port: number,
  options: { path?: string; status?: string; whileWaiting?: () => void } = {},
): Promise<void> {
  const { path = "/", status = "200 OK", whileWaiting } = options;
  const client = await Client.connect(port);
  try {
    assert.ok(await client.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.ok(
      await client.readUntil((text) => text.endsWith("\r\n\r\n6\r\nHello \r\n")),
      "Hello before the signal",
    );
    whileWaiting?.();
    assert.equal((await responseTo(port, get("/go"))).text, "1", "the app was still waiting");
    const response = await client.response();
    assert.equal(
      normalizeDate(response.raw),
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\n${DS}Transfer-Encoding: chunked\r\n\r\n` +
        "6\r\nHello \r\n19\r\nWorld (signalled, direct)\r\n0\r\n\r\n",
    );
  } finally {
    await client.close();
  }
}
