/**
 * The app driver, through both of its hosts: the same misbehaving apps run
 * under `serve()` (our sockets) and under `toFetchHandler` on `Deno.serve`,
 * and a `fetch` client must see the same outcome from each — the status,
 * the body (or that the body was cut), and the error reported.
 */
import assert from "node:assert/strict";
import { Sleep } from "../../core/mod.ts";
import { toFetchHandler } from "../../middleware/mod.ts";
import { type App, HttpError, type Route, serve } from "../../wsgi/mod.ts";
import { HOST } from "../http.ts";

/** One misbehaving app and the outcome both hosts must give. */
interface Case {
  path: string;
  app: App;
  status: number;
  /** The whole body, or `null` when reading it must fail (the message was cut). */
  body: string | null;
  /** The Content-Length the client sees, when it must see one. */
  contentLength?: string;
  /** What the reported error's message says. */
  reported: RegExp;
}

const CASES: Case[] = [
  {
    path: "/bad-status",
    app: function* (_environ, startResponse) {
      startResponse("99 Too Low", []);
      yield "never";
    },
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /status must look like "200 OK"/,
  },
  {
    path: "/status-out-of-range",
    app: function* (_environ, startResponse) {
      startResponse("600 Beyond", []);
      yield "never";
    },
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /three digits from 200 to 599/,
  },
  {
    path: "/too-many-bytes",
    app: function* (_environ, startResponse) {
      startResponse("200 OK", [["Content-Length", "5"]]);
      yield "hello, world";
    },
    status: 200,
    body: "hello",
    contentLength: "5",
    reported: /more than its Content-Length of 5 bytes/,
  },
  {
    path: "/too-few-bytes",
    app: async function* (_environ, startResponse) {
      startResponse("200 OK", [["Content-Length", "10"]]);
      yield "abc";
      yield new Sleep(1);
      yield "d";
    },
    status: 200,
    body: null,
    reported: /sent 4 of the 10 bytes of its Content-Length/,
  },
  {
    path: "/write-before-start-response",
    app: function* () {
      yield "body first";
    },
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /body data before calling startResponse/,
  },
  {
    path: "/no-start-response",
    app: () => [],
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /returned without calling startResponse/,
  },
  {
    path: "/operation-never-yielded",
    app: function* (environ, startResponse) {
      environ.cogen.core.events.Sleep(1); // recorded, but its "" never comes
      startResponse("200 OK", []);
      yield "body";
    },
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /recorded Sleep\(1\) on environ.cogen, but the empty chunk/,
  },
  {
    path: "/error-after-head",
    app: async function* (_environ, startResponse) {
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      yield "part";
      yield new Sleep(1); // the head and "part" go out
      throw new Error("boom after the head");
    },
    status: 200,
    body: null,
    reported: /boom after the head/,
  },
  {
    path: "/http-error",
    app: () => {
      throw new HttpError(418, "no coffee here");
    },
    status: 418,
    body: "418 Error\nno coffee here\n", // an HttpError's message is for the client
    reported: /no coffee here/,
  },
  {
    path: "/http-error-out-of-range",
    app: () => {
      throw new HttpError(999, "not a status");
    },
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /not a status/,
  },
  {
    path: "/array-with-a-number",
    app: (_environ, startResponse) => {
      startResponse("200 OK", []);
      return ["fine", 42 as unknown as string];
    },
    status: 500,
    body: "500 Internal Server Error\n",
    reported: /an array holding 42; an array may hold only chunks/,
  },
];

/** What a client saw of one request. */
interface Outcome {
  status: number;
  body: string | null;
  contentLength: string | null;
}

async function outcome(url: string): Promise<Outcome> {
  const response = await fetch(url);
  let body: string | null;
  try {
    body = await response.text();
  } catch {
    body = null;
  }
  return { status: response.status, body, contentLength: response.headers.get("content-length") };
}

const ROUTES: Route[] = CASES.map((c) => [c.path, c.app]);

Deno.test("app driver: misbehaving apps give the same outcome under serve() and under toFetchHandler on Deno.serve", async () => {
  const ours: { error: unknown; context: string }[] = [];
  const theirs: { error: unknown; context: string }[] = [];
  const server = serve(ROUTES, {
    hostname: HOST,
    port: 0,
    onError: (error, context) => ours.push({ error, context }),
  });
  const deno = Deno.serve(
    { hostname: HOST, port: 0, onListen() {} },
    toFetchHandler(ROUTES, { onError: (error, context) => theirs.push({ error, context }) }),
  );
  try {
    const oursBase = `http://${HOST}:${(server.addr as Deno.NetAddr).port}`;
    const theirsBase = `http://${HOST}:${deno.addr.port}`;
    for (const c of CASES) {
      const before = [ours.length, theirs.length];
      const a = await outcome(oursBase + c.path);
      const b = await outcome(theirsBase + c.path);
      assert.deepEqual(
        { status: a.status, body: a.body },
        { status: c.status, body: c.body },
        `${c.path} under serve()`,
      );
      assert.deepEqual(
        { status: b.status, body: b.body },
        { status: c.status, body: c.body },
        `${c.path} on Deno.serve`,
      );
      if (c.contentLength !== undefined) {
        assert.equal(a.contentLength, c.contentLength, `${c.path}: serve()'s Content-Length`);
        assert.equal(b.contentLength, c.contentLength, `${c.path}: Deno.serve's Content-Length`);
      }
      for (
        const [name, log, from] of [["serve()", ours, before[0]], [
          "toFetchHandler",
          theirs,
          before[1],
        ]] as const
      ) {
        const reported = log.slice(from);
        assert.equal(reported.length, 1, `${c.path}: ${name} reports one error, got ${reported.length}`);
        assert.match(
          String(reported[0].error),
          c.reported,
          `${c.path}: ${name}'s report: ${reported[0].error}`,
        );
        assert.equal(reported[0].context, `the app, for GET ${c.path}`, `${c.path}: ${name}'s context`);
      }
    }
  } finally {
    await server.shutdown(100);
    await deno.shutdown();
  }
});
