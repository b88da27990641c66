/**
 * What a {@linkcode WorkerPool} and its workers say to each other.
 *
 * @module
 */

/** A call sent to a worker. */
export interface CallMessage {
  /** Matches the reply to the call. */
  id: number;
  /** `call`: a function with arguments; `wsgi`: a synchronous WSGI app on a request (`args[0]`). */
  kind: "call" | "wsgi";
  /** The module the worker imports (once). */
  module: string;
  /** The export to run. */
  name: string;
  /** Its arguments. */
  args: unknown[];
}

/** An error as it crosses from a worker: its name, message and stack. */
export interface SentError {
  name: string;
  message: string;
  stack: string;
}

/** A worker's answer to a call. */
export type ReplyMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SentError };

/** A request as a synchronous app in a worker sees it. */
export interface WsgiRequest {
  /** The environ's plain fields (strings, numbers, booleans). */
  environ: Record<string, string | number | boolean>;
  /** The request body, read whole. */
  body: Uint8Array;
}

/** What a synchronous app answered. */
export interface WsgiReply {
  status: string;
  headers: [string, string][];
  body: Uint8Array;
}
