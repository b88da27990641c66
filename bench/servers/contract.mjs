// @ts-check
/**
 * What the bench's servers share, whichever runtime runs them (Deno or
 * Node): their settings from the environment, the line that says they
 * listen, and the long-polling contract of `examples/longpoll.ts`.
 *
 * @module
 */

/** What the `hello` app answers to every request (and the others to `GET /`). */
export const HELLO = "Hello, World!";
/** Bytes of `x` the `transfer` app answers to `GET /64k`. */
export const BIG_SIZE = 65536;

/**
 * The server's settings from `env`: `HOST` (default 127.0.0.1), `PORT`
 * (default 0: any free port), `APP`, one of `apps` (default the first), and
 * `CERT_FILE` and `KEY_FILE` (PEM files: serve HTTPS with them; both or
 * neither; empty is unset). Throws, naming `file`, for another `APP` or only one of the two
 * files.
 *
 * @template {string} A
 * @param {Record<string, string | undefined>} env
 * @param {string} file
 * @param {readonly A[]} apps
 * @returns {{ hostname: string, port: number, app: A, tls: { certFile: string, keyFile: string } | null }}
 */
export function settings(env, file, apps) {
  const app = /** @type {A} */ (env.APP ?? apps[0]);
  if (!apps.includes(app)) throw new Error(`${file}: APP must be one of ${apps.join(", ")}, got ${app}`);
  // An empty variable counts as unset (the bench sets both empty for the sections without TLS).
  const certFile = env.CERT_FILE || undefined;
  const keyFile = env.KEY_FILE || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Error(`${file}: set both CERT_FILE and KEY_FILE (PEM files) to serve HTTPS, or neither`);
  }
  const tls = certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : null;
  return { hostname: env.HOST ?? "127.0.0.1", port: Number(env.PORT ?? 0), app, tls };
}

/**
 * The line the bench waits for (`bench/server_process.ts`).
 *
 * @param {string} hostname
 * @param {number} port
 * @param {boolean} [secure] whether the server speaks HTTPS
 */
export function listening(hostname, port, secure = false) {
  return `listening on ${secure ? "https" : "http"}://${hostname}:${port}/`;
}

/** The long-polling clients waiting for the next signal: each a function that answers it. */
export class Waiters {
  /** @type {Set<(value: string) => void>} */
  #waiting = new Set();

  /**
   * Holds `wake` until the next signal; returns what withdraws it (the client left).
   *
   * @param {(value: string) => void} wake
   */
  add(wake) {
    this.#waiting.add(wake);
    return () => this.#waiting.delete(wake);
  }

  /**
   * The contract's answer to a request for `url` other than `GET /wait`:
   * `/signal?value=V` wakes every waiter with V and answers how many;
   * `/stats` answers how many wait; anything else is not found.
   *
   * @param {URL} url
   * @returns {[status: number, text: string]}
   */
  answer(url) {
    if (url.pathname === "/stats") return [200, `${this.#waiting.size}\n`];
    if (url.pathname !== "/signal") return [404, "not found\n"];
    const value = url.searchParams.get("value") ?? "";
    const woken = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of woken) wake(value);
    return [200, `${woken.length}\n`];
  }
}
