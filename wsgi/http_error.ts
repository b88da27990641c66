/**
 * `HttpError`: a request the server refuses, with the status to answer.
 *
 * @module
 */

/** Reason phrases of the statuses the server itself sends. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/**
 * A request refused by the parser, the server or an app: `status` is the
 * answer (400, 413, 414, 417, 426, 431, 501, 505…), `message` says what was
 * wrong (the answer's text says it too), `headers` go with the answer
 * (`Sec-WebSocket-Version: 13` with a 426, say). The connection is closed
 * after the answer.
 *
 * @example
 * ```ts
 * import { HttpError } from "@cogen/cogen/wsgi";
 * const err = new HttpError(414, "request line longer than 8192 bytes");
 * err.status; // 414
 * ```
 */
export class HttpError extends Error {
  /** The status to answer with. */
  readonly status: number;
  /** More fields of the answer. */
  readonly headers: readonly [string, string][];

  /** Creates the error. */
  constructor(status: number, message: string, headers: readonly [string, string][] = []) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}
