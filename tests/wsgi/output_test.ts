import assert from "node:assert/strict";
import fc from "fast-check";
import { Output, type OutputWatchdog } from "../../wsgi/output.ts";

const latin1 = new TextDecoder("latin1");

/** A connection whose writes finish only when `settle()` is called (all at once, in order). */
function slowConn() {
  const pending: { data: Uint8Array; resolve: (n: number) => void }[] = [];
  const written: Uint8Array[] = [];
  const conn = {
    write(data: Uint8Array): Promise<number> {
      // The bytes are taken when the write is carried out (later, as Deno's op does), not when it is asked for.
      return new Promise((resolve) => pending.push({ data, resolve }));
    },
  };
  return {
    conn: conn as unknown as Deno.Conn,
    written,
    async settle(): Promise<void> {
      while (pending.length > 0) {
        const { data, resolve } = pending.shift()!;
        written.push(data.slice());
        resolve(data.length);
        await Promise.resolve();
        await Promise.resolve();
      }
    },
  };
}

function text(chunks: Uint8Array[]): string {
  return chunks.map((c) => latin1.decode(c)).join("");
}

Deno.test("Output.send: a failed write goes to the watchdog's writeFailed; later flushes reject with it", async () => {
  const failure = new Deno.errors.ConnectionReset("connection reset by peer");
  const conn = { write: () => Promise.reject(failure) };
  const out = new Output(conn as unknown as Deno.Conn);
  const told: unknown[] = [];
  const writing: boolean[] = [];
  const watchdog: OutputWatchdog = {
    writing: (active) => writing.push(active),
    progressed() {},
    writeFailed: (error) => told.push(error),
  };
  out.watchdog = watchdog;
  out.latin1("HTTP/1.1 200 OK\r\n\r\n");
  out.send();
  assert.equal(out.flushing, true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(told, [failure]);
  assert.deepEqual(writing, [true, false], "the write deadline is armed, then disarmed");
  assert.equal(out.failed, failure);
  assert.equal(out.pending, 0, "what was not written is forgotten");
  await assert.rejects(out.flush(), (error) => error === failure);
  out.latin1("more");
  out.send(); // nothing happens after a failure: no second report, no unhandled rejection
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(told.length, 1);
});

Deno.test("Output.send: does not wait; what is appended while a write is under way follows it, in order", async () => {
  const slow = slowConn();
  const out = new Output(slow.conn);
  out.latin1("first ");
  out.send();
  out.latin1("second ");
  out.send(); // joins the write under way
  out.utf8("third é", 8);
  assert.equal(out.pending, 6 + 7 + 8);
  await slow.settle();
  assert.equal(text(slow.written), "first second third \xc3\xa9");
  assert.equal(out.pending, 0);
  assert.equal(out.flushing, false);
});

Deno.test("Output: small blocks from the shared slab never overlap, whatever the interleaving (property)", async () => {
  // Many outputs gathering small answers at once (a long-poll wake-up) share the slab; a sealed block gives
  // back its unused tail, which the next output uses while the first one's write is still pending.
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          who: fc.nat(7),
          what: fc.oneof(
            fc.string({ unit: "binary-ascii", maxLength: 300 }).map((s) => ({ append: s })),
            fc.constant({ send: true }),
            fc.constant({ settle: true }),
          ),
        }),
        { maxLength: 60 },
      ),
      async (steps) => {
        const conns = Array.from({ length: 8 }, () => slowConn());
        const outs = conns.map((c) => new Output(c.conn));
        const expected = Array.from({ length: 8 }, () => "");
        for (const { who, what } of steps) {
          if ("append" in what) {
            outs[who].latin1(what.append);
            expected[who] += what.append;
          } else if ("send" in what) outs[who].send();
          else await conns[who].settle();
        }
        for (let i = 0; i < 8; i++) {
          outs[i].send();
          await conns[i].settle();
          assert.equal(text(conns[i].written), expected[i]);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Output: a large array of the caller's is queued without a copy, and holdsBorrowed says so until written", async () => {
  const slow = slowConn();
  const out = new Output(slow.conn);
  const big = new Uint8Array(20_000).fill(0x61);
  out.latin1("head ");
  out.bytes(big);
  out.bytes(new Uint8Array(10).fill(0x62)); // small: copied, not borrowed
  assert.equal(out.holdsBorrowed, true);
  out.send();
  await slow.settle();
  assert.equal(out.holdsBorrowed, false);
  assert.equal(text(slow.written), "head " + "a".repeat(20_000) + "b".repeat(10));
  out.bytes(big);
  assert.equal(out.holdsBorrowed, true);
  out.discard();
  assert.equal(out.holdsBorrowed, false, "nothing is held once discarded");
});

Deno.test("Output: queued large arrays, gathered bytes and partial writes leave in order, whatever the interleaving (property)", async () => {
  // A connection that takes at most `most` bytes a write, later (as a slow client's socket does).
  function partialConn(most: number) {
    const pending: { data: Uint8Array; resolve: (n: number) => void }[] = [];
    const written: number[] = [];
    return {
      conn: {
        write(data: Uint8Array): Promise<number> {
          return new Promise((resolve) => pending.push({ data, resolve }));
        },
      } as unknown as Deno.Conn,
      written,
      async settle(): Promise<void> {
        while (pending.length > 0) {
          const { data, resolve } = pending.shift()!;
          const n = Math.min(most, data.length);
          for (let i = 0; i < n; i++) written.push(data[i]);
          resolve(n);
          await Promise.resolve();
          await Promise.resolve();
        }
      },
    };
  }
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 70_000 }),
      fc.array(
        fc.oneof(
          fc.string({ unit: "binary-ascii", maxLength: 200 }).map((s) => ({ text: s })),
          fc.integer({ min: 1, max: 40_000 }).map((n) => ({ bytes: n })),
          fc.constant({ send: true }),
          fc.constant({ settle: true }),
        ),
        { maxLength: 30 },
      ),
      async (most, steps) => {
        const c = partialConn(most);
        const out = new Output(c.conn);
        const expected: number[] = [];
        let fill = 0;
        for (const step of steps) {
          if ("text" in step) {
            out.latin1(step.text);
            for (const ch of step.text) expected.push(ch.charCodeAt(0));
          } else if ("bytes" in step) {
            // Arrays of 16 KiB or more are queued without a copy: each gets a fresh one (as the rules ask).
            const bytes = new Uint8Array(step.bytes).map((_, i) => (fill + i) & 0xff);
            fill += 7;
            out.bytes(bytes);
            expected.push(...bytes);
          } else if ("send" in step) out.send();
          else await c.settle();
        }
        const flushed = out.flush();
        while (out.flushing) await c.settle();
        await flushed;
        assert.equal(out.pending, 0);
        assert.equal(c.written.length, expected.length);
        assert.ok(c.written.every((b, i) => b === expected[i]), "the bytes, in order");
      },
    ),
    { numRuns: 150 },
  );
});
