/**
 * The environ helpers of every request (`environ.cogen.core.events…`,
 * `cogen.input`, `cogen.call`, `cogen.yield`), for both hosts of the app
 * driver: made once, they find the request they record on through the
 * running task, whose `owner` is its {@linkcode AppDriver}.
 *
 * @module
 */
import { runningTask } from "../core/scheduler.ts";
import { AppDriver } from "./app_driver.ts";
import { createExtensions, type Extensions } from "./proxy.ts";

/** The driver whose task is running: the app's own code runs in it. */
function servingDriver(): AppDriver {
  const owner = runningTask()?.owner;
  if (owner instanceof AppDriver) return owner;
  throw new Error(
    "cogen: environ.cogen helpers record an operation on the request being served; call them from the app's " +
      'own code while it runs (not from another task or a callback), then yield the "" they return',
  );
}

function noRequest(): never {
  throw new Error("cogen: no request is being served now; use the environ helpers during the request only");
}

/**
 * The helpers of every request (`environ.cogen.core.events…`, `cogen.input`,
 * `cogen.call`, `cogen.yield`): made once, they find the request through the
 * running task, so a held request carries none of their closures.
 */
export const EXTENSIONS: Extensions = createExtensions(
  () => servingDriver().proxy ?? noRequest(),
  () => servingDriver().input ?? noRequest(),
);
