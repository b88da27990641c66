/** The interned names of `wsgi/known_names.ts`: methods, common fields and their last values. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { KnownFields, methodName } from "../../wsgi/known_names.ts";
import { bytes, FIELD_CHARS, latin1 } from "./parser_suite.ts";

Deno.test("KnownFields: both spellings are found, other names and spellings are not", () => {
  const known = new KnownFields();
  const find = (name: string) => known.find(bytes(name), 0, name.length)?.name ?? null;
  assert.equal(find("User-Agent"), "User-Agent");
  assert.equal(find("user-agent"), "user-agent");
  assert.equal(find("USER-AGENT"), null);
  assert.equal(find("X-Custom"), null);
  assert.equal(find(""), null);
});

Deno.test("KnownFields.valueOf: property — the value read is always the bytes given, repeated or not", () => {
  const known = new KnownFields();
  const field = known.find(bytes("Cookie"), 0, 6)!;
  const value = fc.string({ unit: fc.constantFrom(...FIELD_CHARS), maxLength: 80 });
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), fc.nat(8), (values, offset) => {
      for (const v of values) {
        const buf = bytes("#".repeat(offset) + v + "#");
        const first = known.valueOf(field, buf, offset, offset + v.length);
        assert.equal(first, v);
        assert.equal(latin1(bytes(first)), v);
        // Spelt the same again, in another buffer: the remembered value, still right.
        const again = bytes(v);
        assert.equal(known.valueOf(field, again, 0, again.length), first);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("methodName: the common methods are interned, others read as they are", () => {
  const buf = bytes("GET DELETE M-SEARCH");
  assert.equal(methodName(buf, 0, 3), "GET");
  assert.equal(methodName(buf, 4, 10), "DELETE");
  assert.equal(methodName(buf, 11, 19), "M-SEARCH");
  assert.equal(methodName(bytes("get"), 0, 3), "get");
});
