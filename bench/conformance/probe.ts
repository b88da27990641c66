/**
 * Sends one case to one server over a fresh TCP connection and records what
 * came back — the statuses (interim ones too), then whether the connection
 * was closed, reset or kept open, or that nothing came — and judges it
 * against what the case allows.
 *
 * @module
 */
import { closeQuietly, parseResponse, writeAll } from "../raw_http.ts";
import type { Case } from "./cases.ts";

/** Ms without a response before a request counts as unanswered. */
export const TIMEOUT = 2500;
/** Ms to wait after a final response for more data or the close. */
export const IDLE = 500;
/** Ms a staged request (`Expect: 100-continue`) waits for the interim response before sending its body anyway. */
const CONTINUE_WAIT = 1000;

/** What one request got. */
export interface Outcome {
  /** Statuses received, interim ones included, in order. */
  statuses: number[];
  /** Whether the server closed the connection (within the idle wait after the last response). */
  closed: boolean;
  /** Whether the close was a reset. */
  reset: boolean;
  /** No final response within the timeout, connection still open. */
  timeout: boolean;
}

const latin1 = new TextDecoder("latin1");

/** Collects what a connection receives; `wait` resolves on new data, on the end, or after `ms`. */
class Receiver {
  text = "";
  eof = false;
  reset = false;
  #wake: (() => void) | null = null;

  constructor(conn: Deno.Conn) {
    this.#pump(conn);
  }

  async #pump(conn: Deno.Conn): Promise<void> {
    const chunk = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) break;
        this.text += latin1.decode(chunk.subarray(0, n));
        this.#notify();
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) this.reset = true;
    }
    this.eof = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  wait(ms: number): Promise<void> {
    if (this.eof) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The statuses of the complete responses so far. */
  statuses(): number[] {
    const statuses: number[] = [];
    for (let at = 0;;) {
      const parsed = parseResponse(this.text, at, this.eof);
      if (!parsed.complete || "error" in parsed) return statuses;
      statuses.push(parsed.response.status);
      at = parsed.end;
    }
  }
}

const finals = (statuses: number[]) => statuses.filter((s) => s >= 200).length;

/** Sends `c` to 127.0.0.1:`port` on a fresh connection and records what came back. */
export async function probe(port: number, c: Case): Promise<Outcome> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const receiver = new Receiver(conn);
  const send = (s: string) => writeAll(conn, Uint8Array.from(s, (ch) => ch.charCodeAt(0))).catch(() => {});
  try {
    if (c.staged) {
      send(c.parts[0]);
      const until = Date.now() + CONTINUE_WAIT;
      while (Date.now() < until && receiver.statuses().length === 0 && !receiver.eof) {
        await receiver.wait(until - Date.now());
      }
      if (finals(receiver.statuses()) === 0 && !receiver.eof) {
        for (const part of c.parts.slice(1)) await send(part);
      }
    } else {
      // Written without waiting: a server may answer (and close) before it has read everything.
      send(c.parts.join(""));
    }
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const statuses = receiver.statuses();
      if (receiver.eof) return { statuses, closed: true, reset: receiver.reset, timeout: false };
      if (finals(statuses) > 0) {
        // Wait for more responses, or the close.
        const before = receiver.text.length;
        await receiver.wait(IDLE);
        if (!receiver.eof && receiver.text.length === before) {
          return { statuses, closed: false, reset: false, timeout: false };
        }
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { statuses, closed: false, reset: false, timeout: true };
      await receiver.wait(left);
    }
  } finally {
    closeQuietly(conn);
  }
}

/** The outcome as the table shows it: `400 (closed)`, `timeout`, `closed, no response`. */
export function describe(o: Outcome): string {
  if (o.timeout && o.statuses.length === 0) return "timeout";
  const statuses = o.statuses.join(" ");
  if (statuses === "") return o.reset ? "reset, no response" : "closed, no response";
  const after = o.timeout ? "then timeout" : o.reset ? "reset" : o.closed ? "closed" : "open";
  return `${statuses} (${after})`;
}

function matches(o: Outcome, pattern: string): boolean {
  if (pattern === "timeout") return o.timeout && o.statuses.length === 0;
  if (pattern === "none") return o.statuses.length === 0 && o.closed;
  const want = pattern.split(" ");
  if (want.length !== o.statuses.length || o.timeout) return false;
  return want.every((w, i) => {
    const got = String(o.statuses[i]);
    return w.length === 3 && [...w].every((ch, j) => ch === "x" || ch === got[j]);
  });
}

/** Why `o` deviates from what `c` allows, or `null`. */
export function deviation(c: Case, o: Outcome): string | null {
  if (!c.expect.some((p) => matches(o, p))) return `got ${describe(o)}, expected ${c.expect.join(" or ")}`;
  if (o.statuses.length > 0 && !o.timeout) {
    if (c.close === true && !o.closed) return "connection kept open, MUST be closed";
    if (c.close === false && o.closed) return "connection closed, should persist";
  }
  return null;
}
