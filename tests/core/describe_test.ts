/** describe(): how error messages name a value. */
import assert from "node:assert/strict";
import { describe } from "../../core/describe.ts";

Deno.test("describe: names a value for an error message (article by sound: an Error, a Uint8Array, a URL)", () => {
  assert.equal(describe("x".repeat(50)), JSON.stringify("x".repeat(40) + "…"));
  assert.equal(describe(function inner() {}), "function inner");
  assert.equal(describe(null), "null");
  assert.equal(describe(42), "42");
  assert.equal(describe([1, 2]), "an array of 2");
  assert.equal(describe({}), "an object");
  assert.equal(describe(new Error("x")), "an Error");
  assert.equal(describe(new Uint8Array(2)), "a Uint8Array");
  assert.equal(describe(new URL("http://x/")), "a URL");
  assert.equal(describe(new Map()), "a Map");
  class Unit {}
  assert.equal(describe(new Unit()), "a Unit");
});
