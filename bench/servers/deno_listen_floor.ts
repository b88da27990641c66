/**
 * The floor on `Deno.listen`: the least any server written on Deno's sockets
 * can do for the benchmark's contracts, so that a run shows how close ours
 * comes to it (the targets were set against it). It is not an HTTP
 * server: it trusts its input completely.
 *
 * - `hello`: counts the `\r\n\r\n` in what it reads and writes that many
 *   fixed `Hello, World!` answers in one write, without waiting for it;
 * - `longpoll`: `GET /wait` is held with one pending 64-byte read (to notice
 *   the client leaving, as ours does), `GET /signal?value=V` answers every
 *   held client `V\n` (writes not awaited in turn) and then how many it
 *   woke, `/stats` how many wait; one 1 KiB read buffer per connection while
 *   it reads a head. A held connection closes when its read ends (the
 *   client left, or sent more after its answer).
 * - `longpoll` with `--shape=wsgi`: the same, and each held client also
 *   keeps what the WSGI contract itself asks a server to keep while a
 *   request waits: its environ (the fields `wsgi/environ.ts` gives, the
 *   request's headers as `HTTP_*` keys and as `cogen.headers`) and its app,
 *   an async generator suspended at the `yield` of its wait, which the
 *   signal resumes and whose next chunk is the answer. No scheduler, task,
 *   parser state, output or timeouts: the least an environ-and-generator
 *   server can hold per request on `Deno.listen`.
 *
 * With `CERT_FILE` and `KEY_FILE` (PEM files) it listens with
 * `Deno.listenTls`; over TLS, `hello` also honours `Connection: close` (it
 * answers with it and closes once the answer is written), so that a client
 * opening a connection per request measures handshakes.
 *
 * It listens on `HOST`:`PORT` (default 127.0.0.1:0) and prints
 * `listening on http://HOST:PORT/` (`https://` over TLS). On SIGTERM it prints `served N` (the
 * requests answered) and exits.
 *
 * Run: `APP=hello deno run -A bench/servers/deno_listen_floor.ts`
 *
 * @module
 */

import { HELLO, listening, settings } from "./contract.mjs";

const encoder = new TextEncoder();
const HELLO_ANSWER = encoder.encode(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${HELLO.length}\r\n\r\n${HELLO}`,
);
const HELLO_CLOSE_ANSWER = encoder.encode(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${HELLO.length}\r\nConnection: close\r\n\r\n` +
    HELLO,
);
const CLOSE = encoder.encode("connection: close");
const IGNORE = () => {};

/** Writes `data` without waiting for it; a write that took part of it is followed by one for the rest. */
function send(conn: Deno.Conn, data: Uint8Array): void {
  conn.write(data).then((n) => {
    if (n < data.length) send(conn, data.subarray(n));
  }, IGNORE);
}

let served = 0;

/** How many heads end in `buf[0, n)` (a head's end split across two reads is not seen: wrk's are never split). */
function countHeads(buf: Uint8Array, n: number): number {
  let heads = 0;
  for (let i = 3; i < n; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) heads++;
  }
  return heads;
}

/** Whether `buf[0, n)` holds `Connection: close` (compared ignoring case). */
function asksToClose(buf: Uint8Array, n: number): boolean {
  outer: for (let i = 0; i + CLOSE.length <= n; i++) {
    for (let k = 0; k < CLOSE.length; k++) {
      if ((buf[i + k] | 0x20) !== (CLOSE[k] | 0x20)) continue outer;
    }
    return true;
  }
  return false;
}

async function hello(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      // Over TLS only (the handshake runs ask for it); plain hello's loop stays as it was.
      if (tls !== null && asksToClose(buf, n)) {
        served++;
        for (let sent = 0; sent < HELLO_CLOSE_ANSWER.length;) {
          sent += await conn.write(HELLO_CLOSE_ANSWER.subarray(sent));
        }
        break;
      }
      const heads = countHeads(buf, n);
      served += heads;
      if (heads === 1) send(conn, HELLO_ANSWER);
      else if (heads > 1) {
        const out = new Uint8Array(HELLO_ANSWER.length * heads);
        for (let i = 0; i < heads; i++) out.set(HELLO_ANSWER, i * HELLO_ANSWER.length);
        send(conn, out);
      }
    }
  } catch {
    // The client left.
  }
  close(conn);
}

const waiting = new Set<Deno.Conn>();

/** With `--shape=wsgi`: a held request, its app suspended at its wait, and the status the app answers with. */
interface HeldApp {
  app: AsyncGenerator<unknown, void, string>;
  status: string;
}
/** With `--shape=wsgi`: each held client's request. */
const apps = new Map<Deno.Conn, HeldApp>();
const WSGI_SHAPE = Deno.args.includes("--shape=wsgi");
const WSGI_VERSION = [1, 0] as const;
const ERRORS = { write(_text: string) {}, writelines(_lines: Iterable<string>) {}, flush() {} };

type StartResponse = (status: string, headers: [string, string][]) => void;

/** The long-poll app as a WSGI app: waits for the signal's value, then answers it. */
async function* waitApp(
  _environ: Record<string, unknown>,
  startResponse: StartResponse,
): AsyncGenerator<unknown, void, string> {
  const value = yield { wait: "longpoll" };
  startResponse("200 OK", UTF8_HEADERS);
  yield `${value}\n`;
}

const UTF8_HEADERS: [string, string][] = [["Content-Type", "text/plain; charset=utf-8"]];
const decoder = new TextDecoder();

/** The environ of a held request: the fields our server's environ has, the headers from the head's bytes. */
function environOf(conn: Deno.Conn, head: string): Record<string, unknown> {
  const lines = head.split("\r\n");
  const [method = "", target = "", version = ""] = lines[0].split(" ");
  const query = target.indexOf("?");
  const addr = conn.remoteAddr as Deno.NetAddr;
  const headers: string[] = [];
  const environ: Record<string, unknown> = {
    REQUEST_METHOD: method,
    SCRIPT_NAME: "",
    PATH_INFO: query < 0 ? target : target.slice(0, query),
    QUERY_STRING: query < 0 ? "" : target.slice(query + 1),
    REQUEST_URI: target,
    CONTENT_TYPE: "",
    CONTENT_LENGTH: "",
    SERVER_NAME: hostname,
    SERVER_PORT: serverPort,
    SERVER_PROTOCOL: version,
    SERVER_SOFTWARE: "floor",
    ACTUAL_SERVER_PROTOCOL: "HTTP/1.1",
    REMOTE_ADDR: addr.hostname,
    REMOTE_PORT: String(addr.port),
    AUTH_TYPE: "",
    REMOTE_USER: "",
    "wsgi.version": WSGI_VERSION,
    "wsgi.url_scheme": "http",
    "wsgi.input": null,
    "wsgi.errors": ERRORS,
    "wsgi.multithread": false,
    "wsgi.multiprocess": false,
    "wsgi.run_once": false,
    "wsgi.file_wrapper": null,
    cogen: null,
    "cogen.wsgi": null,
    "cogen.sched": null,
    "cogen.http_connection": conn,
    "cogen.headers": headers,
  };
  for (let i = 1; i < lines.length && lines[i] !== ""; i++) {
    const colon = lines[i].indexOf(":");
    const name = lines[i].slice(0, colon);
    const value = lines[i].slice(colon + 1).trim();
    headers.push(name, value);
    environ[`HTTP_${name.toUpperCase().replaceAll("-", "_")}`] = value;
  }
  return environ;
}

/** Starts the app of a held request, with its environ and its own start_response, and runs it to its wait. */
function holdApp(conn: Deno.Conn, head: string): HeldApp {
  const held: HeldApp = { app: null!, status: "" };
  // A start_response per request, as WSGI asks: it must know whose response it starts.
  const startResponse: StartResponse = (status) => {
    held.status = status;
  };
  held.app = waitApp(environOf(conn, head), startResponse);
  held.app.next(); // to its wait
  return held;
}

function answer(conn: Deno.Conn, body: string, status = "200 OK"): void {
  served++;
  const text = `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body}`;
  send(conn, encoder.encode(text));
}

async function longpoll(conn: Deno.Conn): Promise<void> {
  for (;;) {
    // One head (the bench's clients send no body and never pipeline here).
    const buf = new Uint8Array(1024);
    let n = 0;
    try {
      while (countHeads(buf, n) === 0) {
        const got = await conn.read(buf.subarray(n));
        if (got === null || n + got === buf.length) return close(conn);
        n += got;
      }
    } catch {
      return close(conn);
    }
    const line = decoder.decode(buf.subarray(0, buf.indexOf(13)));
    const target = line.split(" ")[1] ?? "";
    if (target.startsWith("/wait")) {
      waiting.add(conn);
      if (WSGI_SHAPE) apps.set(conn, holdApp(conn, decoder.decode(buf.subarray(0, n))));
      // The read ends when the client leaves (or, unexpected here, sends more): it is closed either way.
      const leaving = () => {
        waiting.delete(conn);
        const held = apps.get(conn);
        if (held !== undefined) {
          apps.delete(conn);
          held.app.return();
        }
        close(conn);
      };
      conn.read(new Uint8Array(64)).then(leaving, leaving);
      return;
    }
    if (target.startsWith("/signal")) {
      const value = new URLSearchParams(target.split("?")[1] ?? "").get("value") ?? "";
      const woken = [...waiting];
      waiting.clear();
      const resumed: Promise<void>[] = [];
      for (const client of woken) {
        const held = apps.get(client);
        if (held === undefined) answer(client, `${value}\n`);
        else {
          apps.delete(client);
          resumed.push(
            held.app.next(value).then((step) => answer(client, step.value as string, held.status)),
          );
        }
      }
      // As the plain floor does: `/signal` is answered once every held client's answer is under way.
      if (resumed.length === 0) answer(conn, `${woken.length}\n`);
      else Promise.all(resumed).then(() => answer(conn, `${woken.length}\n`));
    } else answer(conn, `${waiting.size}\n`);
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

const { hostname, port, app, tls } = settings(Deno.env.toObject(), "deno_listen_floor.ts", [
  "hello",
  "longpoll",
]);
const serveConn = { hello, longpoll }[app];

Deno.addSignalListener("SIGTERM", () => {
  console.log(`served ${served}`);
  Deno.exit(0);
});

const listener = tls === null ? Deno.listen({ hostname, port }) : Deno.listenTls({
  hostname,
  port,
  cert: Deno.readTextFileSync(tls.certFile),
  key: Deno.readTextFileSync(tls.keyFile),
});
const serverPort = String((listener.addr as Deno.NetAddr).port);
console.log(listening(hostname, (listener.addr as Deno.NetAddr).port, tls !== null));
for await (const conn of listener) serveConn(conn);
