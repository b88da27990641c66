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
  404: "Not Found",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/**
 * A request refused by the parser or the server: `status` is the answer
 * (400, 413, 414, 417, 431, 501, 505…), `message` says what was wrong. The
 * connection is closed after the answer.
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

  /** Creates the error. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}
