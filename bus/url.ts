/**
 * Bus URLs, checked before anything connects (without loading a Redis
 * client: the CLI checks `--bus` this way).
 *
 * @module
 */

/**
 * Checks a bus URL: `redis://[user:pass@]host:port[/db]` (or `rediss://`
 * for TLS). Returns it as shown in messages (the password left out).
 *
 * @throws {TypeError} saying what is wrong and the form it must have.
 * @example
 * ```ts
 * import { checkRedisUrl } from "./url.ts";
 * checkRedisUrl("redis://user:secret@127.0.0.1:6379/2"); // "redis://user@127.0.0.1:6379/2"
 * ```
 */
export function checkRedisUrl(url: string): string {
  const form = "redis://[user:pass@]host:port[/db]";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`the bus URL must look like ${form}, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(
      `the bus URL must begin with redis:// (or rediss://): ${form}, got ${JSON.stringify(url)}`,
    );
  }
  if (parsed.hostname === "") {
    throw new TypeError(`the bus URL has no host: ${form}, got ${JSON.stringify(url)}`);
  }
  if (parsed.pathname !== "" && parsed.pathname !== "/" && !/^\/\d+$/.test(parsed.pathname)) {
    throw new TypeError(`the bus URL's /db must be a number: ${form}, got ${JSON.stringify(url)}`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError(`the bus URL takes no ?query or #fragment: ${form}, got ${JSON.stringify(url)}`);
  }
  const user = parsed.username === "" ? "" : `${decodeURIComponent(parsed.username)}@`;
  const port = parsed.port === "" ? "6379" : parsed.port;
  const db = /^\/\d+$/.test(parsed.pathname) ? parsed.pathname : "";
  return `${parsed.protocol}//${user}${parsed.hostname}:${port}${db}`;
}
