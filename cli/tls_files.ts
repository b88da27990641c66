/**
 * The certificate and key files of `--cert` and `--key`, read as PEM text.
 * The supervisor reads them once at start (a bad file is a one-line error
 * before any worker starts); each worker reads them again when it starts, so
 * that a reload (SIGHUP) serves a renewed certificate.
 *
 * @module
 */
import { type TlsKeyPair, tlsKeyPair } from "../wsgi/tls.ts";

/**
 * Reads `--cert` and `--key`; throws an error whose message names the flag
 * and file that could not be used.
 *
 * @example
 * ```ts ignore
 * const pair = readTlsFiles("cert.pem", "key.pem");
 * new WSGIServer({ port: 8443 }, app, sched, { ...pair });
 * ```
 */
export function readTlsFiles(certFile: string, keyFile: string): TlsKeyPair {
  const read = (flag: string, file: string): string => {
    try {
      return Deno.readTextFileSync(file);
    } catch (error) {
      throw new Error(`${flag} ${file}: cannot read it (${error instanceof Error ? error.message : error})`);
    }
  };
  const cert = read("--cert", certFile);
  const key = read("--key", keyFile);
  try {
    return tlsKeyPair({ cert, key }, false, "--cert/--key")!;
  } catch (error) {
    // Name the files, not the PEM text they should have held.
    const wrong = cert.includes("-----BEGIN ") ? `--key ${keyFile}` : `--cert ${certFile}`;
    throw new Error(
      `${wrong}: not a PEM file (no "-----BEGIN" line): ${(error as Error).message.split(";")[0]}`,
    );
  }
}
