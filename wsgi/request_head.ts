/**
 * `RequestHead`: what the parser made of a request's head, the fields the
 * server acts on already read out of it.
 *
 * @module
 */

/**
 * A parsed request head. `headers` is flat: `[name, value, name, value…]`,
 * names as received, values with surrounding whitespace trimmed, in order.
 *
 * @example
 * ```ts
 * import { RequestParser } from "./http_parser.ts";
 * const parser = new RequestParser({ maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 1e6 });
 * const bytes = new TextEncoder().encode("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n");
 * const end = parser.findHead(bytes, 0, bytes.length);
 * const head = parser.parseHead(bytes, end);
 * head.target; // "/a?b"
 * ```
 */
export class RequestHead {
  /** The method, as received (case-sensitive). */
  method = "";
  /** The request target exactly as received. */
  target = "";
  /** The path part of the target (absolute-form: without scheme and authority; `*` for asterisk-form). */
  path = "";
  /** What follows the first `?` (raw), or `""`. */
  query = "";
  /** `"HTTP/1.0"`, `"HTTP/1.1"`… as received. */
  version = "";
  /** 0 for HTTP/1.0, 1 for 1.1 and above. */
  minor = 1;
  /** The header fields, flat. */
  headers: string[] = [];
  /** The Host value (`""` when absent). */
  host = "";
  /** The Content-Length, or -1 when absent. */
  contentLength: number = -1;
  /** Whether the body is chunked. */
  chunked = false;
  /** Whether the connection stays open after this exchange (as the client asked). */
  keepAlive = true;
  /** Whether the client sent `Expect: 100-continue` (HTTP/1.1). */
  expectContinue = false;
  /** The Content-Type value (`""` when absent). */
  contentType = "";
  /** Bytes of the head, from the request line to the blank line included. */
  length = 0;

  /** The value of the first field named `name` (case-insensitive), or `undefined`. */
  get(name: string): string | undefined {
    const headers = this.headers;
    const lower = name.toLowerCase();
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i].length === lower.length && headers[i].toLowerCase() === lower) return headers[i + 1];
    }
    return undefined;
  }
}
