/**
 * Our server for the `transfer` section: `examples/hello.ts`'s app at `/`,
 * `GET /64k` answering 65 536 bytes, and `POST /upload` reading the whole
 * body and answering its length. Listens on `HOST`:`PORT` as the examples do
 * and prints `listening on http://HOST:PORT/`.
 *
 * Run: `PORT=0 deno run -A bench/servers/ours.ts`
 *
 * @module
 */
import type { App, Environ, StartResponse } from "../../wsgi/mod.ts";
import { hello } from "../../examples/hello.ts";
import { serveExample } from "../../examples/serve_example.ts";

const BIG = new Uint8Array(65536).fill(0x78);
const BINARY: [string, string][] = [
  ["Content-Type", "application/octet-stream"],
  ["Content-Length", String(BIG.length)],
];
const UTF8: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];

/** Answers 65 536 bytes of `x`. */
const big: App = (_environ, startResponse) => {
  startResponse("200 OK", BINARY);
  return [BIG];
};

/** Reads the whole request body; answers its length in bytes and a newline. */
async function* upload(environ: Environ, startResponse: StartResponse): AsyncGenerator<string> {
  let length = 0;
  for await (const chunk of environ["wsgi.input"]) length += chunk.length;
  startResponse("200 OK", UTF8);
  yield `${length}\n`;
}

serveExample([["/64k", big], ["/upload", upload], ["/", hello]]);
