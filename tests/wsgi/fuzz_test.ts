/**
 * Fuzzing the server over real sockets: random bytes, token soup and
 * mutations of valid requests, on many connections (bounded in count and
 * time, fixed seeds). The server must never crash, every connection must get
 * a response or a close within a timeout, whatever comes back must be HTTP,
 * and a valid request afterwards must still work.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { App } from "../../wsgi/mod.ts";
import {
  assertServes,
  bytes,
  Client,
  delay,
  latin1,
  parseResponses,
  startServer,
  type TestServer,
} from "../http.ts";

const SEED = 0x5eed_c0de;

/** Reads the body (bounded by the server), answers its length; a few paths misbehave on purpose. */
const app: App = async function* (environ, startResponse) {
  let n = 0;
  for await (const chunk of environ["wsgi.input"]) n += chunk.length;
  if (environ.PATH_INFO === "/throw") throw new Error("fuzz: on purpose");
  if (environ.PATH_INFO === "/slow") await delay(5);
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  yield `ok ${n}`;
  if (environ.PATH_INFO === "/more") yield " and more";
};

/** Short limits and timeouts, so that stuck connections end quickly. */
const OPTIONS = {
  headersTimeout: 300,
  keepAliveTimeout: 300,
  sockoperTimeout: 300,
  maxRequestLine: 1024,
  maxHeaderBytes: 2048,
  maxHeaders: 20,
  maxBodyBytes: 4096,
  maxDrainBytes: 1024,
};

const VALID = [
  "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET /more?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  "HEAD /more HTTP/1.1\r\nHost: x\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
  "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /slow HTTP/1.0\r\n\r\n",
  "GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n",
  "\r\nGET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
];

const TOKENS = [
  "GET ",
  "POST ",
  "HEAD ",
  "/",
  "/throw",
  "*",
  " HTTP/1.1",
  " HTTP/1.0",
  " HTTP/2.0",
  "\r\n",
  "\n",
  "\r",
  "Host: x",
  ":",
  " ",
  "\t",
  "Content-Length: 5",
  "Content-Length: -1",
  "Transfer-Encoding: chunked",
  "Transfer-Encoding: gzip",
  "Expect: 100-continue",
  "Connection: close",
  "0\r\n",
  "5\r\nhello",
  "ffffffff\r\n",
  "\x00",
  "\xff",
  "#",
];

type Mutation =
  | { kind: "flip"; at: number; byte: number }
  | { kind: "insert"; at: number; data: Uint8Array }
  | { kind: "delete"; at: number; n: number }
  | { kind: "truncate"; at: number }
  | { kind: "repeat"; at: number; n: number; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    data: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      fc.constantFrom(0, 9, 10, 13, 32, 35, 44, 58, 0x7f, 0xff).map((b) => Uint8Array.of(b)),
    ),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("repeat" as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 30 }),
    times: fc.integer({ min: 2, max: 5 }),
  }),
);

function mutate(base: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = base;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case "flip":
        if (b.length > 0) {
          b = b.slice();
          b[at % b.length] = m.byte;
        }
        break;
      case "insert":
        b = concat(b.subarray(0, at), m.data, b.subarray(at));
        break;
      case "delete":
        b = concat(b.subarray(0, at), b.subarray(at + m.n));
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "repeat": {
        const piece = b.subarray(at, at + m.n);
        b = concat(b.subarray(0, at), ...Array(m.times).fill(piece), b.subarray(at + m.n));
        break;
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** One fuzz case: the bytes, how they are split into writes, and whether the client half-closes. */
interface Case {
  data: Uint8Array;
  splits: number[];
  halfClose: boolean;
}

const input: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((tokens) => bytes(tokens.join(""))),
  fc.tuple(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([base, mutations]) => mutate(bytes(base), mutations)),
  fc.tuple(fc.constantFrom(...VALID), fc.constantFrom(...VALID), fc.array(mutation, { maxLength: 2 }))
    .map(([a, b, mutations]) => mutate(bytes(a + b), mutations)),
);

const caseArb = (halfClose: fc.Arbitrary<boolean>): fc.Arbitrary<Case> =>
  fc.record({ data: input, splits: fc.array(fc.nat(), { maxLength: 3 }), halfClose });

/**
 * Runs one case: the server must answer or close within `hangMs`. Returns a
 * description of the failure, or null.
 */
async function runCase(server: TestServer, c: Case, hangMs = 3000): Promise<string | null> {
  const client = await Client.connect(server.port);
  try {
    const cuts = [...new Set(c.splits.map((s) => (c.data.length === 0 ? 0 : s % c.data.length)))].sort((
      a,
      b,
    ) => a - b);
    let from = 0;
    for (const cut of [...cuts, c.data.length]) {
      if (!(await client.write(c.data.subarray(from, cut)))) break;
      from = cut;
      if (cut < c.data.length) await delay(1);
    }
    if (c.halfClose) {
      try {
        await client.closeWrite();
      } catch {
        // The server closed first.
      }
    }
    const outcome = await client.readUntilClose(hangMs);
    if (!outcome.closed) {
      return `no close within ${hangMs} ms; received ${JSON.stringify(outcome.text.slice(0, 200))}`;
    }
    if (outcome.text !== "" && !outcome.text.startsWith("HTTP/1.")) {
      return `not an HTTP response: ${JSON.stringify(outcome.text.slice(0, 200))}`;
    }
    return null;
  } finally {
    await client.close();
  }
}

function describeCase(c: Case): string {
  return JSON.stringify({ data: latin1(c.data), splits: c.splits, halfClose: c.halfClose });
}

Deno.test("fuzz: 300 random, token-soup and mutated requests never crash or hang the server", async () => {
  const server = startServer(app, OPTIONS);
  try {
    const cases = fc.sample(caseArb(fc.boolean()), { seed: SEED, numRuns: 300 });
    const failures: string[] = [];
    for (let i = 0; i < cases.length; i += 30) {
      const batch = cases.slice(i, i + 30);
      const results = await Promise.all(batch.map((c) => runCase(server, c)));
      results.forEach((r, j) => {
        if (r !== null) failures.push(`case ${i + j} ${describeCase(batch[j])}: ${r}`);
      });
    }
    assert.deepEqual(failures, []);
    await assertServes(server.port, "ok 0");
    const internal = server.errors.filter((e) => e.context === "connection" || e.context === "accept");
    assert.deepEqual(internal.map((e) => String(e.error)), [], "the server itself must never fail");
  } finally {
    await server.stop(500);
  }
});

Deno.test("fuzz: property — after any half-closed input the server answers or closes, then serves", async () => {
  const server = startServer(app, OPTIONS);
  try {
    await fc.assert(
      fc.asyncProperty(caseArb(fc.constant(true)), async (c) => {
        const failure = await runCase(server, c);
        assert.equal(failure, null, failure ?? "");
      }),
      { seed: SEED + 1, numRuns: 100, endOnFailure: true },
    );
    await assertServes(server.port, "ok 0");
  } finally {
    await server.stop(500);
  }
});

Deno.test("fuzz: every valid seed request is answered with parseable responses", async () => {
  const server = startServer(app, OPTIONS);
  try {
    for (const request of VALID) {
      const client = await Client.connect(server.port);
      try {
        await client.write(request);
        await client.closeWrite();
        const outcome = await client.readUntilClose();
        assert.ok(outcome.closed, request);
        const methods = [...request.matchAll(/(?:^|\n)(GET|POST|HEAD|OPTIONS) /g)].map((m) => m[1]);
        const { responses, rest } = parseResponses(outcome.text, methods);
        assert.equal(rest, "", `${JSON.stringify(request)} → ${JSON.stringify(outcome.text)}`);
        assert.ok(responses.length >= 1);
      } finally {
        await client.close();
      }
    }
  } finally {
    await server.stop(500);
  }
});
