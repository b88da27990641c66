/**
 * The `tls` section of `deno task bench`: the `hello` servers over HTTPS —
 * `examples/hello.ts` on our server, `Deno.serve`, `node:https` (under Node)
 * and the `Deno.listen` floor on `Deno.listenTls` — with a self-signed P-256
 * certificate made by `openssl` for the run, loaded by wrk: keep-alive with
 * {@linkcode CONNECTIONS} connections (req/s, and the server's CPU per
 * request), and a new connection for every request (`Connection: close`:
 * every request pays a full handshake). See `bench/http.ts` for the rounds.
 *
 * @module
 */
import { testCertificate } from "../tests/tls_certificate.ts";
import {
  CONNECTIONS,
  cpuPerRequest,
  HELLO_BODY,
  type HttpOptions,
  rateAndCpuText,
  runSection,
  type SectionSpec,
} from "./http.ts";
import { exchange, expect, GET } from "./raw_http.ts";
import type { SectionOutput } from "./results.ts";

const CLOSE_REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/** The section's spec for servers given `env` (their TLS files), checked with `caCerts`. */
function tlsSpec(env: Record<string, string>, caCerts: string[]): SectionSpec {
  return {
    app: "tls",
    scheme: "https",
    env,
    metrics: [
      {
        id: "ka",
        label: `HTTPS keep-alive, ${CONNECTIONS} connections (req/s)`,
        short: `HTTPS keep-alive c${CONNECTIONS}`,
        unit: "req/s",
        higherIsBetter: true,
        // Issue 18: HTTPS hello within 0.9× Deno.serve's HTTPS.
        targets: [{ vs: "deno", factor: 0.9 }],
      },
      {
        id: "ka.cpuUs",
        label: `HTTPS keep-alive, ${CONNECTIONS} connections: the server's CPU per request (µs)`,
        short: "CPU per HTTPS request",
        unit: "µs",
        higherIsBetter: false,
      },
      {
        id: "handshake",
        label: `a new TLS connection per request, ${CONNECTIONS} connections (req/s)`,
        short: "handshakes",
        unit: "req/s",
        higherIsBetter: true,
      },
      {
        id: "handshake.cpuUs",
        label: "a new TLS connection per request: the server's CPU per request (µs)",
        short: "CPU per handshake",
        unit: "µs",
        higherIsBetter: false,
      },
    ],
    scenarios: [
      {
        id: "ka",
        name: `https c${CONNECTIONS}`,
        path: "/",
        options: { connections: CONNECTIONS, mode: { kind: "get" } },
        inFlight: CONNECTIONS,
        record: (run) => ({ ka: run.wrk.reqPerSec, "ka.cpuUs": cpuPerRequest(run) }),
        describe: rateAndCpuText,
      },
      {
        id: "handshake",
        name: "handshake per request",
        path: "/",
        options: { connections: CONNECTIONS, mode: { kind: "get" }, headers: ["Connection: close"] },
        inFlight: CONNECTIONS,
        record: (run) => ({ handshake: run.wrk.reqPerSec, "handshake.cpuUs": cpuPerRequest(run) }),
        describe: rateAndCpuText,
      },
    ],
    check: async (port) => {
      const [r] = (await exchange(port, GET("/"), 1, 10_000, caCerts)).responses;
      expect(r.status === 200, `GET / over TLS: status ${r.status}, not 200`);
      expect(
        r.body === HELLO_BODY,
        `GET / over TLS: body ${JSON.stringify(r.body)}, not ${JSON.stringify(HELLO_BODY)}`,
      );
      const closing = await exchange(port, CLOSE_REQUEST, 1, 10_000, caCerts);
      const [c] = closing.responses;
      expect(
        c.status === 200 && c.body === HELLO_BODY,
        "GET / with Connection: close over TLS: not answered",
      );
      expect(
        (c.headers.get("connection") ?? "").toLowerCase() === "close",
        "GET / with Connection: close over TLS: the answer does not say Connection: close",
      );
      return 2;
    },
    checks: [
      "the server started and listened over TLS",
      `\`GET /\` over TLS answered 200 with the body exactly \`${HELLO_BODY}\``,
      "`GET /` with `Connection: close` answered the same, with `Connection: close`",
      "no wrk socket errors, timeouts or non-2xx answers",
      "Deno.serve, node:https and the floor: the requests the server says it served ≥ what wrk and the checks " +
      "counted and ≤ that plus what could be in flight when a run stopped",
    ],
    method: (seconds) => [
      "In this section the `node:http` column is `node:https`, and the floor waits for its answer to a " +
      "`Connection: close` request to be written before it closes.",
      "The app: `Hello, World!` as `text/plain` over HTTPS (ours: `examples/hello.ts`, given `CERT_FILE` and " +
      "`KEY_FILE`; the others: `APP=hello` in the same files as the `hello` section, with the same two " +
      "variables: `Deno.serve` with `cert` and `key`, `node:https`, and the floor on `Deno.listenTls`). The " +
      "certificate: self-signed, ECDSA P-256, made by `openssl` for the run and removed after it. wrk offers " +
      "no ALPN, so every server speaks HTTP/1.1 over TLS 1.3.",
      `HTTPS keep-alive: \`wrk -t1 -c${CONNECTIONS} -d${seconds}s https://…\`, req/s, and the server process's ` +
      "CPU time during the run over the requests wrk counted. Handshakes: the same with " +
      "`-H 'Connection: close'`: each server answers and closes, and wrk opens a new connection (a full " +
      "handshake, no session resumption) for every request. wrk's own side of the handshakes takes most of " +
      "its core, so it is often the limit there: the server's CPU per request then says more than req/s.",
      "Target: HTTPS keep-alive at least 0.9× Deno.serve's (issue 18).",
    ],
  };
}

/** Runs the `tls` section with a certificate made for it (removed afterwards). */
export async function runTls(options: HttpOptions): Promise<SectionOutput> {
  let cert: string, key: string;
  try {
    ({ cert, key } = await testCertificate());
  } catch (error) {
    const why = `no certificate for the servers (${error instanceof Error ? error.message : error}): ` +
      "the section needs `openssl` (`apt-get install openssl`)";
    options.log(`tls: ${why}`);
    return { headline: `**Not measured:** ${why}`, body: "", ok: false };
  }
  const dir = await Deno.makeTempDir({ prefix: "cogen-bench-tls-" });
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    const env = { CERT_FILE: `${dir}/cert.pem`, KEY_FILE: `${dir}/key.pem` };
    return await runSection(tlsSpec(env, [cert]), options);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
