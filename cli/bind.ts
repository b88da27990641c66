/**
 * `--bind` addresses: `HOST:PORT`, `[::1]:PORT` (an IPv6 address in
 * brackets) or `unix:PATH`.
 *
 * @module
 */
import { UsageError } from "./usage_error.ts";

/** Where a worker listens: TCP, or a Unix socket. */
export type Bind = { hostname: string; port: number } | { path: string };

/**
 * Reads one `--bind` value (`flag` names where it came from in errors).
 *
 * @throws {UsageError} when it is none of the three forms, or the port is not 0 to 65535.
 * @example
 * ```ts
 * import { parseBind } from "./bind.ts";
 * parseBind("[::1]:8080", "--bind"); // { hostname: "::1", port: 8080 }
 * parseBind("unix:/tmp/app.sock", "--bind"); // { path: "/tmp/app.sock" }
 * ```
 */
export function parseBind(value: string, flag: string): Bind {
  if (value.startsWith("unix:")) {
    const path = value.slice(5);
    if (path === "") throw new UsageError(`${flag} unix: needs a path, as unix:/tmp/app.sock`);
    return { path };
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match === null ? -1 : Number(match[3]);
  if (match === null || port > 65535) {
    throw new UsageError(
      `${flag} wants HOST:PORT, [IPv6]:PORT or unix:PATH (a port from 0 to 65535), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return { hostname: match[1] ?? match[2], port };
}

/**
 * How a bind is written for people: `http://127.0.0.1:8000/` (`https://`
 * with `tls`),
 * `http://[::1]:8000/`, `unix:/tmp/app.sock`.
 *
 * @example
 * ```ts
 * import { describeBind } from "./bind.ts";
 * describeBind({ hostname: "::1", port: 8000 }); // "http://[::1]:8000/"
 * ```
 */
export function describeBind(bind: Bind, tls = false): string {
  if ("path" in bind) return `unix:${bind.path}`;
  const host = bind.hostname.includes(":") ? `[${bind.hostname}]` : bind.hostname;
  return `${tls ? "https" : "http"}://${host}:${bind.port}/`;
}
