/**
 * The suite stacked around the seed's waiting app — `accessLog(compress(
 * validator(waitApp)))` — still waits on its operation, streams gzip (the
 * first words reach the client while the app waits), and logs one right line
 * after the last byte. Also the static-files example, end to end.
 */
import assert from "node:assert/strict";
import { accessLog, compress, validator } from "../../middleware/mod.ts";
import { signalApp, waitApp } from "../../examples/wait.ts";
import { PUBLIC, staticSite } from "../../examples/static.ts";
import {
  chunkedSoFar,
  Client,
  decompress,
  decompressPartial,
  header,
  responseTo,
  startServer,
} from "../http.ts";

const FIRST = "I'm waiting for some signal";

Deno.test("stack: accessLog(compress(validator(waitApp))) waits, streams gzip, and logs after the last byte", async () => {
  const lines: string[] = [];
  const stacked = accessLog(compress(validator(waitApp)), {
    format: "combined",
    write: (line) => lines.push(line),
  });
  const t = startServer([["/signal", signalApp], ["/", stacked]]);
  const client = await Client.connect(t.port);
  try {
    assert.ok(
      await client.write(
        "GET /wait?x=1 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nReferer: http://r/\r\nUser-Agent: tester/1\r\n\r\n",
      ),
    );
    // Nothing is buffered: the first words arrive, compressed and flushed, while the app waits.
    const arrived = await client.readUntil((text) => {
      const body = chunkedSoFar(text);
      return body.length > 0 && decompressPartial(body, "gzip") === FIRST;
    });
    assert.ok(arrived, `the first chunk did not arrive: ${JSON.stringify(client.received)}`);
    assert.deepEqual(lines, [], "no log line before the last byte");
    const signal = await responseTo(
      t.port,
      "GET /signal?value=hi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.equal(signal.text, "woke 1\n", "the app was really waiting on the signal");
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.equal(header(response, "content-encoding"), "gzip");
    assert.equal(header(response, "transfer-encoding"), "chunked");
    assert.equal(await decompress(response.body, "gzip"), `${FIRST}Someone signaled me: hi`);
    await client.close();
    await t.stop();
    assert.equal(lines.length, 1, `one line: ${JSON.stringify(lines)}`);
    const sent = response.body.length;
    assert.match(
      lines[0],
      new RegExp(
        String.raw`^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] ` +
          String.raw`"GET /wait\?x=1 HTTP/1\.1" 200 ${sent} "http://r/" "tester/1"$`,
      ),
    );
    assert.deepEqual(t.errors, [], "the validator found nothing wrong");
  } finally {
    await client.close();
    await t.stop();
  }
});

Deno.test("examples/static.ts: a small page as is (Vary set), a 304 for its ETag, an error page for a missing file", async () => {
  const lines: string[] = [];
  const t = startServer(
    staticSite(PUBLIC, (l) => lines.push(l)),
  );
  try {
    const page = await responseTo(
      t.port,
      "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert.equal(page.status, 200);
    assert.equal(header(page, "content-type"), "text/html; charset=utf-8");
    // The page is under compress's threshold (1024 bytes): sent as is, but marked as varying.
    assert.equal(header(page, "content-encoding"), undefined);
    assert.equal(header(page, "vary"), "Accept-Encoding");
    const html = await Deno.readTextFile(new URL("../../examples/public/index.html", import.meta.url));
    assert.equal(page.body, html);
    const etag = header(page, "etag")!;
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await responseTo(
      t.port,
      `GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: ${etag}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(again.status, 304);
    assert.equal(again.body, "");
    const missing = await responseTo(
      t.port,
      "GET /missing.html HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
    );
    assert.equal(missing.status, 404);
    assert.match(header(missing, "content-type") ?? "", /^text\/html/);
    assert.match(missing.body, /404 Not Found/);
    assert.equal(lines.length, 3);
    assert.match(lines[2], /"GET \/missing\.html HTTP\/1\.1" 404 \d+ "-" "-"$/);
  } finally {
    await t.stop();
  }
});

Deno.test("examples/static.ts: a page above the threshold travels gzipped, and unzips to the file", async () => {
  const t = startServer(staticSite(PUBLIC, () => {}));
  try {
    const page = await responseTo(
      t.port,
      "GET /guide.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert.equal(page.status, 200);
    assert.equal(header(page, "content-encoding"), "gzip");
    assert.equal(header(page, "vary"), "Accept-Encoding");
    const file = await Deno.readTextFile(new URL("../../examples/public/guide.html", import.meta.url));
    assert.ok(
      file.length > 1024 && page.body.length < file.length / 2,
      `${page.body.length} of ${file.length}`,
    );
    assert.equal(await decompress(page.body, "gzip"), file);
  } finally {
    await t.stop();
  }
});

Deno.test("examples/static.ts: PUBLIC is the folder's path, also from a checkout whose path has a space", async () => {
  assert.ok(Deno.statSync(PUBLIC).isDirectory, PUBLIC);
  // The same module seen through a folder named with a space: its URL holds %20, its path must not.
  const parent = await Deno.makeTempDir();
  const checkout = `${parent}/a checkout`;
  await Deno.symlink(new URL("../..", import.meta.url).pathname, checkout);
  try {
    const url = new URL("examples/static.ts", `file://${encodeURI(checkout)}/`).href;
    assert.match(url, /a%20checkout/);
    const module = await import(url);
    assert.equal(module.PUBLIC, `${checkout}/examples/public/`);
    assert.ok(Deno.statSync(module.PUBLIC).isDirectory, module.PUBLIC);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
