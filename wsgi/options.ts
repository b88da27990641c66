/**
 * The server's limits and timeouts, with safe defaults and the reason for
 * each.
 *
 * @module
 */
import type { ParserLimits } from "./http_parser.ts";

/** Limits and timeouts of the server; every field is optional. */
export interface ServerLimits {
  /**
   * Longest request line in bytes; longer gets 414. Default 8192: as nginx's
   * `large_client_header_buffers`, room for long query strings.
   */
  maxRequestLine?: number;
  /**
   * Largest header section in bytes (also trailers); larger gets 431.
   * Default 16384: as `node:http`, enough for big cookies.
   */
  maxHeaderBytes?: number;
  /** Most header fields; more gets 431. Default 100: as Apache's `LimitRequestFields`. */
  maxHeaders?: number;
  /**
   * Largest request body in bytes; larger gets 413, refused up front from the
   * declared length or chunk size. Default 10 MiB: uploads beyond that
   * deserve a deliberate setting.
   */
  maxBodyBytes?: number;
  /**
   * Bytes of an unread request body the server reads and discards to keep the
   * connection; a larger rest closes it. Default 65536.
   */
  maxDrainBytes?: number;
  /**
   * Ms from the first byte of a request (or from the connection's start)
   * until its head is complete; then 408 and close. Default 30000: a
   * slowloris client sending a byte a second is dropped after 30 s
   * (`Deno.serve` has no such timeout).
   */
  headersTimeout?: number;
  /**
   * Ms an idle keep-alive connection is kept between requests. Default 65000:
   * longer than the 60 s idle timeout of common load balancers (AWS ALB,
   * nginx), so the server never closes a connection the balancer is about to
   * reuse — the 502s `node:http` users met with its 5 s default.
   */
  keepAliveTimeout?: number;
  /**
   * Ms a socket operation may stall (cogen's `sockoper_timeout`): reading the
   * body (restarted whenever data arrives) and writing the response
   * (restarted whenever data leaves). Default 60000.
   */
  sockoperTimeout?: number;
  /**
   * Most connections open at once; the next ones get 503 and are closed.
   * Default 100000: one process holds about 10 KB per idle connection, so
   * this bounds memory (about 1 GB) and file descriptors under a flood.
   */
  maxConnections?: number;
}

/** Every limit, resolved. */
export type ResolvedLimits = Required<ServerLimits> & ParserLimits;

/** The defaults of {@linkcode ServerLimits}. */
export const DEFAULT_LIMITS: Readonly<Required<ServerLimits>> = {
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBodyBytes: 10 * 1024 * 1024,
  maxDrainBytes: 65536,
  headersTimeout: 30_000,
  keepAliveTimeout: 65_000,
  sockoperTimeout: 60_000,
  maxConnections: 100_000,
};

/**
 * Checks the limits given and fills in the defaults.
 *
 * @throws {RangeError} naming the option when a value is not a positive integer.
 * @example
 * ```ts
 * import { resolveLimits } from "./options.ts";
 * resolveLimits({ headersTimeout: 5000 }).keepAliveTimeout; // 65000
 * ```
 */
export function resolveLimits(limits: ServerLimits = {}): ResolvedLimits {
  const resolved = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`serve: ${key} must be an integer >= 1, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  return resolved;
}
