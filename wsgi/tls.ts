/**
 * TLS for the server: the certificate and key a server is given, checked
 * before it listens, and the listener's errors made into ones that say what
 * to do.
 *
 * @module
 */

/** A certificate chain and its private key, as PEM text. */
export interface TlsKeyPair {
  /** The certificate chain (`-----BEGIN CERTIFICATE-----…`), the server's own first. */
  cert: string;
  /** Its private key (`-----BEGIN PRIVATE KEY-----…`, or an RSA or EC key). */
  key: string;
}

/** The protocol a TLS client is told we speak (ALPN): HTTP/1.1 only. */
export const ALPN_PROTOCOLS = ["http/1.1"];

/**
 * The key pair in `options`, checked: `null` for plain TCP (neither given).
 * `who` names the caller in the error (`serve`, `WSGIServer`).
 *
 * @throws {TypeError} when only one is given, either is not PEM text (a file
 *   path, say), or the address is a Unix socket.
 * @example
 * ```ts
 * import { tlsKeyPair } from "./tls.ts";
 * tlsKeyPair({}, false, "serve"); // null
 * ```
 */
export function tlsKeyPair(
  options: { cert?: string; key?: string },
  unixSocket: boolean,
  who: string,
): TlsKeyPair | null {
  const { cert, key } = options;
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined || key === undefined) {
    throw new TypeError(
      `${who}: TLS needs both cert and key (PEM text); ${cert === undefined ? "cert" : "key"} is missing`,
    );
  }
  if (unixSocket) {
    throw new TypeError(`${who}: TLS is for TCP addresses; a Unix socket (path) takes no cert or key`);
  }
  for (const [name, pem] of [["cert", cert], ["key", key]]) {
    if (typeof pem !== "string" || !pem.includes("-----BEGIN ")) {
      const shown = typeof pem === "string"
        ? JSON.stringify(pem.length > 40 ? `${pem.slice(0, 40)}…` : pem)
        : typeof pem;
      throw new TypeError(
        `${who}: ${name} must be PEM text ("-----BEGIN …"), got ${shown}; ` +
          `to use a file, read it: ${name}: Deno.readTextFileSync(path)`,
      );
    }
  }
  return { cert, key };
}

/**
 * An error of `Deno.listenTls` made clear: a key that does not match the
 * certificate, or PEM text that holds no certificate or no key.
 *
 * @example
 * ```ts
 * import { tlsListenError } from "./tls.ts";
 * tlsListenError(new Error("keys may not be consistent: KeyMismatch"), "serve").message;
 * // "serve: the TLS key does not belong to the certificate (KeyMismatch): give the key the certificate was made with"
 * ```
 */
export function tlsListenError(error: unknown, who: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/KeyMismatch|not be consistent/i.test(message)) {
    return new TypeError(
      `${who}: the TLS key does not belong to the certificate (KeyMismatch): give the key the certificate was made with`,
    );
  }
  if (/No certificates found|certificate|BadEncoding/i.test(message)) {
    return new TypeError(
      `${who}: cert holds no usable certificate (${message}): give a PEM certificate chain`,
    );
  }
  if (/No keys found|key/i.test(message)) {
    return new TypeError(`${who}: key holds no usable private key (${message}): give the PEM private key`);
  }
  return new TypeError(`${who}: the TLS certificate and key could not be used: ${message}`);
}
