/** The byte helpers of `wsgi/byte_classes.ts`. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { latin1 as latin1Of } from "../../wsgi/byte_classes.ts";

Deno.test("latin1: one code point per byte, for every length and offset (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      let expected = "";
      for (let i = start; i < end; i++) expected += String.fromCharCode(bytes[i]);
      assert.equal(latin1Of(bytes, start, end), expected);
    }),
    { numRuns: 500 },
  );
});
