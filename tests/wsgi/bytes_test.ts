import assert from "node:assert/strict";
import { concatBytes, prependBytes } from "../../wsgi/bytes.ts";

Deno.test("concatBytes: joins in order; a single part comes back as it is, not copied", () => {
  const one = new Uint8Array([1, 2]);
  assert.equal(concatBytes([one]), one);
  assert.deepEqual(concatBytes([one, new Uint8Array(0), new Uint8Array([3])]), new Uint8Array([1, 2, 3]));
});

Deno.test("prependBytes: front before rest; front itself when rest is empty", () => {
  const front = new Uint8Array([1]);
  assert.equal(prependBytes(front, new Uint8Array(0)), front);
  assert.deepEqual(prependBytes(front, new Uint8Array([2, 3])), new Uint8Array([1, 2, 3]));
  assert.deepEqual(prependBytes(new Uint8Array(0), new Uint8Array([4])), new Uint8Array([4]));
});
