/**
 * Apps that never give control back the way the server expects: one stuck
 * in an `await` that never settles (its client leaves: the socket must not
 * stay open), and one looping on empty yields (everyone else must still be
 * served, and the client leaving ends the loop).
 */
import assert from "node:assert/strict";
import type { App } from "../../wsgi/mod.ts";
import { Client, HOST, startServer, until } from "../http.ts";

/** How many file descriptors this process has open. */
const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;

const hello: App = (_environ, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["hello"];
};

Deno.test("stuck app: 20 clients leave apps stuck in an await that never settles: no descriptor stays open", async () => {
  let started = 0;
  let aborted = 0;
  const stuck: App = async function* (environ, startResponse) {
    started++;
    environ["cogen.signal"].addEventListener("abort", () => aborted++);
    await new Promise(() => {}); // never settles
    startResponse("200 OK", []);
    yield "never";
  };
  const t = startServer([["/stuck", stuck], ["/", hello]]);
  try {
    const before = openFds();
    const clients: Client[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await Client.connect(t.port);
      assert.ok(await client.write(`GET /stuck HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      clients.push(client);
    }
    await until(() => started === 20, 2000, "the 20 apps to start");
    for (const client of clients) await client.close();
    await until(
      () => openFds() <= before,
      3000,
      `the descriptors to be released (${openFds()} vs ${before})`,
    );
    assert.equal(aborted, 20, "cogen.signal aborted for each");
    assert.equal(t.server.server.connections, 0, "the server holds none of them");
    // The server goes on serving.
    const client = await Client.connect(t.port);
    assert.ok(await client.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    assert.equal((await client.response()).text, "hello");
    await client.close();
  } finally {
    await t.stop(100);
  }
});

for (const kind of ["sync", "async"] as const) {
  Deno.test(`empty-yield loop (${kind} generator): others are served meanwhile; the client leaving ends the loop`, async () => {
    let finallyRan = false;
    let steps = 0;
    const spin: App = kind === "sync"
      ? function* (_environ, startResponse) {
        startResponse("200 OK", []);
        try {
          for (;;) {
            steps++;
            yield "";
          }
        } finally {
          finallyRan = true;
        }
      }
      : async function* (_environ, startResponse) {
        startResponse("200 OK", []);
        try {
          for (;;) {
            steps++;
            yield "";
          }
        } finally {
          finallyRan = true;
        }
      };
    const t = startServer([["/spin", spin], ["/", hello]]);
    try {
      const spinning = await Client.connect(t.port);
      assert.ok(await spinning.write(`GET /spin HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      await until(() => steps > 1000, 2000, "the loop to spin");
      // Another client is served while the loop spins.
      const other = await Client.connect(t.port);
      assert.ok(await other.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      assert.equal((await other.response()).text, "hello");
      await other.close();
      // The spinning client leaves: the loop ends, its finally runs.
      await spinning.close();
      await until(() => finallyRan, 2000, "the loop to end");
      const after = steps;
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(steps, after, "it spins no more");
    } finally {
      await t.stop(100);
    }
  });
}
