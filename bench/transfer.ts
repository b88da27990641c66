/**
 * The `transfer` section of `deno task bench`: a 64 KiB response
 * (`GET /64k`, MiB/s of body) and a 1 MiB upload read whole
 * (`POST /upload`, MiB/s of request body) on ours (`bench/servers/ours.ts`),
 * `Deno.serve` and `node:http`, loaded by wrk. See `bench/http.ts` for the
 * rounds. The floor has no part here: it parses no bodies.
 *
 * @module
 */
import { CONNECTIONS, HELLO_BODY, type Run, type SectionSpec } from "./http.ts";
import { count, fmt } from "./numbers.ts";
import { exchange, expect, GET } from "./raw_http.ts";

/** Bytes of the `GET /64k` response body. */
export const BIG_RESPONSE = 65536;
/** Bytes of the `POST /upload` request body. */
export const UPLOAD_SIZE = 1048576;
/** Connections of the upload run (16 MiB in flight). */
export const UPLOAD_CONNECTIONS = 16;

const MIB = 1048576;

async function check(port: number): Promise<number> {
  expect((await exchange(port, GET("/"))).responses[0].body === HELLO_BODY, "GET /: not Hello, World!");
  const big = await exchange(port, GET("/64k"));
  const b = big.responses[0];
  expect(b.status === 200, `GET /64k: status ${b.status}`);
  expect(
    b.body.length === BIG_RESPONSE && /^x*$/.test(b.body) && big.extra === 0,
    `GET /64k: ${b.body.length} bytes, not ${BIG_RESPONSE} bytes of "x"`,
  );
  const head = `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n` +
    `Content-Length: ${UPLOAD_SIZE}\r\n\r\n`;
  const request = new Uint8Array(head.length + UPLOAD_SIZE).fill(0x78);
  request.set(new TextEncoder().encode(head));
  const u = (await exchange(port, request)).responses[0];
  expect(
    u.status === 200 && u.body === `${UPLOAD_SIZE}\n`,
    `POST /upload of ${UPLOAD_SIZE} bytes: status ${u.status}, body ${
      JSON.stringify(u.body.slice(0, 40))
    }, ` +
      `not ${JSON.stringify(`${UPLOAD_SIZE}\n`)}`,
  );
  return 3;
}

const mibps = (run: Run, size: number) => (run.wrk.reqPerSec * size) / MIB;

/** The `transfer` section, run by `bench/http.ts`. */
export const TRANSFER: SectionSpec = {
  app: "transfer",
  metrics: [
    {
      id: "big",
      label: `64 KiB responses, ${CONNECTIONS} connections (MiB/s of body)`,
      short: "64 KiB responses",
      unit: "MiB/s",
      higherIsBetter: true,
    },
    {
      id: "upload",
      label: `1 MiB uploads read whole, ${UPLOAD_CONNECTIONS} connections (MiB/s of request body)`,
      short: "1 MiB uploads",
      unit: "MiB/s",
      higherIsBetter: true,
    },
  ],
  scenarios: [
    {
      id: "big",
      name: "64k",
      path: "/64k",
      options: { connections: CONNECTIONS, mode: { kind: "get" } },
      inFlight: CONNECTIONS,
      record: (run) => ({ big: mibps(run, BIG_RESPONSE) }),
      describe: (run) => `${fmt(mibps(run, BIG_RESPONSE))} MiB/s (${count(run.wrk.reqPerSec)} req/s)`,
    },
    {
      id: "upload",
      name: "upload",
      path: "/upload",
      options: { connections: UPLOAD_CONNECTIONS, mode: { kind: "upload", size: UPLOAD_SIZE } },
      inFlight: UPLOAD_CONNECTIONS,
      record: (run) => ({ upload: mibps(run, UPLOAD_SIZE) }),
      describe: (run) => `${fmt(mibps(run, UPLOAD_SIZE))} MiB/s (${count(run.wrk.reqPerSec)} req/s)`,
    },
  ],
  check,
  checks: [
    "the server started and listened",
    "`GET /` answered `Hello, World!`",
    `\`GET /64k\` answered 200 with exactly ${count(BIG_RESPONSE)} bytes of \`x\``,
    `\`POST /upload\` of ${count(UPLOAD_SIZE)} bytes answered 200 \`${UPLOAD_SIZE}\\n\``,
    "no wrk socket errors, timeouts or non-2xx answers",
    "Deno.serve and node:http: the requests served agree with wrk's count",
  ],
  method: (seconds) => [
    "The apps: `GET /64k` answers 65 536 bytes of `x` from one preallocated buffer, with a " +
    "`Content-Length`; `POST /upload` reads the body chunk by chunk, counting its bytes (no copy into one " +
    "buffer), and answers the count. Ours: `bench/servers/ours.ts` (`examples/hello.ts`'s app at `/`, " +
    "`/64k`, `/upload`); the others: `APP=transfer` in their server files.",
    `64 KiB: \`wrk -t1 -c${CONNECTIONS} -d${seconds}s\` on \`/64k\`, MiB/s = req/s × 65 536 / 2²⁰ (bodies ` +
    `only). Upload: \`wrk -t1 -c${UPLOAD_CONNECTIONS} -d${seconds}s\` posting ${count(UPLOAD_SIZE)} bytes ` +
    "(`bench/wrk/bench.lua upload`), MiB/s = req/s × 1.",
  ],
};
