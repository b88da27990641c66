/**
 * The CLI over HTTPS: `--cert FILE --key FILE`, as a user types it
 * (`cli.ts examples/hello.ts:hello --bind 127.0.0.1:PORT --cert cert.pem
 * --key key.pem`), with two workers, and its answers to files that cannot
 * be used.
 */
import assert from "node:assert/strict";
import { HOST } from "../http.ts";
import { testCertificate } from "../tls_certificate.ts";
import { appFolder, freePort, RunningCli } from "./run_cli.ts";

const HELLO = new URL("../../examples/hello.ts", import.meta.url).pathname;

Deno.test("cli tls: examples/hello.ts:hello with --cert and --key answers Hello, World! over HTTPS, from two workers", async () => {
  const { cert, key } = await testCertificate();
  await using dir = await appFolder({ "cert.pem": cert, "key.pem": key });
  const port = freePort();
  const cli = new RunningCli([
    `${HELLO}:hello`,
    "--bind",
    `${HOST}:${port}`,
    "-w",
    "2",
    "--cert",
    "cert.pem",
    "--key",
    "key.pem",
  ], {
    cwd: dir.path,
  });
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    await cli.until(() => cli.announcedPids.length === 2, "two workers to listen");
    assert.ok(
      cli.stdout.some((line) => line.endsWith(`listening on https://${HOST}:${port}/`)),
      cli.output(),
    );
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`https://localhost:${port}/`, { client });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "Hello, World!");
    }
    // Plain HTTP on the HTTPS port gets no answer (the connection closes), and the workers stay.
    await assert.rejects(fetch(`http://${HOST}:${port}/`).then((r) => r.text()));
    const response = await fetch(`https://localhost:${port}/`, { client });
    assert.equal(await response.text(), "Hello, World!");
  } finally {
    client.close();
    await cli.stop();
  }
});

Deno.test("cli tls: a key of another certificate, an unreadable file, a file that is not PEM: exit 1, one line naming it", async () => {
  const { cert, key, otherKey } = await testCertificate();
  await using dir = await appFolder({
    "cert.pem": cert,
    "key.pem": key,
    "other.pem": otherKey,
    "notes.txt": "hello",
  });
  const port = freePort();
  const cases: [string, string, string][] = [
    [
      "cert.pem",
      "other.pem",
      `cogen: cannot listen on https://${HOST}:${port}/: --cert/--key: the TLS key does not belong to the ` +
      "certificate (KeyMismatch): give the key the certificate was made with",
    ],
    ["cert.pem", "missing.pem", "cogen: --key missing.pem: cannot read it ("],
    [
      "notes.txt",
      "key.pem",
      `cogen: --cert notes.txt: not a PEM file (no "-----BEGIN" line): --cert/--key: cert must be PEM text`,
    ],
  ];
  for (const [certFile, keyFile, line] of cases) {
    const cli = new RunningCli([
      `${HELLO}:hello`,
      "-b",
      `${HOST}:${port}`,
      "--cert",
      certFile,
      "--key",
      keyFile,
    ], {
      cwd: dir.path,
    });
    assert.equal((await cli.exited()).code, 1, cli.output());
    assert.equal(cli.stderr.length, 1, cli.output());
    assert.ok(cli.stderr[0].startsWith(line), cli.output());
  }
});

Deno.test("cli tls: --cert without --key, or TLS on a unix: socket, is usage and exit 2", async () => {
  for (
    const [args, message] of [
      [["--cert", "cert.pem"], "--cert and --key go together: --key is missing"],
      [["--key", "key.pem"], "--cert and --key go together: --cert is missing"],
      [
        ["--cert", "c.pem", "--key", "k.pem", "-b", "unix:/tmp/x.sock"],
        "TLS is for TCP binds: a unix: socket takes no --cert/--key",
      ],
    ] as [string[], string][]
  ) {
    const cli = new RunningCli([`${HELLO}:hello`, ...args]);
    assert.equal((await cli.exited()).code, 2, cli.output());
    assert.ok(cli.stderr.some((line) => line.includes(message)), cli.output());
  }
});
