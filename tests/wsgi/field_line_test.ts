/**
 * The field-line grammar (`wsgi/field_line.ts`), shared by header lines and
 * trailer lines: positions, refusals, and that a line means the same (or is
 * refused with the same message) in the head and in a chunked body's trailer.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../../wsgi/mod.ts";
import { ChunkedDecoder } from "../../wsgi/chunked_decoder.ts";
import { RequestParser } from "../../wsgi/http_parser.ts";
import { FieldLine } from "../../wsgi/field_line.ts";
import { bytes, isHttpError, LIMITS } from "./parser_suite.ts";

Deno.test("FieldLine: the name, the value without its OWS, and the line's end", () => {
  const line = new FieldLine("header");
  const cases: [string, string, string, number][] = [
    ["Host: x\r\n", "Host", "x", 7],
    ["A:\t b \t\r\n", "A", "b", 7],
    ["Empty:\r\n", "Empty", "", 6],
    ["Spaces:   \r\n", "Spaces", "", 10],
    ["X-Obs: caf\xe9 \xa0\r\n", "X-Obs", "caf\xe9 \xa0", 13],
    ['Quote: "a, b"\r\n', "Quote", '"a, b"', 13],
  ];
  for (const [text, name, value, end] of cases) {
    const buf = bytes(text);
    assert.equal(line.parse(buf, 0, buf.length), end, JSON.stringify(text));
    const decode = (a: number, b: number) => String.fromCharCode(...buf.subarray(a, b));
    assert.equal(decode(0, line.nameEnd), name);
    assert.equal(decode(line.valueStart, line.valueEnd), value);
  }
  // Without a CRLF (a trailer line gathered without it), the line ends at the limit.
  const bare = bytes("X: y  ");
  assert.equal(line.parse(bare, 0, bare.length), bare.length);
  assert.equal(line.valueEnd, 4);
});

Deno.test("FieldLine: refusals, each with its own message, naming the section", () => {
  const cases: [string, RegExp][] = [
    [" X: a\r\n", /^obsolete line folding \(a trailer field line starting/],
    ["\tX: a\r\n", /^obsolete line folding/],
    ["X a\r\n", /^whitespace between a trailer field name and its colon/],
    ["X\t: a\r\n", /^whitespace between a trailer field name and its colon/],
    ["X\r\n", /^trailer field line without a colon/],
    [": a\r\n", /^empty trailer field name/],
    ["X@: a\r\n", /^invalid byte 0x40 in a trailer field name/],
    ["X\x00: a\r\n", /^invalid byte 0x00 in a trailer field name/],
    ["X: a\x00\r\n", /^invalid byte 0x00 in a trailer field value/],
    ["X: a\x7f\r\n", /^invalid byte 0x7f in a trailer field value/],
    ["X: a\rb\r\n", /^bare CR in a trailer field line/],
    ["X\r: a\r\n", /^bare CR in a trailer field line/],
    ["X: a\r\r\n", /^bare CR in a trailer field line/],
    ["X: a\nb\r\n", /^bare LF in a trailer field line/],
  ];
  const line = new FieldLine("trailer");
  for (const [text, message] of cases) {
    const buf = bytes(text);
    assert.throws(
      () => line.parse(buf, 0, buf.length),
      (e: unknown) => isHttpError(400)(e) && message.test((e as HttpError).message),
      JSON.stringify(text),
    );
  }
});

type Outcome = { field: [string, string] | null } | { status: number; message: string };

/** `line` as the only field after Host in a head. */
function asHeader(line: string): Outcome {
  const data = bytes(`GET / HTTP/1.1\r\nHost: x\r\n${line}\r\n\r\n`);
  const parser = new RequestParser(LIMITS);
  try {
    const head = parser.parseHead(data, parser.findHead(data, 0, data.length));
    const h = head.headers;
    return { field: h.length > 2 ? [h[2], h[3]] : null };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, message: error.message.replaceAll("header", "trailer") };
  }
}

/** `line` as the only trailer field of a chunked body. */
function asTrailer(line: string): Outcome {
  const data = bytes(`0\r\n${line}\r\n\r\n`);
  const decoder = new ChunkedDecoder(LIMITS);
  try {
    let pos = 0;
    while (!decoder.done && pos < data.length) pos = decoder.decode(data, pos, data.length);
    const t = decoder.trailers;
    return { field: t.length > 0 ? [t[0], t[1]] : null };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, message: error.message };
  }
}

Deno.test("field lines: property — a line is read the same as a header and as a trailer, or refused alike", () => {
  const unit = fc.constantFrom(...'aX-1:: \t\t\r\x00\x7f\xe9"@,'.split(""));
  fc.assert(
    fc.property(
      fc.string({ unit, minLength: 1, maxLength: 12 }),
      fc.string({ unit, maxLength: 3 }),
      (line, prefix) => {
        // Lines as generated, after a name, and after a name and its colon (mostly valid).
        for (const text of [line, "X" + prefix + line, "X:" + line]) {
          assert.deepEqual(asTrailer(text), asHeader(text), JSON.stringify(text));
        }
      },
    ),
    { numRuns: 2000 },
  );
  // A bare LF splits a line in both sections: refused in both (the messages say which framing).
  assert.equal((asHeader("X: a\nb") as { status: number }).status, 400);
  assert.equal((asTrailer("X: a\nb") as { status: number }).status, 400);
});
