/**
 * `UsageError`: a mistake on the command line.
 *
 * @module
 */

/**
 * A mistake on the command line: the message names the flag and what it
 * wants (the CLI prints it with the usage and exits 2). An empty message is
 * `--help`.
 *
 * @example
 * ```ts
 * import { UsageError } from "./usage_error.ts";
 * new UsageError("unknown option --wokers").message; // "unknown option --wokers"
 * ```
 */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
