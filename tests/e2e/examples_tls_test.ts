/**
 * The examples over HTTPS: with `CERT_FILE` and `KEY_FILE` in its
 * environment an example (here `examples/hello.ts`, in a child process)
 * serves TLS and says `listening on https://…`; with only one of the two it
 * refuses to start, saying what to set.
 */
import assert from "node:assert/strict";
import { testCertificate } from "../tls_certificate.ts";

const HELLO = "Hello, World!";
const EXAMPLE = new URL("../../examples/hello.ts", import.meta.url).pathname;

/** Writes the test certificate and its key into a new temporary folder; returns their paths. */
async function certificateFiles(): Promise<{ dir: string; cert: string; certFile: string; keyFile: string }> {
  const { cert, key } = await testCertificate();
  const dir = await Deno.makeTempDir({ prefix: "cogen-example-tls-" });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert);
  await Deno.writeTextFile(`${dir}/key.pem`, key);
  return { dir, cert, certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` };
}

function spawnExample(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE],
    env: { HOST: "127.0.0.1", PORT: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads the child's stdout until its `listening on` line; returns the line. */
async function listeningLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  try {
    for (;;) {
      const line = /listening on \S+/.exec(out)?.[0];
      if (line !== undefined) return line;
      const { value, done } = await reader.read();
      if (done) throw new Error(`the example exited before listening: ${out}`);
      out += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

Deno.test("examples over HTTPS: CERT_FILE and KEY_FILE serve TLS, and the line says https", async () => {
  const files = await certificateFiles();
  const child = spawnExample({ CERT_FILE: files.certFile, KEY_FILE: files.keyFile });
  const stderr = new Response(child.stderr).text();
  try {
    const line = await listeningLine(child);
    const port = Number(/^listening on https:\/\/127\.0\.0\.1:(\d+)\/$/.exec(line)?.[1]);
    assert.ok(port > 0, `not an https listening line: ${line}`);
    const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [files.cert] });
    try {
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      const text = await new Response(conn.readable).text();
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith(`\r\n\r\n${HELLO}`), `the body is not ${HELLO}: ${JSON.stringify(text)}`);
    } finally {
      try {
        conn.close();
      } catch {
        // closed with its readable
      }
    }
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await stderr;
    await Deno.remove(files.dir, { recursive: true });
  }
});

Deno.test("examples over HTTPS: CERT_FILE without KEY_FILE stops at start, saying to set both", async () => {
  const files = await certificateFiles();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", EXAMPLE],
      env: { HOST: "127.0.0.1", PORT: "0", CERT_FILE: files.certFile },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(out.code, 0);
    assert.equal(new TextDecoder().decode(out.stdout), "");
    assert.match(
      new TextDecoder().decode(out.stderr),
      /set both CERT_FILE and KEY_FILE \(PEM files\) to serve HTTPS, or neither/,
    );
  } finally {
    await Deno.remove(files.dir, { recursive: true });
  }
});
