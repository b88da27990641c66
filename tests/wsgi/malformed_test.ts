/**
 * The table of malformed (and borderline valid) requests: each row is the raw
 * request, the status the server must answer, and whether the connection is
 * closed afterwards. Rows that must close are read until EOF (a hang is a
 * failure); rows that must stay open are proved open by a second request on
 * the same connection. Every error response must carry Date, Server,
 * Content-Length and `Connection: close`, and the server must answer a fresh
 * connection after each row.
 */
import assert from "node:assert/strict";
import type { App, ServeOptions } from "../../wsgi/mod.ts";
import { assertServerFields, assertServes, Client, header, parseResponses, startServer } from "../http.ts";

/** Reads the whole body, then answers `ok <length>`. */
const readAll: App = async function* (environ, startResponse) {
  let n = 0;
  for await (const chunk of environ["wsgi.input"]) n += chunk.length;
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  yield `ok ${n}`;
};

interface Row {
  name: string;
  request: string;
  status: number;
  close: boolean;
  /** The body of a 200 (`ok <n>`), when it matters. */
  body?: string;
  /** The status line's version, when it matters. */
  version?: string;
  options?: ServeOptions;
}

const H = "Host: x\r\n";
const get11 = (extra = "") => `GET / HTTP/1.1\r\n${H}${extra}\r\n`;
const post11 = (fields: string, body: string) => `POST / HTTP/1.1\r\n${H}${fields}\r\n${body}`;
const chunked = (body: string) => post11("Transfer-Encoding: chunked\r\n", body);

const ROWS: Row[] = [
  // ---- line endings and framing bytes ----
  { name: "valid GET (control row)", request: get11(), status: 200, close: false },
  { name: "bare LF line ends everywhere", request: "GET / HTTP/1.1\nHost: x\n\n", status: 400, close: true },
  {
    name: "bare LF after the request line",
    request: "GET / HTTP/1.1\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "bare LF mixed with CRLF in a field line",
    request: "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "bare LF as the blank line", request: "GET / HTTP/1.1\r\nHost: x\r\n\n", status: 400, close: true },
  { name: "bare CR as a line end", request: "GET / HTTP/1.1\rHost: x\r\n\r\n", status: 400, close: true },
  { name: "bare CR in a field value", request: get11("X: a\rb\r\n"), status: 400, close: true },
  {
    name: "bare CR in the request target",
    request: "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "bare CR before the request line's CRLF",
    request: "GET / HTTP/1.1\r\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "bare CR in the method", request: "G\rET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 400, close: true },
  {
    name: "bare CR in the version",
    request: "GET / HTTP/1\r.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "bare CR ending a field line",
    request: "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "bare CR before a field line's CRLF", request: get11("X: y\r\r\n"), status: 400, close: true },
  { name: "bare CR in a field name", request: get11("X\r-A: y\r\n"), status: 400, close: true },
  {
    name: "bare CR in a trailer line",
    request: chunked("3\r\nabc\r\n0\r\nX: a\rb\r\n\r\n"),
    status: 400,
    close: true,
  },
  { name: "obs-fold (SP)", request: get11("X: a\r\n b\r\n"), status: 400, close: true },
  { name: "obs-fold (HTAB)", request: get11("X: a\r\n\tb\r\n"), status: 400, close: true },
  {
    name: "obs-fold right after the request line",
    request: "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "space before the colon", request: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", status: 400, close: true },
  { name: "tab before the colon", request: get11("X-A\t: 1\r\n"), status: 400, close: true },
  { name: "NUL in a field name", request: get11("X\x00A: 1\r\n"), status: 400, close: true },
  { name: "NUL in a field value", request: get11("X-A: a\x00b\r\n"), status: 400, close: true },
  {
    name: "control octet 0x01 in a field value",
    request: get11("X-A: a\x01b\r\n"),
    status: 400,
    close: true,
  },
  { name: "DEL in a field value", request: get11("X-A: a\x7fb\r\n"), status: 400, close: true },
  { name: "control octet in a field name", request: get11("X\x1bA: 1\r\n"), status: 400, close: true },
  { name: "non-token byte in a field name", request: get11("X(A): 1\r\n"), status: 400, close: true },
  { name: "field line without a colon", request: get11("NoColon\r\n"), status: 400, close: true },
  { name: "empty field name", request: get11(": v\r\n"), status: 400, close: true },
  {
    name: "obs-text in a field value is kept (200)",
    request: get11("X-A: caf\xe9\r\n"),
    status: 200,
    close: false,
  },
  {
    name: "NUL in the request target",
    request: "GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "control octet in the request target",
    request: "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "DEL in the request target",
    request: "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "non-ASCII octet in the request target",
    request: "GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "fragment in the target",
    request: "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "fragment in an absolute-form target",
    request: "GET http://x/a#f HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },

  // ---- request line ----
  {
    name: "two spaces after the method",
    request: "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "space inside the target",
    request: "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "trailing space after the version",
    request: "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "HTAB as a separator", request: "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", status: 400, close: true },
  {
    name: "leading space before the method",
    request: " GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "non-token byte in the method",
    request: "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "HTTP/0.9-style request line (no version)", request: "GET /\r\n\r\n", status: 400, close: true },
  { name: "lowercase http/1.1", request: "GET / http/1.1\r\nHost: x\r\n\r\n", status: 400, close: true },
  {
    name: "version with two minor digits",
    request: "GET / HTTP/1.10\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "version without minor", request: "GET / HTTP/1\r\nHost: x\r\n\r\n", status: 400, close: true },
  { name: "HTTP/2.0 is 505", request: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", status: 505, close: true },
  { name: "HTTP/3.0 is 505", request: "GET / HTTP/3.0\r\nHost: x\r\n\r\n", status: 505, close: true },
  { name: "HTTP/0.9 is 505", request: "GET / HTTP/0.9\r\nHost: x\r\n\r\n", status: 505, close: true },
  {
    name: "HTTP/1.2 is handled as 1.1 (keep-alive, Host needed)",
    request: "GET / HTTP/1.2\r\nHost: x\r\n\r\n",
    status: 200,
    close: false,
    version: "HTTP/1.1",
  },
  {
    name: "HTTP/1.2 without Host is 400 (1.1 rules)",
    request: "GET / HTTP/1.2\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "CONNECT (authority-form) refused",
    request: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    status: 501,
    close: true,
  },
  {
    name: "authority-form with GET",
    request: "GET example.com:80 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "asterisk-form with GET", request: "GET * HTTP/1.1\r\nHost: x\r\n\r\n", status: 400, close: true },
  {
    name: "asterisk-form with OPTIONS (200)",
    request: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 200,
    close: false,
  },
  {
    name: "absolute-form (200)",
    request: "GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    status: 200,
    close: false,
  },
  {
    name: "absolute-form without a host",
    request: "GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "relative target without a slash",
    request: "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "leading empty lines are ignored (200)",
    request: "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 200,
    close: false,
  },
  {
    name: "request line too long (414)",
    request: `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    status: 414,
    close: true,
  },

  // ---- Host ----
  { name: "HTTP/1.1 without Host", request: "GET / HTTP/1.1\r\nX: y\r\n\r\n", status: 400, close: true },
  {
    name: "two Host fields",
    request: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "two equal Host fields",
    request: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    status: 400,
    close: true,
  },
  { name: "Host with a space", request: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400, close: true },
  { name: "Host with a slash", request: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400, close: true },
  {
    name: "Host with userinfo (@)",
    request: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "Host with a space-separated list",
    request: "GET / HTTP/1.1\r\nHost: a b, c\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "empty Host on 1.1 is valid (200)",
    request: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    status: 200,
    close: false,
  },
  {
    name: "Host with port and IPv6 literal (200)",
    request: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    status: 200,
    close: false,
  },
  {
    name: "absolute-form still needs Host on 1.1",
    request: "GET http://example.com/ HTTP/1.1\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "HTTP/1.0 without Host (200, closed)",
    request: "GET / HTTP/1.0\r\n\r\n",
    status: 200,
    close: true,
    version: "HTTP/1.0",
  },
  {
    name: "HTTP/1.0 with two Host fields",
    request: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    status: 400,
    close: true,
  },

  // ---- Content-Length ----
  {
    name: "Content-Length with a plus sign",
    request: post11("Content-Length: +3\r\n", "abc"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length negative",
    request: post11("Content-Length: -1\r\n", ""),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length with letters",
    request: post11("Content-Length: 3a\r\n", "abc"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length in hex",
    request: post11("Content-Length: 0x3\r\n", "abc"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length with an inner space",
    request: post11("Content-Length: 1 2\r\n", "abc"),
    status: 400,
    close: true,
  },
  { name: "Content-Length empty", request: post11("Content-Length:\r\n", ""), status: 400, close: true },
  {
    name: "Content-Length overflow",
    request: post11("Content-Length: 99999999999999999999999\r\n", "abc"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length 2^53+1",
    request: post11("Content-Length: 9007199254740993\r\n", "abc"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length list of different values",
    request: post11("Content-Length: 3, 4\r\n", "abcd"),
    status: 400,
    close: true,
  },
  {
    name: "two Content-Length fields that differ",
    request: post11("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length list of equal values (200)",
    request: post11("Content-Length: 3, 3\r\n", "abc"),
    status: 200,
    close: false,
    body: "ok 3",
  },
  {
    name: "two equal Content-Length fields (200)",
    request: post11("Content-Length: 3\r\nContent-Length: 3\r\n", "abc"),
    status: 200,
    close: false,
    body: "ok 3",
  },
  {
    name: "Content-Length with leading zeros (200)",
    request: post11("Content-Length: 003\r\n", "abc"),
    status: 200,
    close: false,
    body: "ok 3",
  },
  {
    name: "Content-Length with surrounding OWS (200)",
    request: post11("Content-Length: \t3 \r\n", "abc"),
    status: 200,
    close: false,
    body: "ok 3",
  },
  {
    // 0xA0 is obs-text, not OWS (RFC 9110 §5.6.3): "3\xA0" is not 1*DIGIT.
    name: "Content-Length with a trailing 0xA0 octet (not OWS)",
    request: post11("Content-Length: 3\xa0\r\n", "abc"),
    status: 400,
    close: true,
  },
  {
    name: "body over maxBodyBytes by Content-Length (413)",
    request: post11("Content-Length: 10485761\r\n", ""),
    status: 413,
    close: true,
  },

  // ---- Transfer-Encoding ----
  {
    name: "Transfer-Encoding with Content-Length",
    request: post11("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "Content-Length then Transfer-Encoding",
    request: post11("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "Transfer-Encoding in an HTTP/1.0 request",
    request: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    status: 400,
    close: true,
  },
  {
    name: "chunked twice in one field",
    request: post11("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunked twice in two fields",
    request: post11("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunked not last",
    request: post11("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "gzip alone (no chunked: cannot frame)",
    request: post11("Transfer-Encoding: gzip\r\n", "0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "gzip, chunked is 501",
    request: post11("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
    status: 501,
    close: true,
  },
  {
    name: "unknown coding before chunked is 501",
    request: post11("Transfer-Encoding: foo\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    status: 501,
    close: true,
  },
  {
    // "chunked\xA0" is not the chunked coding: the final coding is not chunked (RFC 9112 §6.3 item 4).
    name: "Transfer-Encoding chunked followed by a 0xA0 octet",
    request: post11("Transfer-Encoding: chunked\xa0\r\n", "3\r\nabc\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "Transfer-Encoding empty",
    request: post11("Transfer-Encoding:\r\n", ""),
    status: 400,
    close: true,
  },
  {
    name: "Transfer-Encoding: Chunked (case-insensitive, 200)",
    request: post11("Transfer-Encoding: Chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"),
    status: 200,
    close: false,
    body: "ok 3",
  },

  // ---- chunked bodies ----
  {
    name: "chunked body (200)",
    request: chunked("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
    status: 200,
    close: false,
    body: "ok 5",
  },
  {
    name: "chunk extensions are skipped (200)",
    request: chunked('3;a=b\r\nabc\r\n2;x="y;z"\r\nde\r\n0;end\r\n\r\n'),
    status: 200,
    close: false,
    body: "ok 5",
  },
  {
    name: "chunk extensions with BWS, quoted-pairs and obs-text in quotes (200)",
    request: chunked('3 ; a = b ;c\r\nabc\r\n2;x="\\"\xe9\\\\";y="" \t;z\r\nde\r\n0\r\n\r\n'),
    status: 200,
    close: false,
    body: "ok 5",
  },
  {
    name: "chunk extension ';' without a name",
    request: chunked("5;\r\nhello\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunk extension '; =x' without a name",
    request: chunked("5; =x\r\nhello\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunk extension without a name on the last chunk",
    request: chunked("5\r\nhello\r\n0;\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunk extension with an unbalanced quote",
    request: chunked('5;a="b\r\nhello\r\n0\r\n\r\n'),
    status: 400,
    close: true,
  },
  {
    name: "chunk extension whose closing quote is escaped",
    request: chunked('5;a="b\\"\r\nhello\r\n0\r\n\r\n'),
    status: 400,
    close: true,
  },
  {
    name: "chunk extension name that is not a token",
    request: chunked("5;\xe9\r\nhello\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "upper-case hex chunk size (200)",
    request: chunked(`A\r\n${"x".repeat(10)}\r\n0\r\n\r\n`),
    status: 200,
    close: false,
    body: "ok 10",
  },
  {
    name: "trailers are parsed (200)",
    request: chunked("3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    status: 200,
    close: false,
    body: "ok 3",
  },
  { name: "chunk size not hex", request: chunked("zz\r\nabc\r\n0\r\n\r\n"), status: 400, close: true },
  { name: "chunk size negative", request: chunked("-3\r\nabc\r\n0\r\n\r\n"), status: 400, close: true },
  {
    name: "chunk size with leading space",
    request: chunked(" 3\r\nabc\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  { name: "chunk size 0x prefix", request: chunked("0x3\r\nabc\r\n0\r\n\r\n"), status: 400, close: true },
  { name: "empty chunk size line", request: chunked("\r\nabc\r\n0\r\n\r\n"), status: 400, close: true },
  {
    name: "chunk size overflow (20 hex digits)",
    request: chunked("ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunk size line with a bare LF",
    request: chunked("3\nabc\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "chunk data longer than its size",
    request: chunked("3\r\nabcdef\r\n0\r\n\r\n"),
    status: 400,
    close: true,
  },
  { name: "missing CRLF after chunk data", request: chunked("3\r\nabc0\r\n\r\n"), status: 400, close: true },
  { name: "bare LF after chunk data", request: chunked("3\r\nabc\n0\r\n\r\n"), status: 400, close: true },
  {
    name: "obs-fold in a trailer",
    request: chunked("3\r\nabc\r\n0\r\nX: a\r\n b\r\n\r\n"),
    status: 400,
    close: true,
  },
  {
    name: "body over maxBodyBytes by chunk size (413)",
    request: chunked("a00001\r\n"),
    status: 413,
    close: true,
  },

  // ---- limits (small, so the request arrives in one read) ----
  {
    name: "too many header fields (431)",
    request: get11("X: 1\r\n".repeat(8)),
    status: 431,
    close: true,
    options: { maxHeaders: 5 },
  },
  {
    name: "header section too large (431)",
    request: get11(`X: ${"v".repeat(2000)}\r\n`),
    status: 431,
    close: true,
    options: { maxHeaderBytes: 1024 },
  },
  {
    name: "request line over maxRequestLine (414)",
    request: `GET /${"a".repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    status: 414,
    close: true,
    options: { maxRequestLine: 100 },
  },
  {
    name: "Content-Length over maxBodyBytes (413)",
    request: post11("Content-Length: 101\r\n", "x".repeat(101)),
    status: 413,
    close: true,
    options: { maxBodyBytes: 100 },
  },
  {
    name: "chunks summing over maxBodyBytes (413)",
    request: chunked(`40\r\n${"x".repeat(64)}\r\n40\r\n`),
    status: 413,
    close: true,
    options: { maxBodyBytes: 100 },
  },

  // ---- Expect and Connection ----
  { name: "Expect: foo (417)", request: get11("Expect: foo\r\n"), status: 417, close: true },
  {
    name: "Expect: 100-continue with the body already sent (200)",
    request: post11("Expect: 100-continue\r\nContent-Length: 3\r\n", "abc"),
    status: 200,
    close: false,
    body: "ok 3",
  },
  {
    name: "Connection: close (200, closed)",
    request: get11("Connection: close\r\n"),
    status: 200,
    close: true,
  },
  {
    name: "HTTP/1.0 with Connection: keep-alive (200, open)",
    request: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    status: 200,
    close: false,
    version: "HTTP/1.0",
  },
];

for (const row of ROWS) {
  Deno.test(`malformed: ${row.name} → ${row.status}${row.close ? ", closed" : ", open"}`, async () => {
    const server = startServer(readAll, row.options);
    try {
      const client = await Client.connect(server.port);
      try {
        await client.write(row.request);
        const response = await client.response("GET");
        assert.equal(
          response.status,
          row.status,
          `status for ${JSON.stringify(row.request.slice(0, 200))}: ${
            JSON.stringify(response.raw.slice(0, 400))
          }`,
        );
        assertServerFields(response);
        assert.ok(response.version === "HTTP/1.1" || response.version === "HTTP/1.0");
        if (row.version !== undefined) assert.equal(response.version, row.version);
        if (row.body !== undefined) assert.equal(response.body, row.body);
        if (row.status >= 400) {
          assert.equal(
            header(response, "connection"),
            "close",
            "an error response announces Connection: close",
          );
          assert.equal(header(response, "content-length"), String(response.body.length));
          assert.ok(
            response.body.startsWith(`${row.status} `),
            `short body naming the status: ${JSON.stringify(response.body)}`,
          );
        }
        if (row.close) {
          const after = await client.readUntilClose();
          assert.ok(after.closed, "the connection must be closed after the response (it hung)");
          assert.equal(after.text, "", "nothing may follow the response");
        } else {
          assert.equal(header(response, "connection"), row.version === "HTTP/1.0" ? "keep-alive" : undefined);
          assert.ok(await client.write("GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
          const after = await client.readUntilClose();
          assert.ok(after.closed, "the second request hung");
          const { responses } = parseResponses(after.text);
          assert.equal(responses.length, 1, `the connection must stay usable: ${JSON.stringify(after.text)}`);
          assert.equal(responses[0].status, 200);
        }
      } finally {
        await client.close();
      }
      await assertServes(server.port, "ok 0");
      const internal = server.errors.filter((e) => e.context === "connection" || e.context === "accept");
      assert.deepEqual(internal, [], "the server itself must not fail");
    } finally {
      await server.stop(500);
    }
  });
}

Deno.test("malformed: the table covers at least 50 rows", () => {
  assert.ok(ROWS.length >= 50, `${ROWS.length} rows`);
});

/**
 * RFC 9110, 6.2 / the issue ("status line in the request's version, max
 * 1.1"): a well-formed HTTP/1.1 request the server declines (an unknown
 * expectation, an unsupported coding, a body over the limit) is answered
 * with an HTTP/1.1 status line: nothing suggests the client is broken.
 */
for (
  const [name, request, status] of [
    ["Expect: foo", get11("Expect: foo\r\n"), 417],
    ["gzip, chunked", post11("Transfer-Encoding: gzip, chunked\r\n", ""), 501],
    ["body over the limit", post11("Content-Length: 10485761\r\n", ""), 413],
  ] as const
) {
  Deno.test(`malformed: error answer to a parsed HTTP/1.1 request line is HTTP/1.1 (${name})`, async () => {
    const server = startServer(readAll);
    try {
      const client = await Client.connect(server.port);
      try {
        await client.write(request);
        const response = await client.response();
        assert.equal(response.status, status);
        assert.equal(response.version, "HTTP/1.1", JSON.stringify(response.raw));
      } finally {
        await client.close();
      }
    } finally {
      await server.stop(500);
    }
  });
}

Deno.test("malformed: any split of a bad request gets the same answer (bytes one at a time)", async () => {
  const server = startServer(readAll);
  try {
    const requests = [
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      chunked("3\r\nabcdef\r\n0\r\n\r\n"),
      "GET / HTTP/1.1\rHost: x\r\n\r\n",
      get11("X: a\r\r\n"),
      chunked("5;\r\nhello\r\n0\r\n\r\n"),
      chunked('5;a="b\r\nhello\r\n0\r\n\r\n'),
    ];
    for (const request of requests) {
      const client = await Client.connect(server.port);
      try {
        for (const byte of request) {
          if (!(await client.write(byte))) break;
        }
        const response = await client.response();
        assert.equal(response.status, 400);
        const after = await client.readUntilClose();
        assert.ok(after.closed);
      } finally {
        await client.close();
      }
    }
    await assertServes(server.port);
  } finally {
    await server.stop(500);
  }
});
