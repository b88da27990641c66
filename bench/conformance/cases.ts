/**
 * The requests of the conformance table, valid and malformed, and what RFC
 * 9112 / RFC 9110 allow in answer: one row each, as the table shows it.
 *
 * @module
 */

/** One raw request and what the RFCs allow in answer. */
export interface Case {
  /** The group in the table. */
  group: string;
  /** What it tests. */
  what: string;
  /** The bytes to send (ISO-8859-1 strings), in order. */
  parts: string[];
  /** Send `parts[0]`, wait (≤ 1 s) for an interim or final response, then the rest unless a final one came. */
  staged: boolean;
  /**
   * The acceptable outcomes: status sequences (`"100 200"`; `4xx` matches any
   * 4xx), `"none"` (closed without a response) or `"timeout"`.
   */
  expect: string[];
  /** `true`: the connection MUST be closed after the response; `false`: it must stay open. */
  close?: boolean;
  /** The rule, with its section and strength. */
  rfc: string;
  /** How the bytes are shown. */
  show: string;
}

/**
 * A case as a row: what it tests; the request (two parts: a staged one);
 * the acceptable outcomes as the table shows them (`"400 / 200"`, then
 * `", closed"` or `", open"` when the connection must be); the rule; and how
 * to show a request too long to print.
 */
type Row = [what: string, request: string | [string, string], expect: string, rfc: string, show?: string];

function group(name: string, rows: Row[]): Case[] {
  return rows.map(([what, request, expect, rfc, show]) => {
    const [statuses, after] = expect.split(", ");
    const parts = typeof request === "string" ? [request] : request;
    return {
      group: name,
      what,
      parts,
      staged: parts.length > 1,
      expect: statuses.split(" / "),
      close: after === undefined ? undefined : after === "closed",
      rfc,
      show: show ?? escape(parts.join("")),
    };
  });
}

/** `s` with CR, LF, HTAB and other control or non-ASCII bytes escaped. */
function escape(s: string): string {
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

/** The expectation as the table shows it: `400 / 200, closed — §6.3 (3): MAY reject; MUST close`. */
export function expectation(c: Case): string {
  const close = c.close === true ? ", closed" : c.close === false ? ", open" : "";
  return `${c.expect.join(" / ")}${close} — ${c.rfc}`;
}

const H = "Host: x\r\n";
const GET = `GET / HTTP/1.1\r\n${H}\r\n`;
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
const CHUNKED_BODY = "5\r\nhello\r\n0\r\n\r\n";

/** `line`, then `Host: x` and the end of the head. */
const req = (line: string) => `${line}\r\n${H}\r\n`;
/** `GET /` with `Host: x` and `fields` (CRLF between two). */
const get = (fields: string) => `GET / HTTP/1.1\r\n${H}${fields}\r\n\r\n`;
/** `POST /` with `Host: x`, `fields` (CRLF between two) and `body`. */
const post = (fields: string, body: string, version = "1.1") =>
  `POST / HTTP/${version}\r\n${H}${fields}\r\n\r\n${body}`;
/** A chunked `POST /` with `body`. */
const chunked = (body: string) => post("Transfer-Encoding: chunked", body);

/** Every case, in table order; one a line, as in the table (so not wrapped by `deno fmt`). */
// deno-fmt-ignore
export const CASES: Case[] = [
  ...group("baseline", [
    ["simple GET", GET, "200, open", "§9.3: HTTP/1.1 persists by default"],
    ["Connection: close", get("Connection: close"), "200, closed", "§9.6: MUST close after the response"],
    ["HTTP/1.0 without keep-alive", "GET / HTTP/1.0\r\n\r\n", "200, closed", "§9.3: 1.0 without keep-alive closes"],
    ["HTTP/1.0 with Connection: keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "200", "§9.3: MAY persist"],
    ["POST with Content-Length", post("Content-Length: 5", "hello"), "200, open", "§6.2"],
    ["chunked with extensions and a trailer", chunked('5;a=b;c="d"\r\nhello\r\n0;x\r\nX-T: 1\r\n\r\n'), "200, open", "§7.1: extensions ignored, trailers allowed"],
    ["two requests pipelined in one write", GET + GET, "200 200, open", "§9.3.2: answered in order"],
    ["empty line before the request line", "\r\n" + GET, "200", "§2.2: SHOULD ignore at least one"],
    ["absolute-form target", req("GET http://x/p?q=1 HTTP/1.1"), "200", "§3.2.2: servers MUST accept it"],
    ["OPTIONS with asterisk-form", req("OPTIONS * HTTP/1.1"), "2xx", "§3.2.4"],
    ["obs-text in a field value", get("X-A: caf\xe9"), "200", "RFC 9110 §5.5: obs-text allowed"],
  ]),
  ...group("request line", [
    ["fragment (#) in the target", req("GET /a#b HTTP/1.1"), "400 / 301", "§3.2 grammar; §3: SHOULD 400 (or 301)"],
    ["two spaces after the method", req("GET  / HTTP/1.1"), "400 / 200", "§3: 400, or MAY parse on whitespace"],
    ["HTAB as separator", req("GET\t/ HTTP/1.1"), "400 / 200", "§3: 400, or MAY parse on whitespace"],
    ["control byte in the target", req("GET /\x01 HTTP/1.1"), "400", "§3.2 grammar; §3: SHOULD 400"],
    ["non-ASCII byte in the target", req("GET /\xff HTTP/1.1"), "400", "§3.2 grammar; §3: SHOULD 400"],
    ["asterisk-form with GET", req("GET * HTTP/1.1"), "400", "§3.2.4: only for OPTIONS"],
    ["authority-form with GET", req("GET x:80 HTTP/1.1"), "400", "§3.2.3: only for CONNECT"],
    ["non-token byte in the method", req("G(T / HTTP/1.1"), "400", "§3.1: method = token"],
    ["bare CR ending the request line", `GET / HTTP/1.1\r${H}\r\n`, "400", "§2.2: bare CR invalid (or SP → still invalid)"],
    ["HTTP/0.9 simple request", "GET /\r\n\r\n", "400 / 505 / none", "§2.3 / §3: invalid request line"],
  ]),
  ...group("version", [
    ["HTTP/1.2 (higher minor)", req("GET / HTTP/1.2"), "200", "RFC 9110 §2.5: SHOULD process as 1.1"],
    ["HTTP/2.0 in an HTTP/1 request line", req("GET / HTTP/2.0"), "505 / 400", "RFC 9110 §15.6.6: 505"],
    ["HTTP/0.9 with headers", req("GET / HTTP/0.9"), "505 / 400", "RFC 9110 §15.6.6: 505"],
    ["lower-case http/1.1", req("GET / http/1.1"), "400 / 505", "§2.3: HTTP-name is case-sensitive"],
    ["HTTP/1.10 (two-digit minor)", req("GET / HTTP/1.10"), "400 / 505", "§2.3: DIGIT . DIGIT"],
    ["HTTP/1 (no minor)", req("GET / HTTP/1"), "400 / 505", "§2.3: DIGIT . DIGIT"],
  ]),
  ...group("Host", [
    ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", "400", "§3.2: MUST 400"],
    ["two Host fields", get("Host: y"), "400", "§3.2: MUST 400"],
    ["Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400", "§3.2: invalid value, MUST 400"],
    ["Host with userinfo (u@x)", "GET / HTTP/1.1\r\nHost: u@x\r\n\r\n", "400", "§3.2: invalid value, MUST 400"],
    ["Host with a non-numeric port (x:8o)", "GET / HTTP/1.1\r\nHost: x:8o\r\n\r\n", "400", "§3.2: invalid value (port = *DIGIT), MUST 400"],
    ["Host with a path (x/y)", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", "400", "§3.2: invalid value, MUST 400"],
    ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "200", "§3.2: required in 1.1 only"],
    ["empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "200 / 400", "RFC 9110 §7.2: empty allowed"],
    ["absolute-form with another Host", "GET http://a/p HTTP/1.1\r\nHost: b\r\n\r\n", "200", "§3.2.2: MUST ignore Host"],
  ]),
  ...group("fields", [
    ["space before the colon", get("X-A : b"), "400", "§5.1: MUST 400"],
    ["space before the colon of Content-Length", post("Content-Length : 5", "hello"), "400", "§5.1: MUST 400"],
    ["obs-fold", get("X-A: a\r\n b"), "400 / 200", "§5.2: MUST 400 or replace with SP"],
    ["whitespace before the first field", `GET / HTTP/1.1\r\n X-A: b\r\n${H}\r\n`, "400 / 200", "§2.2: MUST reject or ignore the line"],
    ["bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", "200 / 400", "§2.2: MAY accept LF"],
    ["bare CR in a field value", get("X-A: a\rb"), "400 / 200", "§2.2: MUST reject or replace with SP"],
    ["NUL in a field value", get("X-A: a\x00b"), "400 / 200", "RFC 9110 §5.5: MUST reject or replace with SP"],
    ["control byte 0x01 in a field value", get("X-A: a\x01b"), "400 / 200", "RFC 9110 §5.5: invalid, MAY retain"],
    ["field line without a colon", get("NoColon"), "400", "§5: field-line grammar"],
    ["empty field name", get(": v"), "400", "§5: field-name = token"],
    ["non-token byte in a field name", get("X(A: v"), "400", "§5: field-name = token"],
  ]),
  ...group("CL/TE", [
    ["TE chunked + CL, body hides a request", post(`Transfer-Encoding: chunked\r\nContent-Length: ${5 + SMUGGLED.length}`, "0\r\n\r\n" + SMUGGLED), "400 / 200, closed", "§6.3 (3): MAY reject; MUST close"],
    ["CL + TE chunked (CL first), body hides a request", post("Content-Length: 4\r\nTransfer-Encoding: chunked", "0\r\n\r\n" + SMUGGLED), "400 / 200, closed", "§6.3 (3): MAY reject; MUST close"],
    ["two different Content-Length fields", post("Content-Length: 5\r\nContent-Length: 6", "hello!"), "400, closed", "§6.3 (5): MUST 400 and close"],
    ["Content-Length: 5, 6", post("Content-Length: 5, 6", "hello!"), "400, closed", "§6.3 (5): MUST 400 and close"],
    ["Content-Length: 5, 5", post("Content-Length: 5, 5", "hello"), "200 / 400", "RFC 9110 §8.6: MAY collapse or reject"],
    ["Content-Length: -1", post("Content-Length: -1", ""), "400, closed", "§6.3 (5): MUST 400 and close"],
    ["Content-Length: +5", post("Content-Length: +5", "hello"), "400, closed", "§6.3 (5): MUST 400 and close"],
    ["Content-Length: 5 then byte 0xA0", post("Content-Length: 5\xa0", "hello"), "400, closed", "§6.3 (5): MUST 400 and close"],
    ["Content-Length of 20 digits", post("Content-Length: 99999999999999999999", ""), "400 / 413, closed", "§6.3 (5) / RFC 9110 §8.6: overflow"],
    ["TE: chunked, gzip", post("Transfer-Encoding: chunked, gzip", CHUNKED_BODY), "400, closed", "§6.3 (4): MUST 400 and close"],
    ["TE: gzip, chunked", post("Transfer-Encoding: gzip, chunked", CHUNKED_BODY), "501", "§6.1: unknown coding, SHOULD 501"],
    ["TE: gzip (no chunked)", post("Transfer-Encoding: gzip", "hello"), "400, closed", "§6.3 (4): MUST 400 and close"],
    ["TE: identity", post("Transfer-Encoding: identity", "hello"), "400, closed", "§6.3 (4): MUST 400 and close"],
    ["TE: chunked twice (two fields)", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", CHUNKED_BODY), "400", "§7: chunked MUST NOT be applied twice"],
    ["TE: Chunked (case)", post("Transfer-Encoding: Chunked", CHUNKED_BODY), "200, open", "§7: coding names are case-insensitive"],
    ["TE: chunked then byte 0xA0", post("Transfer-Encoding: chunked\xa0", CHUNKED_BODY), "501 / 400, closed", "§6.1: unknown coding (SHOULD 501); §6.3 (4): 400"],
    ["TE: xchunked", post("Transfer-Encoding: xchunked", CHUNKED_BODY), "400 / 501, closed", "§6.3 (4): MUST 400 and close"],
    ["TE: VT before chunked", post("Transfer-Encoding: \x0bchunked", CHUNKED_BODY), "400 / 501, closed", "§6.3 (4); RFC 9110 §5.5"],
    ["space before the colon of TE, with CL", post("Transfer-Encoding : chunked\r\nContent-Length: 4", "0\r\n\r\n"), "400", "§5.1: MUST 400"],
    ["TE chunked in HTTP/1.0", post("Transfer-Encoding: chunked", CHUNKED_BODY, "1.0"), "400 / 200, closed", "§6.1: framing faulty; MUST close"],
  ]),
  ...group("chunked", [
    ["chunk size not hex", chunked("zz\r\nhello\r\n0\r\n\r\n"), "400, closed", "§7.1: invalid framing"],
    ["chunk size of 20 hex digits", chunked("ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), "400 / 413, closed", "§7.1: MUST anticipate overflow"],
    ["0x prefix on the size", chunked("0x5\r\nhello\r\n0\r\n\r\n"), "400, closed", "§7.1: chunk-size = 1*HEXDIG"],
    ["space before the size", chunked(" 5\r\nhello\r\n0\r\n\r\n"), "400, closed", "§7.1: chunk-size = 1*HEXDIG"],
    ["space after the size, no extension", chunked("5 \r\nhello\r\n0\r\n\r\n"), "400", "§7.1.1: BWS only before ';' (grammar)"],
    ["data longer than the size", chunked("3\r\nhello\r\n0\r\n\r\n"), "400, closed", "§7.1: invalid framing"],
    ["no CRLF after the data", chunked("5\r\nhello0\r\n\r\n"), "400, closed", "§7.1: invalid framing"],
    ["bare LF in the chunked framing", chunked("5\nhello\n0\n\n"), "400, closed", "§7.1: CRLF required"],
    ["control byte in a chunk extension", chunked("5;a=\x01\r\nhello\r\n0\r\n\r\n"), "400, closed", "§7.1.1: chunk-ext grammar"],
  ]),
  ...group("limits", [
    ["request target of 70 000 bytes", req(`GET /${"a".repeat(70_000)} HTTP/1.1`), "414 / 200", "§3: MUST 414 if too long to parse", 'GET /aaaa…(70 000 × "a") HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'],
    ["one field of 70 000 bytes", get(`X-Big: ${"b".repeat(70_000)}`), "431 / 400 / 200", "RFC 6585 §5: 431", 'GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: bbbb…(70 000 × "b")\\r\\n\\r\\n'],
    ["200 header fields", `GET / HTTP/1.1\r\n${H}${Array.from({ length: 200 }, (_, i) => `X-${i}: v\r\n`).join("")}\r\n`, "431 / 400 / 200", "RFC 6585 §5: 431", "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-0: v\\r\\n…X-199: v\\r\\n\\r\\n"],
    ["Content-Length: 20 000 000, no body sent", post("Content-Length: 20000000", ""), "413 / timeout", "RFC 9110 §15.5.14: 413 (limit is policy)"],
    ["chunk size 20 000 000, no data sent", chunked("1312d00\r\n"), "413 / timeout", "RFC 9110 §15.5.14: 413 (limit is policy)"],
  ]),
  ...group("Expect", [
    ["100-continue, body sent after the 100", [`PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`, "hello"], "100 200", "RFC 9110 §10.1.1: MUST send 100 (or a final status)"],
    ["100-continue, body sent at once", `PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`, "200 / 100 200", "RFC 9110 §10.1.1: MAY omit the 100"],
    ["100-continue on a GET without body", get("Expect: 100-continue"), "200 / 100 200", "RFC 9110 §10.1.1"],
    ["100-continue in HTTP/1.0", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", "200", "RFC 9110 §10.1.1: MUST ignore; §15.2: no 1xx to 1.0"],
    ["unknown expectation", get("Expect: teapot"), "417 / 200", "RFC 9110 §10.1.1: MAY 417"],
  ]),
];
