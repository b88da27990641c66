import assert from "node:assert/strict";
import {
  giveBuffer,
  POOLED_SIZE,
  SlabCarver,
  spareBuffer,
  takeBuffer,
  trimSpareBuffers,
} from "../../core/buffer_pool.ts";

/** Empties the pool (other tests of this process may have left buffers there). */
function drain(): void {
  while (spareBuffer() !== undefined);
}

Deno.test("buffer pool: a buffer given back is the next one taken (last in, first out)", () => {
  drain();
  assert.equal(spareBuffer(), undefined, "nothing spare once drained");
  const a = takeBuffer();
  const b = takeBuffer();
  assert.equal(a.length, POOLED_SIZE);
  assert.notEqual(a, b);
  giveBuffer(a);
  giveBuffer(b);
  assert.equal(takeBuffer(), b);
  assert.equal(spareBuffer(), a);
  assert.equal(spareBuffer(), undefined);
});

Deno.test("buffer pool: buffers of another size are not kept", () => {
  drain();
  giveBuffer(new Uint8Array(POOLED_SIZE * 2));
  giveBuffer(new Uint8Array(1024));
  assert.equal(spareBuffer(), undefined);
});

Deno.test("buffer pool: keeps at most 1280 spare buffers (the outputs' 1024 and the sockets' 256)", () => {
  drain();
  const buffers = Array.from({ length: 1300 }, () => new Uint8Array(POOLED_SIZE));
  for (const buf of buffers) giveBuffer(buf);
  let spare = 0;
  while (spareBuffer() !== undefined) spare++;
  assert.equal(spare, 1280);
});

Deno.test("SlabCarver: views follow one another in a slab, and a new slab starts when the next does not fit", () => {
  const carver = new SlabCarver(256);
  const a = carver.view(100);
  const b = carver.view(100);
  assert.equal(a.buffer, b.buffer);
  assert.equal(a.byteOffset, 0);
  assert.equal(b.byteOffset, 100);
  const first = carver.slab;
  const c = carver.view(100); // 56 bytes left: a new slab
  assert.notEqual(carver.slab, first);
  assert.notEqual(c.buffer, a.buffer);
  assert.equal(c.byteOffset, 0);
  a.fill(1);
  b.fill(2);
  c.fill(3);
  assert.ok(a.every((x) => x === 1) && b.every((x) => x === 2) && c.every((x) => x === 3), "no overlap");
});

Deno.test("SlabCarver: reserve returns offsets into the current slab; a whole slab fits exactly", () => {
  const carver = new SlabCarver(64);
  assert.equal(carver.reserve(64), 0);
  const slab = carver.slab;
  assert.equal(carver.reserve(1), 0);
  assert.notEqual(carver.slab, slab);
  assert.equal(carver.reserve(63), 1);
});

Deno.test("SlabCarver: giveBack returns the unused tail of the newest range only", () => {
  const carver = new SlabCarver(1024);
  const a = carver.reserve(256);
  const slab = carver.slab;
  const b = carver.reserve(256);
  carver.giveBack(slab, a + 10, a + 256); // not the newest: ignored
  assert.equal(carver.reserve(1), b + 256);
  // The newest range (1 byte at b + 256) used nothing: all of it comes back.
  carver.giveBack(slab, b + 256, b + 257);
  carver.giveBack(slab, b + 20, b + 256); // b is the newest again: its tail comes back
  assert.equal(carver.reserve(8), b + 20);
});

Deno.test("SlabCarver: giveBack of a range of a dropped slab changes nothing", () => {
  const carver = new SlabCarver(100);
  const a = carver.reserve(80);
  const old = carver.slab;
  carver.reserve(80); // a new slab
  carver.giveBack(old, a, a + 80);
  assert.equal(carver.reserve(20), 80, "the new slab's count is untouched");
});

Deno.test("SlabCarver: the size must be a positive integer", () => {
  assert.throws(() => new SlabCarver(0), /SlabCarver: size must be an integer >= 1, got 0/);
  assert.throws(() => new SlabCarver(1.5), /SlabCarver: size must be an integer >= 1, got 1.5/);
});

Deno.test("buffer pool: a trim lets go of the spare buffers no one took since the last trim", () => {
  drain();
  trimSpareBuffers(); // starts counting from an empty pool
  const burst = Array.from({ length: 10 }, () => takeBuffer());
  for (const buf of burst) giveBuffer(buf);
  // Taken during the interval: nothing to let go of yet.
  assert.equal(trimSpareBuffers(), 0);
  // Three are taken and given back again; seven sit there unused until the next trim.
  const again = [takeBuffer(), takeBuffer(), takeBuffer()];
  for (const buf of again) giveBuffer(buf);
  assert.equal(trimSpareBuffers(), 7);
  let left = 0;
  while (spareBuffer() !== undefined) left++;
  assert.equal(left, 3, "the three in use stay pooled");
  assert.equal(trimSpareBuffers(), 0);
});
