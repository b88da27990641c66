import assert from "node:assert/strict";
import fc from "fast-check";
import { type LineSource, readLine } from "../../wsgi/read_line.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A source that gives `text` in the pieces given (each read also capped by its `max`), and takes bytes back. */
function pieces(parts: string[]): LineSource {
  const queue: Uint8Array[] = parts.map((p) => enc.encode(p)).filter((p) => p.length > 0);
  return {
    read(max) {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(new Uint8Array(0));
      if (next.length > max) queue.unshift(next.subarray(max));
      return Promise.resolve(next.subarray(0, max));
    },
    unread(bytes) {
      queue.unshift(bytes);
    },
  };
}

Deno.test("readLine: the lines of a body however it is split, each with its \\n; the last without (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: fc.constantFrom("a", "b", "\n", "é") }), { maxLength: 12 }),
      async (parts) => {
        const text = parts.join("");
        const source = pieces(parts);
        const lines: string[] = [];
        for (;;) {
          const line = dec.decode(await readLine(source, 1000));
          if (line === "") break;
          lines.push(line);
        }
        assert.deepEqual(lines, text.match(/[^\n]*\n|[^\n]+$/g) ?? []);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("readLine: no line end within the limit is an error that says what to do", async () => {
  await assert.rejects(
    readLine(pieces(["abcdef", "ghij\n"]), 8),
    { message: "readline: no line end within 8 bytes; raise the limit or read(n) instead" },
  );
  // A line of exactly `limit` bytes, its \n included, is fine.
  assert.equal(dec.decode(await readLine(pieces(["abc", "def\nrest"]), 7)), "abcdef\n");
});
