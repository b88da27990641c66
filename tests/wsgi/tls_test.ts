/**
 * HTTPS: `serve(app, { cert, key })` on `Deno.listenTls` (ALPN http/1.1),
 * with a self-signed certificate made by openssl. Real clients (`fetch`,
 * raw TLS sockets); a plain-HTTP client and one that never says hello do not
 * disturb the server; certificates and keys that cannot be used are clear
 * errors at start.
 */
import assert from "node:assert/strict";
import { serve } from "../../wsgi/mod.ts";
import type { App } from "../../wsgi/mod.ts";
import { Signal, Sleep, WaitForSignal } from "../../core/mod.ts";
import { sse } from "../../middleware/mod.ts";
import { Client, HOST, startServer, until } from "../http.ts";
import { testCertificate } from "../tls_certificate.ts";

const hello: App = (environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [`Hello, World! ${environ["wsgi.url_scheme"]} ${environ.PATH_INFO}`];
};

async function tlsClient(port: number, cert: string, hostname = "localhost"): Promise<Client> {
  const conn = await Deno.connectTls({ hostname, port, caCerts: [cert], alpnProtocols: ["http/1.1"] });
  return new Client(conn);
}

Deno.test("tls: fetch over HTTPS; the environ says https", async () => {
  const { cert, key } = await testCertificate();
  const server = startServer(hello, { cert, key });
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    for (const host of ["localhost", "127.0.0.1"]) {
      const response = await fetch(`https://${host}:${server.port}/x`, { client });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "Hello, World! https /x");
    }
    // Plain HTTP servers keep saying http.
    const plain = startServer(hello);
    try {
      const response = await fetch(`http://${HOST}:${plain.port}/y`);
      assert.equal(await response.text(), "Hello, World! http /y");
    } finally {
      await plain.stop();
    }
  } finally {
    client.close();
    await server.stop();
  }
  assert.deepEqual(server.errors, []);
});

Deno.test("tls: ALPN picks http/1.1; pipelined requests on one TLS socket get exact answers in order", async () => {
  const { cert, key } = await testCertificate();
  const server = startServer(hello, { cert, key });
  try {
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: server.port,
      caCerts: [cert],
      alpnProtocols: ["h2", "http/1.1"],
    });
    const info = await conn.handshake();
    assert.equal(info.alpnProtocol, "http/1.1");
    const client = new Client(conn);
    try {
      const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
      assert.ok(await client.write(request("/a") + request("/b") + request("/c")));
      for (const path of ["/a", "/b", "/c"]) {
        const response = await client.response();
        assert.equal(response.status, 200);
        assert.equal(response.body, `Hello, World! https ${path}`);
      }
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("tls: a plain-HTTP client is closed, a silent one let go after headersTimeout; neither is logged or holds up others", async () => {
  const { cert, key } = await testCertificate();
  const server = startServer(hello, { cert, key, headersTimeout: 300, keepAliveTimeout: 300 });
  try {
    // Plain HTTP on the TLS port: the handshake fails, the connection closes.
    const plain = await Client.connect(server.port);
    assert.ok(await plain.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    // (rustls may send an alert first; no HTTP answer either way.)
    const outcome = await plain.readUntilClose(2000);
    assert.ok(outcome.closed, "the plain client was closed");
    assert.ok(!outcome.text.includes("HTTP/1.1"), outcome.text);
    await plain.close();
    // A client that connects and never says hello is closed after headersTimeout.
    // A client that connects and never says hello does not hold up the others, and after headersTimeout the
    // server has let go of it. (Deno keeps the TCP socket itself until the client sends or leaves: closing a
    // TLS connection whose handshake has not begun does not close its socket. Deno.serve does the same.)
    const silent = await Client.connect(server.port);
    const client = await tlsClient(server.port, cert);
    assert.ok(await client.write(`GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    assert.equal((await client.response()).body, "Hello, World! https /after");
    await client.close();
    await until(() => server.server.server.connections === 0, 2000, "the silent connection to be let go");
    await silent.close();
    assert.deepEqual(server.errors, []);
  } finally {
    await server.stop();
  }
});

Deno.test("tls: a held long poll is answered over TLS; a client that leaves is noticed and its app stopped", async () => {
  const { cert, key } = await testCertificate();
  const stopped: string[] = [];
  const app: App = async function* (environ, startResponse) {
    try {
      if (environ.PATH_INFO === "/wake") yield new Signal("/held");
      else yield new WaitForSignal(environ.PATH_INFO, { timeout: 5000 });
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      yield "woken";
    } finally {
      stopped.push(environ.PATH_INFO as string);
    }
  };
  const server = startServer(app, { cert, key });
  try {
    const leaving = await tlsClient(server.port, cert);
    assert.ok(await leaving.write(`GET /leaving HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    const held = await tlsClient(server.port, cert);
    assert.ok(await held.write(`GET /held HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    leaving.close();
    await until(() => stopped.includes("/leaving"), 3000, "the app of the client that left to stop");
    const waker = await tlsClient(server.port, cert);
    assert.ok(await waker.write(`GET /wake HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    assert.equal((await waker.response()).body, "woken");
    waker.close();
    const response = await held.response();
    assert.equal(response.status, 200);
    assert.equal(response.body, "woken");
    held.close();
  } finally {
    await server.stop();
  }
});

Deno.test("tls: a certificate or key that cannot be used is a clear error at start", async () => {
  const { cert, key, otherKey } = await testCertificate();
  const cases: [Parameters<typeof serve>[1], RegExp][] = [
    [{ cert }, /TLS needs both cert and key \(PEM text\); key is missing/],
    [{ key }, /TLS needs both cert and key \(PEM text\); cert is missing/],
    [
      { cert: "cert.pem", key },
      /cert must be PEM text \("-----BEGIN …"\), got "cert.pem"; to use a file, read it/,
    ],
    [{ cert, key: otherKey }, /the TLS key does not belong to the certificate \(KeyMismatch\)/],
    [
      { cert: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", key },
      /cert holds no usable certificate \(invalid peer certificate: BadEncoding\)/,
    ],
    [{ cert, key: cert }, /key holds no usable private key \(No keys found in key data\)/],
    [
      { cert, key, path: "/tmp/cogen-tls-test.sock" },
      /TLS is for TCP addresses; a Unix socket \(path\) takes no cert or key/,
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => serve(hello, { hostname: HOST, port: 0, ...options }), message);
  }
});

Deno.test("tls: Server-Sent Events stream over HTTPS, each event as it is made", async () => {
  const { cert, key } = await testCertificate();
  const events = sse(async function* () {
    for (let n = 1; n <= 3; n++) {
      yield new Sleep(20);
      yield { id: n, data: `tick ${n}` };
    }
  });
  const server = startServer(events, { cert, key });
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    const response = await fetch(`https://localhost:${server.port}/`, { client });
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const first = await reader.read();
    text += first.value ?? "";
    assert.ok(!text.includes("tick 3"), "the first event arrives before the last is made");
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    assert.equal(text, "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\nid: 3\ndata: tick 3\n\n");
  } finally {
    client.close();
    await server.stop();
  }
});
