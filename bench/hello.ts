/**
 * The `hello` section of `deno task bench`: `examples/hello.ts` on our
 * server against the same answer on `Deno.serve`, `node:http` (under Node)
 * and the `Deno.listen` floor, loaded by wrk: keep-alive with
 * {@linkcode CONNECTIONS} connections (req/s), {@linkcode PIPELINE_DEPTH}
 * pipelined requests per connection (req/s), one connection (p50 and p99
 * latency). See `bench/http.ts` for the rounds.
 *
 * @module
 */
import {
  CONNECTIONS,
  cpuPerRequest,
  HELLO_BODY,
  rateAndCpuText,
  reqPerSecText,
  type SectionSpec,
} from "./http.ts";
import { fmt } from "./numbers.ts";
import { exchange, expect, GET } from "./raw_http.ts";

/** Requests sent at once on each connection in the pipelined run. */
export const PIPELINE_DEPTH = 16;

async function check(port: number): Promise<number> {
  const [r] = (await exchange(port, GET("/"))).responses;
  expect(r.status === 200, `GET /: status ${r.status}, not 200`);
  expect(r.body === HELLO_BODY, `GET /: body ${JSON.stringify(r.body)}, not ${JSON.stringify(HELLO_BODY)}`);
  const type = r.headers.get("content-type") ?? "";
  expect(type.startsWith("text/plain"), `GET /: Content-Type ${JSON.stringify(type)}, not text/plain`);
  const pipelined = await exchange(port, GET("/").repeat(PIPELINE_DEPTH), PIPELINE_DEPTH);
  expect(
    pipelined.responses.every((p) => p.status === 200 && p.body === HELLO_BODY) && pipelined.extra === 0,
    `${PIPELINE_DEPTH} pipelined GET /: not ${PIPELINE_DEPTH} answers ${JSON.stringify(HELLO_BODY)}`,
  );
  return 1 + PIPELINE_DEPTH;
}

/** The `hello` section, run by `bench/http.ts`. */
export const HELLO: SectionSpec = {
  app: "hello",
  metrics: [
    {
      id: "c64",
      label: `keep-alive, ${CONNECTIONS} connections (req/s)`,
      short: `keep-alive c${CONNECTIONS}`,
      unit: "req/s",
      higherIsBetter: true,
      // The floor is the most a server on Deno's sockets can do: ours should come within 10% of it.
      targets: [{ vs: "floor", factor: 0.9, everyRound: true }],
    },
    {
      id: "c64.cpuUs",
      label: `keep-alive, ${CONNECTIONS} connections: the server's CPU per request (µs)`,
      short: "CPU per request",
      unit: "µs",
      higherIsBetter: false,
    },
    {
      id: "pipelined",
      label: `${PIPELINE_DEPTH} pipelined requests per connection, ${CONNECTIONS} connections (req/s)`,
      short: `pipelined ×${PIPELINE_DEPTH}`,
      unit: "req/s",
      higherIsBetter: true,
      targets: [{ vs: "deno", factor: 5 }],
    },
    {
      id: "c1.p50",
      label: "1 connection, p50 latency (ms)",
      short: "c1 p50 latency",
      unit: "ms",
      higherIsBetter: false,
    },
    {
      id: "c1.p99",
      label: "1 connection, p99 latency (ms)",
      short: "c1 p99 latency",
      unit: "ms",
      higherIsBetter: false,
      targets: [{ vs: "deno", factor: 1 }],
    },
  ],
  scenarios: [
    {
      id: "c64",
      name: `c${CONNECTIONS}`,
      path: "/",
      options: { connections: CONNECTIONS, mode: { kind: "get" } },
      inFlight: CONNECTIONS,
      record: (run) => ({ c64: run.wrk.reqPerSec, "c64.cpuUs": cpuPerRequest(run) }),
      describe: rateAndCpuText,
    },
    {
      id: "pipelined",
      name: `×${PIPELINE_DEPTH}`,
      path: "/",
      options: { connections: CONNECTIONS, mode: { kind: "pipeline", depth: PIPELINE_DEPTH } },
      inFlight: CONNECTIONS * PIPELINE_DEPTH,
      record: (run) => ({ pipelined: run.wrk.reqPerSec }),
      describe: reqPerSecText,
    },
    {
      id: "c1",
      name: "c1",
      path: "/",
      options: { connections: 1, mode: { kind: "get" } },
      inFlight: 1,
      record: (run) => ({ "c1.p50": run.wrk.latencyMs.p50, "c1.p99": run.wrk.latencyMs.p99 }),
      describe: (run) =>
        `p50 ${fmt(run.wrk.latencyMs.p50)} ms, p99 ${fmt(run.wrk.latencyMs.p99)} ms, ${reqPerSecText(run)}`,
    },
  ],
  check,
  checks: [
    "the server started and listened",
    `\`GET /\` answered 200, \`Content-Type: text/plain\`, body exactly \`${HELLO_BODY}\``,
    `${PIPELINE_DEPTH} \`GET /\` written at once got ${PIPELINE_DEPTH} such answers and nothing more`,
    "no wrk socket errors, timeouts or non-2xx answers",
    "Deno.serve, node:http and the floor: the requests the server says it served ≥ what wrk and the checks " +
    "counted and ≤ that plus what could be in flight when a run stopped (connections × pipeline depth)",
  ],
  method: (seconds) => [
    "The app: `Hello, World!` as `text/plain` to every request (ours: `examples/hello.ts`, run as " +
    "`deno run -A examples/hello.ts`; the others: the same answer with a fixed body, no routing).",
    `keep-alive: \`wrk -t1 -c${CONNECTIONS} -d${seconds}s\`, req/s. Pipelined: the same, each connection ` +
    `writing ${PIPELINE_DEPTH} requests at once (\`bench/wrk/bench.lua\`) and the next ${PIPELINE_DEPTH} ` +
    "once all are answered; wrk counts every response it parses (the served-count check confirms it). " +
    `Latency: \`wrk -t1 -c1 -d${seconds}s\`, wrk's 50th and 99th percentiles.`,
    "CPU per request: the server process's CPU time during the keep-alive run (user + system, from " +
    "`/proc/PID/stat`) over the requests wrk counted. While a server uses its whole core this is that core's " +
    "second over its req/s, and moves with the machine as req/s does; when wrk is the limit (the server below " +
    "100%), it still shows what each request cost the server.",
    "Targets: keep-alive at least 0.90 of the floor's req/s in every round (ours and the floor of the same " +
    "round compared, as well as the medians); pipelined at least 5× Deno.serve's; c1 p99 no worse than " +
    "Deno.serve's.",
  ],
};
