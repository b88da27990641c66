/**
 * HTTP/1.1 conformance, side by side: the same raw requests, valid and
 * malformed, sent to three servers on 127.0.0.1 — ours (`serve` with the
 * `echo` app of `examples/echo.ts`), `Deno.serve` and `node:http` (run under
 * Deno) with equivalent echo handlers — each over a fresh TCP connection.
 * For every request it records the statuses received (interim ones too),
 * whether the connection was then closed, or that nothing came; and it
 * compares each server with what RFC 9112 / RFC 9110 allow.
 *
 * ```sh
 * deno run -A bench/conformance.ts            # prints the table, writes bench/CONFORMANCE.md
 * deno run -A bench/conformance.ts --no-write # prints only
 * ```
 *
 * @module
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { echo } from "../examples/echo.ts";
import { serve } from "../wsgi/mod.ts";
import { formatMarkdown } from "./util.ts";

/** Ms without a response before a request counts as unanswered. */
const TIMEOUT = 2500;
/** Ms to wait after a final response for more data or the close. */
const IDLE = 500;
/** Ms a staged request (`Expect: 100-continue`) waits for the interim response before sending its body anyway. */
const CONTINUE_WAIT = 1000;

// ---- the requests ----

/** One raw request and what the RFCs allow in answer. */
interface Case {
  /** The group in the table. */
  group: string;
  /** What it tests. */
  what: string;
  /** The bytes to send (ISO-8859-1 strings), in order. */
  parts: string[];
  /** Send `parts[0]`, wait (≤ 1 s) for an interim or final response, then the rest unless a final one came. */
  staged?: boolean;
  /**
   * The acceptable outcomes: status sequences (`"100 200"`; `4xx` matches any
   * 4xx), `"none"` (closed without a response) or `"timeout"`.
   */
  expect: string[];
  /** `true`: the connection MUST be closed after the response; `false`: it must stay open. */
  close?: boolean;
  /** The rule, with its section and strength. */
  rfc: string;
  /** How to show the bytes when they are too long to print. */
  show?: string;
}

const H = "Host: x\r\n";
const GET = `GET / HTTP/1.1\r\n${H}\r\n`;
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
const CHUNKED_BODY = "5\r\nhello\r\n0\r\n\r\n";

function post(fields: string, body: string, version = "1.1"): string {
  return `POST / HTTP/${version}\r\n${fields}\r\n${body}`;
}

const CASES: Case[] = [
  // Baseline.
  {
    group: "baseline",
    what: "simple GET",
    parts: [GET],
    expect: ["200"],
    close: false,
    rfc: "§9.3: HTTP/1.1 persists by default",
  },
  {
    group: "baseline",
    what: "Connection: close",
    parts: [`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    expect: ["200"],
    close: true,
    rfc: "§9.6: MUST close after the response",
  },
  {
    group: "baseline",
    what: "HTTP/1.0 without keep-alive",
    parts: ["GET / HTTP/1.0\r\n\r\n"],
    expect: ["200"],
    close: true,
    rfc: "§9.3: 1.0 without keep-alive closes",
  },
  {
    group: "baseline",
    what: "HTTP/1.0 with Connection: keep-alive",
    parts: ["GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"],
    expect: ["200"],
    rfc: "§9.3: MAY persist",
  },
  {
    group: "baseline",
    what: "POST with Content-Length",
    parts: [post(`${H}Content-Length: 5\r\n`, "hello")],
    expect: ["200"],
    close: false,
    rfc: "§6.2",
  },
  {
    group: "baseline",
    what: "chunked with extensions and a trailer",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, '5;a=b;c="d"\r\nhello\r\n0;x\r\nX-T: 1\r\n\r\n')],
    expect: ["200"],
    close: false,
    rfc: "§7.1: extensions ignored, trailers allowed",
  },
  {
    group: "baseline",
    what: "two requests pipelined in one write",
    parts: [GET + GET],
    expect: ["200 200"],
    close: false,
    rfc: "§9.3.2: answered in order",
  },
  {
    group: "baseline",
    what: "empty line before the request line",
    parts: ["\r\n" + GET],
    expect: ["200"],
    rfc: "§2.2: SHOULD ignore at least one",
  },
  {
    group: "baseline",
    what: "absolute-form target",
    parts: [`GET http://x/p?q=1 HTTP/1.1\r\n${H}\r\n`],
    expect: ["200"],
    rfc: "§3.2.2: servers MUST accept it",
  },
  {
    group: "baseline",
    what: "OPTIONS with asterisk-form",
    parts: [`OPTIONS * HTTP/1.1\r\n${H}\r\n`],
    expect: ["2xx"],
    rfc: "§3.2.4",
  },
  {
    group: "baseline",
    what: "obs-text in a field value",
    parts: [`GET / HTTP/1.1\r\n${H}X-A: caf\xe9\r\n\r\n`],
    expect: ["200"],
    rfc: "RFC 9110 §5.5: obs-text allowed",
  },
  // Request line.
  {
    group: "request line",
    what: "fragment (#) in the target",
    parts: [`GET /a#b HTTP/1.1\r\n${H}\r\n`],
    expect: ["400", "301"],
    rfc: "§3.2 grammar; §3: SHOULD 400 (or 301)",
  },
  {
    group: "request line",
    what: "two spaces after the method",
    parts: [`GET  / HTTP/1.1\r\n${H}\r\n`],
    expect: ["400", "200"],
    rfc: "§3: 400, or MAY parse on whitespace",
  },
  {
    group: "request line",
    what: "HTAB as separator",
    parts: [`GET\t/ HTTP/1.1\r\n${H}\r\n`],
    expect: ["400", "200"],
    rfc: "§3: 400, or MAY parse on whitespace",
  },
  {
    group: "request line",
    what: "control byte in the target",
    parts: [`GET /\x01 HTTP/1.1\r\n${H}\r\n`],
    expect: ["400"],
    rfc: "§3.2 grammar; §3: SHOULD 400",
  },
  {
    group: "request line",
    what: "non-ASCII byte in the target",
    parts: [`GET /\xff HTTP/1.1\r\n${H}\r\n`],
    expect: ["400"],
    rfc: "§3.2 grammar; §3: SHOULD 400",
  },
  {
    group: "request line",
    what: "asterisk-form with GET",
    parts: [`GET * HTTP/1.1\r\n${H}\r\n`],
    expect: ["400"],
    rfc: "§3.2.4: only for OPTIONS",
  },
  {
    group: "request line",
    what: "authority-form with GET",
    parts: [`GET x:80 HTTP/1.1\r\n${H}\r\n`],
    expect: ["400"],
    rfc: "§3.2.3: only for CONNECT",
  },
  {
    group: "request line",
    what: "non-token byte in the method",
    parts: [`G(T / HTTP/1.1\r\n${H}\r\n`],
    expect: ["400"],
    rfc: "§3.1: method = token",
  },
  {
    group: "request line",
    what: "bare CR ending the request line",
    parts: [`GET / HTTP/1.1\r${H}\r\n`],
    expect: ["400"],
    rfc: "§2.2: bare CR invalid (or SP → still invalid)",
  },
  {
    group: "request line",
    what: "HTTP/0.9 simple request",
    parts: ["GET /\r\n\r\n"],
    expect: ["400", "505", "none"],
    rfc: "§2.3 / §3: invalid request line",
  },
  // Version.
  {
    group: "version",
    what: "HTTP/1.2 (higher minor)",
    parts: [`GET / HTTP/1.2\r\n${H}\r\n`],
    expect: ["200"],
    rfc: "RFC 9110 §2.5: SHOULD process as 1.1",
  },
  {
    group: "version",
    what: "HTTP/2.0 in an HTTP/1 request line",
    parts: [`GET / HTTP/2.0\r\n${H}\r\n`],
    expect: ["505", "400"],
    rfc: "RFC 9110 §15.6.6: 505",
  },
  {
    group: "version",
    what: "HTTP/0.9 with headers",
    parts: [`GET / HTTP/0.9\r\n${H}\r\n`],
    expect: ["505", "400"],
    rfc: "RFC 9110 §15.6.6: 505",
  },
  {
    group: "version",
    what: "lower-case http/1.1",
    parts: [`GET / http/1.1\r\n${H}\r\n`],
    expect: ["400", "505"],
    rfc: "§2.3: HTTP-name is case-sensitive",
  },
  {
    group: "version",
    what: "HTTP/1.10 (two-digit minor)",
    parts: [`GET / HTTP/1.10\r\n${H}\r\n`],
    expect: ["400", "505"],
    rfc: "§2.3: DIGIT . DIGIT",
  },
  {
    group: "version",
    what: "HTTP/1 (no minor)",
    parts: [`GET / HTTP/1\r\n${H}\r\n`],
    expect: ["400", "505"],
    rfc: "§2.3: DIGIT . DIGIT",
  },
  // Host.
  {
    group: "Host",
    what: "HTTP/1.1 without Host",
    parts: ["GET / HTTP/1.1\r\n\r\n"],
    expect: ["400"],
    rfc: "§3.2: MUST 400",
  },
  {
    group: "Host",
    what: "two Host fields",
    parts: [`GET / HTTP/1.1\r\n${H}Host: y\r\n\r\n`],
    expect: ["400"],
    rfc: "§3.2: MUST 400",
  },
  {
    group: "Host",
    what: "Host with a space",
    parts: ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n"],
    expect: ["400"],
    rfc: "§3.2: invalid value, MUST 400",
  },
  {
    group: "Host",
    what: "Host with userinfo (u@x)",
    parts: ["GET / HTTP/1.1\r\nHost: u@x\r\n\r\n"],
    expect: ["400"],
    rfc: "§3.2: invalid value, MUST 400",
  },
  {
    group: "Host",
    what: "Host with a non-numeric port (x:8o)",
    parts: ["GET / HTTP/1.1\r\nHost: x:8o\r\n\r\n"],
    expect: ["400"],
    rfc: "§3.2: invalid value (port = *DIGIT), MUST 400",
  },
  {
    group: "Host",
    what: "Host with a path (x/y)",
    parts: ["GET / HTTP/1.1\r\nHost: x/y\r\n\r\n"],
    expect: ["400"],
    rfc: "§3.2: invalid value, MUST 400",
  },
  {
    group: "Host",
    what: "HTTP/1.0 without Host",
    parts: ["GET / HTTP/1.0\r\n\r\n"],
    expect: ["200"],
    rfc: "§3.2: required in 1.1 only",
  },
  {
    group: "Host",
    what: "empty Host",
    parts: ["GET / HTTP/1.1\r\nHost:\r\n\r\n"],
    expect: ["200", "400"],
    rfc: "RFC 9110 §7.2: empty allowed",
  },
  {
    group: "Host",
    what: "absolute-form with another Host",
    parts: [`GET http://a/p HTTP/1.1\r\nHost: b\r\n\r\n`],
    expect: ["200"],
    rfc: "§3.2.2: MUST ignore Host",
  },
  // Field syntax.
  {
    group: "fields",
    what: "space before the colon",
    parts: [`GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n`],
    expect: ["400"],
    rfc: "§5.1: MUST 400",
  },
  {
    group: "fields",
    what: "space before the colon of Content-Length",
    parts: [post(`${H}Content-Length : 5\r\n`, "hello")],
    expect: ["400"],
    rfc: "§5.1: MUST 400",
  },
  {
    group: "fields",
    what: "obs-fold",
    parts: [`GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`],
    expect: ["400", "200"],
    rfc: "§5.2: MUST 400 or replace with SP",
  },
  {
    group: "fields",
    what: "whitespace before the first field",
    parts: [`GET / HTTP/1.1\r\n X-A: b\r\n${H}\r\n`],
    expect: ["400", "200"],
    rfc: "§2.2: MUST reject or ignore the line",
  },
  {
    group: "fields",
    what: "bare LF line ends",
    parts: ["GET / HTTP/1.1\nHost: x\n\n"],
    expect: ["200", "400"],
    rfc: "§2.2: MAY accept LF",
  },
  {
    group: "fields",
    what: "bare CR in a field value",
    parts: [`GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`],
    expect: ["400", "200"],
    rfc: "§2.2: MUST reject or replace with SP",
  },
  {
    group: "fields",
    what: "NUL in a field value",
    parts: [`GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`],
    expect: ["400", "200"],
    rfc: "RFC 9110 §5.5: MUST reject or replace with SP",
  },
  {
    group: "fields",
    what: "control byte 0x01 in a field value",
    parts: [`GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`],
    expect: ["400", "200"],
    rfc: "RFC 9110 §5.5: invalid, MAY retain",
  },
  {
    group: "fields",
    what: "field line without a colon",
    parts: [`GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`],
    expect: ["400"],
    rfc: "§5: field-line grammar",
  },
  {
    group: "fields",
    what: "empty field name",
    parts: [`GET / HTTP/1.1\r\n${H}: v\r\n\r\n`],
    expect: ["400"],
    rfc: "§5: field-name = token",
  },
  {
    group: "fields",
    what: "non-token byte in a field name",
    parts: [`GET / HTTP/1.1\r\n${H}X(A: v\r\n\r\n`],
    expect: ["400"],
    rfc: "§5: field-name = token",
  },
  // Content-Length and Transfer-Encoding.
  {
    group: "CL/TE",
    what: "TE chunked + CL, body hides a request",
    parts: [
      post(
        `${H}Transfer-Encoding: chunked\r\nContent-Length: ${5 + SMUGGLED.length}\r\n`,
        "0\r\n\r\n" + SMUGGLED,
      ),
    ],
    expect: ["400", "200"],
    close: true,
    rfc: "§6.3 (3): MAY reject; MUST close",
  },
  {
    group: "CL/TE",
    what: "CL + TE chunked (CL first), body hides a request",
    parts: [post(`${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`, "0\r\n\r\n" + SMUGGLED)],
    expect: ["400", "200"],
    close: true,
    rfc: "§6.3 (3): MAY reject; MUST close",
  },
  {
    group: "CL/TE",
    what: "two different Content-Length fields",
    parts: [post(`${H}Content-Length: 5\r\nContent-Length: 6\r\n`, "hello!")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (5): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "Content-Length: 5, 6",
    parts: [post(`${H}Content-Length: 5, 6\r\n`, "hello!")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (5): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "Content-Length: 5, 5",
    parts: [post(`${H}Content-Length: 5, 5\r\n`, "hello")],
    expect: ["200", "400"],
    rfc: "RFC 9110 §8.6: MAY collapse or reject",
  },
  {
    group: "CL/TE",
    what: "Content-Length: -1",
    parts: [post(`${H}Content-Length: -1\r\n`, "")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (5): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "Content-Length: +5",
    parts: [post(`${H}Content-Length: +5\r\n`, "hello")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (5): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "Content-Length: 5 then byte 0xA0",
    parts: [post(`${H}Content-Length: 5\xa0\r\n`, "hello")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (5): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "Content-Length of 20 digits",
    parts: [post(`${H}Content-Length: 99999999999999999999\r\n`, "")],
    expect: ["400", "413"],
    close: true,
    rfc: "§6.3 (5) / RFC 9110 §8.6: overflow",
  },
  {
    group: "CL/TE",
    what: "TE: chunked, gzip",
    parts: [post(`${H}Transfer-Encoding: chunked, gzip\r\n`, CHUNKED_BODY)],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (4): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "TE: gzip, chunked",
    parts: [post(`${H}Transfer-Encoding: gzip, chunked\r\n`, CHUNKED_BODY)],
    expect: ["501"],
    rfc: "§6.1: unknown coding, SHOULD 501",
  },
  {
    group: "CL/TE",
    what: "TE: gzip (no chunked)",
    parts: [post(`${H}Transfer-Encoding: gzip\r\n`, "hello")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (4): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "TE: identity",
    parts: [post(`${H}Transfer-Encoding: identity\r\n`, "hello")],
    expect: ["400"],
    close: true,
    rfc: "§6.3 (4): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "TE: chunked twice (two fields)",
    parts: [post(`${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`, CHUNKED_BODY)],
    expect: ["400"],
    rfc: "§7: chunked MUST NOT be applied twice",
  },
  {
    group: "CL/TE",
    what: "TE: Chunked (case)",
    parts: [post(`${H}Transfer-Encoding: Chunked\r\n`, CHUNKED_BODY)],
    expect: ["200"],
    close: false,
    rfc: "§7: coding names are case-insensitive",
  },
  {
    group: "CL/TE",
    what: "TE: chunked then byte 0xA0",
    parts: [post(`${H}Transfer-Encoding: chunked\xa0\r\n`, CHUNKED_BODY)],
    expect: ["501", "400"],
    close: true,
    rfc: "§6.1: unknown coding (SHOULD 501); §6.3 (4): 400",
  },
  {
    group: "CL/TE",
    what: "TE: xchunked",
    parts: [post(`${H}Transfer-Encoding: xchunked\r\n`, CHUNKED_BODY)],
    expect: ["400", "501"],
    close: true,
    rfc: "§6.3 (4): MUST 400 and close",
  },
  {
    group: "CL/TE",
    what: "TE: VT before chunked",
    parts: [post(`${H}Transfer-Encoding: \x0bchunked\r\n`, CHUNKED_BODY)],
    expect: ["400", "501"],
    close: true,
    rfc: "§6.3 (4); RFC 9110 §5.5",
  },
  {
    group: "CL/TE",
    what: "space before the colon of TE, with CL",
    parts: [post(`${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n`, "0\r\n\r\n")],
    expect: ["400"],
    rfc: "§5.1: MUST 400",
  },
  {
    group: "CL/TE",
    what: "TE chunked in HTTP/1.0",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, CHUNKED_BODY, "1.0")],
    expect: ["400", "200"],
    close: true,
    rfc: "§6.1: framing faulty; MUST close",
  },
  // Chunked bodies.
  {
    group: "chunked",
    what: "chunk size not hex",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "zz\r\nhello\r\n0\r\n\r\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1: invalid framing",
  },
  {
    group: "chunked",
    what: "chunk size of 20 hex digits",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n")],
    expect: ["400", "413"],
    close: true,
    rfc: "§7.1: MUST anticipate overflow",
  },
  {
    group: "chunked",
    what: "0x prefix on the size",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "0x5\r\nhello\r\n0\r\n\r\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1: chunk-size = 1*HEXDIG",
  },
  {
    group: "chunked",
    what: "space before the size",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, " 5\r\nhello\r\n0\r\n\r\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1: chunk-size = 1*HEXDIG",
  },
  {
    group: "chunked",
    what: "space after the size, no extension",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "5 \r\nhello\r\n0\r\n\r\n")],
    expect: ["400"],
    rfc: "§7.1.1: BWS only before ';' (grammar)",
  },
  {
    group: "chunked",
    what: "data longer than the size",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "3\r\nhello\r\n0\r\n\r\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1: invalid framing",
  },
  {
    group: "chunked",
    what: "no CRLF after the data",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "5\r\nhello0\r\n\r\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1: invalid framing",
  },
  {
    group: "chunked",
    what: "bare LF in the chunked framing",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "5\nhello\n0\n\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1: CRLF required",
  },
  {
    group: "chunked",
    what: "control byte in a chunk extension",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "5;a=\x01\r\nhello\r\n0\r\n\r\n")],
    expect: ["400"],
    close: true,
    rfc: "§7.1.1: chunk-ext grammar",
  },
  // Limits.
  {
    group: "limits",
    what: "request target of 70 000 bytes",
    parts: [`GET /${"a".repeat(70_000)} HTTP/1.1\r\n${H}\r\n`],
    expect: ["414", "200"],
    rfc: "§3: MUST 414 if too long to parse",
    show: 'GET /aaaa…(70 000 × "a") HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n',
  },
  {
    group: "limits",
    what: "one field of 70 000 bytes",
    parts: [`GET / HTTP/1.1\r\n${H}X-Big: ${"b".repeat(70_000)}\r\n\r\n`],
    expect: ["431", "400", "200"],
    rfc: "RFC 6585 §5: 431",
    show: 'GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: bbbb…(70 000 × "b")\\r\\n\\r\\n',
  },
  {
    group: "limits",
    what: "200 header fields",
    parts: [`GET / HTTP/1.1\r\n${H}${Array.from({ length: 200 }, (_, i) => `X-${i}: v\r\n`).join("")}\r\n`],
    expect: ["431", "400", "200"],
    rfc: "RFC 6585 §5: 431",
    show: "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-0: v\\r\\n…X-199: v\\r\\n\\r\\n",
  },
  {
    group: "limits",
    what: "Content-Length: 20 000 000, no body sent",
    parts: [post(`${H}Content-Length: 20000000\r\n`, "")],
    expect: ["413", "timeout"],
    rfc: "RFC 9110 §15.5.14: 413 (limit is policy)",
  },
  {
    group: "limits",
    what: "chunk size 20 000 000, no data sent",
    parts: [post(`${H}Transfer-Encoding: chunked\r\n`, "1312d00\r\n")],
    expect: ["413", "timeout"],
    rfc: "RFC 9110 §15.5.14: 413 (limit is policy)",
  },
  // Expect.
  {
    group: "Expect",
    what: "100-continue, body sent after the 100",
    parts: [`PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`, "hello"],
    staged: true,
    expect: ["100 200"],
    rfc: "RFC 9110 §10.1.1: MUST send 100 (or a final status)",
  },
  {
    group: "Expect",
    what: "100-continue, body sent at once",
    parts: [`PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`],
    expect: ["200", "100 200"],
    rfc: "RFC 9110 §10.1.1: MAY omit the 100",
  },
  {
    group: "Expect",
    what: "100-continue on a GET without body",
    parts: [`GET / HTTP/1.1\r\n${H}Expect: 100-continue\r\n\r\n`],
    expect: ["200", "100 200"],
    rfc: "RFC 9110 §10.1.1",
  },
  {
    group: "Expect",
    what: "100-continue in HTTP/1.0",
    parts: ["PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"],
    expect: ["200"],
    rfc: "RFC 9110 §10.1.1: MUST ignore; §15.2: no 1xx to 1.0",
  },
  {
    group: "Expect",
    what: "unknown expectation",
    parts: [`GET / HTTP/1.1\r\n${H}Expect: teapot\r\n\r\n`],
    expect: ["417", "200"],
    rfc: "RFC 9110 §10.1.1: MAY 417",
  },
];

// ---- the servers ----

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

function toBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/** `Deno.serve`'s echo: what `examples/echo.ts` answers. */
async function denoEcho(request: Request): Promise<Response> {
  const body = latin1(new Uint8Array(await request.arrayBuffer()));
  // request.url is rebuilt from Host; with an invalid Host it may not parse as a URL: split it by hand.
  const afterAuthority = request.url.replace(/^[a-z]+:\/\/[^/?]*/i, "");
  const q = afterAuthority.indexOf("?");
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => headers[name] = value);
  const json = JSON.stringify({
    method: request.method,
    path: (q < 0 ? afterAuthority : afterAuthority.slice(0, q)) || "/",
    query: q < 0 ? "" : afterAuthority.slice(q + 1),
    headers,
    body,
  });
  return new Response(json, { headers: { "content-type": "application/json; charset=utf-8" } });
}

/** `node:http`'s echo. */
function nodeEcho(request: http.IncomingMessage, response: http.ServerResponse): void {
  const chunks: Uint8Array[] = [];
  request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  request.on("error", () => response.destroy());
  request.on("end", () => {
    const target = request.url ?? "";
    const q = target.indexOf("?");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name] = Array.isArray(value) ? value.join(", ") : String(value);
    }
    const body = chunks.map((c) => latin1(new Uint8Array(c))).join("");
    const json = JSON.stringify({
      method: request.method,
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? "" : target.slice(q + 1),
      headers,
      body,
    });
    response.writeHead(200, { "content-type": "application/json; charset=utf-8" });
    response.end(json);
  });
}

interface Running {
  name: string;
  port: number;
  stop(): Promise<void>;
}

async function startServers(): Promise<Running[]> {
  const appErrors: string[] = [];
  const ours = serve(echo, {
    hostname: "127.0.0.1",
    port: 0,
    onError: (error, context) => appErrors.push(`${context}: ${String(error)}`),
  });
  const abort = new AbortController();
  const deno = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      signal: abort.signal,
      onListen: () => {},
      onError: () => new Response(null, { status: 500 }),
    },
    denoEcho,
  );
  const node = http.createServer(nodeEcho);
  await new Promise<void>((resolve, reject) => {
    node.once("error", reject);
    node.listen(0, "127.0.0.1", () => resolve());
  });
  return [
    {
      name: "ours",
      port: (ours.addr as Deno.NetAddr).port,
      stop: () => ours.shutdown(1000),
    },
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

// ---- the client ----

/** What one request got. */
interface Outcome {
  /** Statuses received, interim ones included, in order. */
  statuses: number[];
  /** Whether the server closed the connection (within the idle wait after the last response). */
  closed: boolean;
  /** Whether the close was a reset. */
  reset: boolean;
  /** No final response within the timeout, connection still open. */
  timeout: boolean;
}

/** Collects what a connection receives; `wait` resolves on new data, on the end, or after `ms`. */
class Receiver {
  data = new Uint8Array(0);
  eof = false;
  reset = false;
  #wake: (() => void) | null = null;

  constructor(conn: Deno.Conn) {
    this.#pump(conn);
  }

  async #pump(conn: Deno.Conn): Promise<void> {
    const chunk = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(this.data.length + n);
        next.set(this.data);
        next.set(chunk.subarray(0, n), this.data.length);
        this.data = next;
        this.#notify();
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) this.reset = true;
    }
    this.eof = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  wait(ms: number): Promise<void> {
    if (this.eof) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Parses the complete responses in `data`: their statuses and whether each is final. */
function parseResponses(data: Uint8Array, eof: boolean): number[] {
  const text = latin1(data);
  const statuses: number[] = [];
  let pos = 0;
  for (;;) {
    const headEnd = text.indexOf("\r\n\r\n", pos);
    if (headEnd < 0) return statuses;
    const head = text.slice(pos, headEnd);
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head)?.[1] ?? NaN);
    if (Number.isNaN(status)) return statuses;
    const fields = head.split("\r\n").slice(1).map((l) => {
      const c = l.indexOf(":");
      return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()] as const;
    });
    const field = (n: string) => fields.find(([name]) => name === n)?.[1];
    let bodyEnd = headEnd + 4;
    if (status >= 200 && status !== 204 && status !== 304) {
      if (/chunked/i.test(field("transfer-encoding") ?? "")) {
        let p = bodyEnd;
        for (;;) {
          const lineEnd = text.indexOf("\r\n", p);
          if (lineEnd < 0) return statuses;
          const size = parseInt(text.slice(p, lineEnd), 16);
          if (Number.isNaN(size)) return statuses;
          if (size === 0) {
            const end = text.indexOf("\r\n\r\n", lineEnd);
            if (end < 0 && !text.startsWith("\r\n", lineEnd + 2)) return statuses;
            p = text.startsWith("\r\n", lineEnd + 2) ? lineEnd + 4 : end + 4;
            break;
          }
          p = lineEnd + 2 + size + 2;
          if (p > text.length) return statuses;
        }
        bodyEnd = p;
      } else if (field("content-length") !== undefined) {
        bodyEnd += Number(field("content-length"));
        if (bodyEnd > text.length) return statuses;
      } else {
        if (!eof) return statuses; // delimited by the close
        bodyEnd = text.length;
      }
    }
    statuses.push(status);
    pos = bodyEnd;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    return true;
  } catch {
    return false;
  }
}

async function probe(port: number, c: Case): Promise<Outcome> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const receiver = new Receiver(conn);
  const finals = (s: number[]) => s.filter((x) => x >= 200).length;
  try {
    if (c.staged) {
      writeAll(conn, toBytes(c.parts[0]));
      const until = Date.now() + CONTINUE_WAIT;
      while (
        Date.now() < until && parseResponses(receiver.data, receiver.eof).length === 0 && !receiver.eof
      ) {
        await receiver.wait(until - Date.now());
      }
      if (finals(parseResponses(receiver.data, receiver.eof)) === 0 && !receiver.eof) {
        for (const part of c.parts.slice(1)) await writeAll(conn, toBytes(part));
      }
    } else {
      // Written without waiting: a server may answer (and close) before it has read everything.
      writeAll(conn, toBytes(c.parts.join("")));
    }
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const statuses = parseResponses(receiver.data, receiver.eof);
      if (receiver.eof) return { statuses, closed: true, reset: receiver.reset, timeout: false };
      if (finals(statuses) > 0) {
        // Wait for more responses, or the close.
        const before = receiver.data.length;
        await receiver.wait(IDLE);
        if (!receiver.eof && receiver.data.length === before) {
          return { statuses, closed: false, reset: false, timeout: false };
        }
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { statuses, closed: false, reset: false, timeout: true };
      await receiver.wait(left);
    }
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

// ---- judging and the table ----

function describe(o: Outcome): string {
  if (o.timeout && o.statuses.length === 0) return "timeout";
  const statuses = o.statuses.join(" ");
  if (statuses === "") return o.reset ? "reset, no response" : "closed, no response";
  const after = o.timeout ? "then timeout" : o.reset ? "reset" : o.closed ? "closed" : "open";
  return `${statuses} (${after})`;
}

function matches(o: Outcome, pattern: string): boolean {
  if (pattern === "timeout") return o.timeout && o.statuses.length === 0;
  if (pattern === "none") return o.statuses.length === 0 && o.closed;
  const want = pattern.split(" ");
  if (want.length !== o.statuses.length || o.timeout) return false;
  return want.every((w, i) => {
    const got = String(o.statuses[i]);
    return w.length === 3 && [...w].every((ch, j) => ch === "x" || ch === got[j]);
  });
}

/** Why `o` deviates from `c`'s expectation, or `null`. */
function deviation(c: Case, o: Outcome): string | null {
  if (!c.expect.some((p) => matches(o, p))) return `got ${describe(o)}, expected ${c.expect.join(" or ")}`;
  if (o.statuses.length > 0 && !o.timeout) {
    if (c.close === true && !o.closed) return "connection kept open, MUST be closed";
    if (c.close === false && o.closed) return "connection closed, should persist";
  }
  return null;
}

function showBytes(c: Case): string {
  if (c.show !== undefined) return c.show;
  const s = c.parts.join("");
  let out = "";
  for (const ch of s) {
    const b = ch.charCodeAt(0);
    if (ch === "\r") out += "\\r";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

function cell(s: string): string {
  return s.replaceAll("|", "\\|");
}

function expectation(c: Case): string {
  const close = c.close === true ? ", closed" : c.close === false ? ", open" : "";
  return `${c.expect.join(" / ")}${close} — ${c.rfc}`;
}

async function main(): Promise<void> {
  const write = !Deno.args.includes("--no-write");
  const servers = await startServers();
  let results: Outcome[][];
  try {
    results = await Promise.all(
      CASES.map((c) =>
        Promise.all(
          servers.map((s) =>
            probe(s.port, c).catch((error): Outcome => {
              console.error(`${s.name}, ${c.what}: ${error}`);
              return { statuses: [], closed: true, reset: true, timeout: false };
            })
          ),
        )
      ),
    );
  } finally {
    const stopped = await Promise.race([
      Promise.allSettled(servers.map((s) => s.stop())).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    if (!stopped) console.error("conformance: a server did not stop within 5 s");
  }

  const deviations = new Map<string, string[]>(servers.map((s) => [s.name, []]));
  const rows: string[] = [];
  CASES.forEach((c, i) => {
    const cells = results[i].map((o, j) => {
      const why = deviation(c, o);
      if (why !== null) deviations.get(servers[j].name)!.push(`#${i + 1} ${c.what}: ${why}`);
      return why === null ? describe(o) : `**${describe(o)} ✗**`;
    });
    rows.push(
      `| ${i + 1} | ${c.group} | ${cell(c.what)}<br>\`${cell(showBytes(c))}\` | ${cells.join(" | ")} | ${
        cell(expectation(c))
      } |`,
    );
  });

  const date = new Date().toISOString().slice(0, 10);
  const counts = servers.map((s) => `${s.name} ${deviations.get(s.name)!.length}`).join(", ");
  const md = [
    "# HTTP/1.1 conformance: ours vs Deno.serve vs node:http",
    "",
    `Written by \`deno run -A bench/conformance.ts\` on ${date}, Deno ${Deno.version.deno} (V8 ${Deno.version.v8}, ` +
    `${Deno.build.os}/${Deno.build.arch}). The same ${CASES.length} raw requests go to each server over a fresh ` +
    "TCP connection on 127.0.0.1: ours (`serve` with `examples/echo.ts`), `Deno.serve` and `node:http` (run " +
    "under Deno) with equivalent echo handlers, all with default options.",
    "",
    `A cell gives the statuses received in order (interim ones too), then whether the server closed the ` +
    `connection (\`closed\`; \`reset\` when it was a TCP reset), kept it \`open\` (${IDLE} ms after the last ` +
    `response), or \`timeout\` (no response in ${TIMEOUT} ms). **✗** marks a deviation from the expectation ` +
    '(section numbers are RFC 9112\'s unless another RFC is named; "closed"/"open" in it is a requirement on ' +
    "the connection).",
    "",
    `Deviations: ${counts}.`,
    "",
    "| # | group | request | ours | Deno.serve | node:http | RFC expectation |",
    "| - | ----- | ------- | ---- | ---------- | --------- | --------------- |",
    ...rows,
    "",
    "## Deviations",
    "",
    ...servers.flatMap((s) => {
      const list = deviations.get(s.name)!;
      return [
        `### ${s.name} (${list.length})`,
        "",
        ...(list.length === 0 ? ["None."] : list.map((d) => `- ${d}`)),
        "",
      ];
    }),
  ].join("\n");
  const formatted = await formatMarkdown(md, new URL("../deno.json", import.meta.url).pathname);
  console.log(formatted);
  if (write) {
    const out = new URL("./CONFORMANCE.md", import.meta.url);
    await Deno.writeTextFile(out, formatted);
    console.error(`conformance: wrote ${out.pathname}`);
  }
}

if (import.meta.main) {
  await main();
  // Anything left (a client read, a server's timer) must not keep the process alive.
  Deno.exit(0);
}
