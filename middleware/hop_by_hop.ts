/**
 * The hop-by-hop header fields, shared by the middleware that drop them or
 * flag them.
 *
 * @module
 */

/**
 * Fields that describe one connection (RFC 9110 §7.6.1): the server sets
 * them (framing, keep-alive); an app or a fetch handler does not. Lower case.
 *
 * @example
 * ```ts
 * import { HOP_BY_HOP } from "./hop_by_hop.ts";
 * HOP_BY_HOP.has("transfer-encoding"); // true
 * ```
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "trailers",
  "transfer-encoding",
  "upgrade",
]);
