/**
 * The three servers of the conformance table, in this process on
 * 127.0.0.1, all with default options: ours (`serve` with
 * `examples/echo.ts`), and `Deno.serve` and `node:http` (under Deno's Node
 * compatibility layer: only the protocol behaviour matters here) with
 * handlers that answer what `examples/echo.ts` answers.
 *
 * @module
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { echo } from "../../examples/echo.ts";
import { serve } from "../../wsgi/mod.ts";

/** A server listening, and how to stop it. */
export interface Running {
  /** Its name in the table. */
  name: string;
  /** Its port on 127.0.0.1. */
  port: number;
  /** Stops it and closes its connections. */
  stop(): Promise<void>;
}

const latin1 = new TextDecoder("latin1");

/** The echo as JSON: the method, the target split into path and query, the fields, the body. */
function echoJson(method: string, target: string, headers: Record<string, string>, body: Uint8Array): string {
  const q = target.indexOf("?");
  return JSON.stringify({
    method,
    path: (q < 0 ? target : target.slice(0, q)) || "/",
    query: q < 0 ? "" : target.slice(q + 1),
    headers,
    body: latin1.decode(body),
  });
}

async function denoEcho(request: Request): Promise<Response> {
  const body = new Uint8Array(await request.arrayBuffer());
  // request.url is rebuilt from Host; with an invalid Host it may not parse as a URL: split it by hand.
  const target = request.url.replace(/^[a-z]+:\/\/[^/?]*/i, "");
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => headers[name] = value);
  const json = echoJson(request.method, target, headers, body);
  return new Response(json, { headers: { "content-type": "application/json; charset=utf-8" } });
}

function nodeEcho(request: http.IncomingMessage, response: http.ServerResponse): void {
  const chunks: Uint8Array[] = [];
  request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  request.on("error", () => response.destroy());
  request.on("end", () => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name] = Array.isArray(value) ? value.join(", ") : String(value);
    }
    const json = echoJson(request.method ?? "", request.url ?? "", headers, Buffer.concat(chunks));
    response.writeHead(200, { "content-type": "application/json; charset=utf-8" });
    response.end(json);
  });
}

/** Starts the three servers, each on a port of its own. */
export async function startServers(): Promise<Running[]> {
  const ours = serve(echo, { hostname: "127.0.0.1", port: 0, onError: () => {} });
  const abort = new AbortController();
  const deno = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: abort.signal,
    onListen: () => {},
    onError: () => new Response(null, { status: 500 }),
  }, denoEcho);
  const node = http.createServer(nodeEcho);
  await new Promise<void>((resolve, reject) => {
    node.once("error", reject);
    node.listen(0, "127.0.0.1", () => resolve());
  });
  return [
    { name: "ours", port: (ours.addr as Deno.NetAddr).port, stop: () => ours.shutdown(1000) },
    {
      name: "Deno.serve",
      port: deno.addr.port,
      stop: async () => {
        abort.abort();
        await deno.finished;
      },
    },
    {
      name: "node:http",
      port: (node.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((resolve) => {
          node.close(() => resolve());
          node.closeAllConnections?.();
        }),
    },
  ];
}
