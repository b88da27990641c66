/**
 * A self-signed certificate for the TLS tests, made by `openssl` in a
 * temporary folder (removed once read): valid for `localhost` and
 * 127.0.0.1, and a second key that does not belong to it.
 *
 * @module
 */

/** A certificate, its key, and a key of another certificate (PEM text). */
export interface TestCertificate {
  cert: string;
  key: string;
  otherKey: string;
}

let made: Promise<TestCertificate> | null = null;

/** Makes the certificate once per test module (openssl takes a moment). */
export function testCertificate(): Promise<TestCertificate> {
  return made ??= make();
}

async function make(): Promise<TestCertificate> {
  const dir = await Deno.makeTempDir({ prefix: "cogen-tls-" });
  try {
    const openssl = async (...args: string[]) => {
      const { code, stderr } = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
        .output();
      if (code !== 0) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
    };
    await openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
      // A server's own certificate, not an authority's: TLS clients refuse a CA certificate as the server's.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
    );
    await openssl(
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      `${dir}/other.pem`,
    );
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
      otherKey: await Deno.readTextFile(`${dir}/other.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
