/**
 * The WebSocket frame layer (`wsgi/websocket_frames.ts`), pure: no sockets.
 *
 * - generated streams of fragmented messages with pings and pongs between
 *   the fragments and a close at the end: the same events fed whole, byte by
 *   byte and at random splits; a message of one frame fed whole is one slice
 *   of the fed buffer, unmasked in place;
 * - every rule of RFC 6455 the parser enforces: its close code, its message,
 *   and the byte at which it is refused (fail fast, before the rest arrives);
 * - the server's frames: heads, close frames, and their round trip.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeCloseFrame,
  encodeFrame,
  encodeFrameHead,
  FrameParser,
  type FrameParserOptions,
  NEED_MORE,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  WebSocketError,
  writeFrameHead,
} from "../../wsgi/websocket_frames.ts";
import { RUNS, split } from "./parser_suite.ts";

const MASK = [0x37, 0xfa, 0x21, 0x3d];

interface FrameSpec {
  fin?: boolean;
  /** RSV1-3 as a 3-bit number. */
  rsv?: number;
  /** The masking key; null for an unmasked frame. */
  mask?: number[] | null;
  /** The length encoding: 7 (minimal for <= 125), 16 or 64 bits; minimal by default. */
  form?: 7 | 16 | 64;
  /** The length to announce, when not the payload's. */
  announce?: number;
}

/** A client frame (masked unless told) of `opcode` carrying `payload`. */
function clientFrame(opcode: number, payload: ArrayLike<number>, spec: FrameSpec = {}): Uint8Array {
  const mask = spec.mask === undefined ? MASK : spec.mask;
  const n = spec.announce ?? payload.length;
  const form = spec.form ?? (n <= 125 ? 7 : n <= 0xffff ? 16 : 64);
  const maskBit = mask === null ? 0 : 0x80;
  const head = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | opcode];
  if (form === 7) head.push(maskBit | n);
  else if (form === 16) head.push(maskBit | 126, n >> 8, n & 0xff);
  else {
    const high = Math.floor(n / 2 ** 32);
    head.push(maskBit | 127, high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff);
    head.push(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  if (mask !== null) head.push(...mask);
  const frame = new Uint8Array(head.length + payload.length);
  frame.set(head);
  for (let i = 0; i < payload.length; i++) {
    frame[head.length + i] = payload[i] ^ (mask === null ? 0 : mask[i & 3]);
  }
  return frame;
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

type Event =
  | { message: "text"; data: string }
  | { message: "binary"; data: number[] }
  | { control: "ping" | "pong"; data: number[] }
  | { control: "close"; code: number; reason: string };

interface Outcome {
  events: Event[];
  /** The number of pieces each message came in. */
  pieces: number[];
  error: { code: number; message: string } | null;
  /** Bytes fed when the error was thrown (all of them if none was). */
  fed: number;
}

/** How a stream is cut: whole, byte by byte, or at these points. */
type Cuts = "whole" | "bytes" | readonly number[];

/**
 * Feeds a copy of `stream` (unmasking writes into it), cut as told, to a
 * parser the way a connection does, checking at each step that it moves on,
 * that message pieces lie in the fed buffer, and that they come in order.
 */
function run(stream: Uint8Array, cuts: Cuts, options?: FrameParserOptions): Outcome {
  const copy = stream.slice();
  const chunks = cuts === "whole"
    ? [copy]
    : cuts === "bytes"
    ? Array.from(copy, (b) => Uint8Array.of(b))
    : split(copy, cuts);
  const parser = new FrameParser(options);
  const out: Outcome = { events: [], pieces: [], error: null, fed: 0 };
  let parts: Uint8Array[] | null = null;
  try {
    for (const chunk of chunks) {
      out.fed += chunk.length;
      let pos = 0;
      while (pos < chunk.length) {
        const next = parser.parse(chunk, pos, chunk.length);
        assert.ok(next > pos && next <= chunk.length, `parse(${pos}, ${chunk.length}) returned ${next}`);
        pos = next;
        const event = parser.event;
        if (event === NEED_MORE) {
          assert.equal(pos, chunk.length);
          continue;
        }
        const payload = Array.from(parser.data.subarray(parser.dataStart, parser.dataEnd));
        if (event === OP_TEXT || event === OP_BINARY) {
          assert.equal(parser.data, chunk, "a message piece lies in the fed buffer");
          assert.equal(parser.dataEnd, pos);
          assert.equal(parser.messageStart, parts === null);
          (parts ??= []).push(Uint8Array.from(payload));
          if (!parser.messageEnd) continue;
          const data = concat(...parts);
          out.pieces.push(parts.length);
          parts = null;
          out.events.push(
            event === OP_TEXT
              ? { message: "text", data: new TextDecoder("utf-8", { fatal: true }).decode(data) }
              : { message: "binary", data: Array.from(data) },
          );
        } else if (event === OP_CLOSE) {
          assert.equal(parser.closed, true);
          out.events.push({ control: "close", code: parser.closeCode, reason: parser.closeReason });
        } else {
          assert.ok(event === OP_PING || event === OP_PONG, `event ${event}`);
          out.events.push({ control: event === OP_PING ? "ping" : "pong", data: payload });
        }
      }
    }
  } catch (e) {
    if (!(e instanceof WebSocketError)) throw e;
    out.error = { code: e.code, message: e.message };
  }
  return out;
}

/** A message as the generator makes it: its payload, cut into fragments, with control frames between them. */
interface GeneratedMessage {
  text: boolean;
  payload: Uint8Array;
  cuts: number[];
  /** Control frames, each before the fragment of its index (modulo the number of fragments). */
  controls: [number, boolean, Uint8Array][];
  forms: (16 | 64 | undefined)[];
  seed: number;
}

const generatedMessage: fc.Arbitrary<GeneratedMessage> = fc.record({
  text: fc.boolean(),
  payload: fc.oneof(fc.string({ unit: "binary", maxLength: 40 }).map(utf8), fc.uint8Array({ maxLength: 40 })),
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
  controls: fc.array(fc.tuple(fc.nat(3), fc.boolean(), fc.uint8Array({ maxLength: 125 })), { maxLength: 2 }),
  forms: fc.array(fc.constantFrom<16 | 64 | undefined>(undefined, 16, 64), { minLength: 4, maxLength: 4 }),
  seed: fc.nat(),
}).map((m) => m.text ? { ...m, payload: utf8(new TextDecoder().decode(m.payload)) } : m);

/** The stream of a message's frames and the events it should give. */
function encodeMessage(m: GeneratedMessage): { stream: Uint8Array; events: Event[] } {
  const fragments = split(m.payload, m.cuts);
  const frames: Uint8Array[] = [];
  const events: Event[] = [];
  fragments.forEach((fragment, i) => {
    for (const [at, ping, payload] of m.controls) {
      if (at % fragments.length !== i) continue;
      frames.push(clientFrame(ping ? OP_PING : OP_PONG, payload, { mask: [i, m.seed & 0xff, at, 0x5a] }));
      events.push({ control: ping ? "ping" : "pong", data: Array.from(payload) });
    }
    frames.push(
      clientFrame(i === 0 ? (m.text ? OP_TEXT : OP_BINARY) : OP_CONTINUATION, fragment, {
        fin: i === fragments.length - 1,
        form: m.forms[i],
        mask: [(m.seed >> 8) & 0xff, i * 37 & 0xff, m.seed & 0xff, 0xc3],
      }),
    );
  });
  events.push(
    m.text
      ? { message: "text", data: new TextDecoder().decode(m.payload) }
      : { message: "binary", data: Array.from(m.payload) },
  );
  return { stream: concat(...frames), events };
}

Deno.test("frames: a stream of messages gives the same events fed whole, byte by byte and at any split", () => {
  fc.assert(
    fc.property(
      fc.array(generatedMessage, { minLength: 1, maxLength: 4 }),
      fc.option(
        fc.tuple(fc.constantFrom(1000, 1001, 1003, 1007, 1011, 3000, 4999), fc.string({ maxLength: 20 })),
      ),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, close, cuts) => {
        const encoded = messages.map(encodeMessage);
        const frames = encoded.map((e) => e.stream);
        const events = encoded.flatMap((e) => e.events);
        if (close !== null) {
          frames.push(clientFrame(OP_CLOSE, concat([close[0] >> 8, close[0] & 0xff], utf8(close[1]))));
          frames.push(Uint8Array.of(0xff, 0x00, 0x13)); // after a close: ignored
          events.push({ control: "close", code: close[0], reason: close[1] });
        }
        const stream = concat(...frames);
        const whole = run(stream, "whole");
        assert.deepEqual(whole.events, events);
        assert.equal(whole.error, null);
        // Fed whole, a message comes in one piece per fragment that has bytes, and one (empty) for an
        // empty last fragment: a message of one frame is one slice.
        const pieces = messages.map((m) => {
          const fragments = split(m.payload, m.cuts);
          return fragments.filter((f) => f.length > 0).length +
            (fragments[fragments.length - 1].length === 0 ? 1 : 0);
        });
        assert.deepEqual(whole.pieces, pieces);
        assert.deepEqual(run(stream, "bytes").events, events);
        assert.deepEqual(run(stream, cuts).events, events);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("frames: a message of one frame fed whole is one slice of the buffer, unmasked in place", () => {
  const stream = concat(
    clientFrame(OP_TEXT, utf8("hello")),
    clientFrame(OP_BINARY, [1, 2, 3], { mask: [9, 8, 7, 6] }),
  );
  const parser = new FrameParser();
  assert.equal(parser.parse(stream, 0, stream.length), 11);
  assert.deepEqual(
    [parser.event, parser.fin, parser.opcode, parser.dataStart, parser.dataEnd],
    [OP_TEXT, true, OP_TEXT, 6, 11],
  );
  assert.deepEqual([parser.messageStart, parser.messageEnd, parser.data === stream], [true, true, true]);
  assert.equal(new TextDecoder().decode(stream.subarray(6, 11)), "hello");
  assert.equal(parser.parse(stream, 11, stream.length), 20);
  assert.deepEqual([parser.event, parser.dataStart, parser.dataEnd], [OP_BINARY, 17, 20]);
  assert.deepEqual(Array.from(stream.subarray(17, 20)), [1, 2, 3]);
});

Deno.test("frames: a payload split across feeds comes in pieces, each unmasked at its offset of the mask", () => {
  const payload = Array.from({ length: 23 }, (_, i) => i * 11 & 0xff);
  const stream = clientFrame(OP_BINARY, payload, { mask: [0x01, 0x02, 0x04, 0x08] });
  const parser = new FrameParser();
  const got: [number, number, boolean, boolean][] = [];
  for (const [start, end] of [[0, 7], [7, 8], [8, 13], [13, 29]]) {
    let pos = start;
    while (pos < end) {
      pos = parser.parse(stream, pos, end);
      if (parser.event === OP_BINARY) {
        got.push([parser.dataStart, parser.dataEnd, parser.messageStart, parser.messageEnd]);
      }
    }
  }
  assert.deepEqual(got, [[6, 7, true, false], [7, 8, false, false], [8, 13, false, false], [
    13,
    29,
    false,
    true,
  ]]);
  assert.deepEqual(Array.from(stream.subarray(6)), payload);
});

Deno.test("frames: lengths in 16 and 64 bits, minimal or not, and a message of 70 000 bytes at random splits", () => {
  for (const form of [7, 16, 64] as const) {
    assert.deepEqual(run(clientFrame(OP_TEXT, utf8("abc"), { form }), "whole").events, [{
      message: "text",
      data: "abc",
    }]);
  }
  const big = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
  const stream = clientFrame(OP_BINARY, big);
  assert.deepEqual(Array.from(stream.subarray(0, 10)), [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
      const out = run(stream, cuts);
      assert.equal(out.error, null);
      assert.deepEqual(out.events, [{ message: "binary", data: Array.from(big) }]);
    }),
    { numRuns: 20 },
  );
});

Deno.test("frames: empty messages and fragments, and control frames between fragments", () => {
  const stream = concat(
    clientFrame(OP_TEXT, []),
    clientFrame(OP_BINARY, [], { fin: false }),
    clientFrame(OP_PING, [1, 2]),
    clientFrame(OP_CONTINUATION, [], { fin: false }),
    clientFrame(OP_PONG, []),
    clientFrame(OP_CONTINUATION, [5]),
    clientFrame(OP_TEXT, [0xc3], { fin: false }), // "é" cut between two fragments
    clientFrame(OP_PING, []),
    clientFrame(OP_CONTINUATION, [0xa9]),
    clientFrame(OP_TEXT, utf8("x"), { fin: false }),
    clientFrame(OP_CONTINUATION, []),
  );
  const expected: Event[] = [
    { message: "text", data: "" },
    { control: "ping", data: [1, 2] },
    { control: "pong", data: [] },
    { message: "binary", data: [5] },
    { control: "ping", data: [] },
    { message: "text", data: "é" },
    { message: "text", data: "x" },
  ];
  for (const cuts of ["whole", "bytes"] as const) {
    const out = run(stream, cuts);
    assert.deepEqual(out.events, expected);
    if (cuts === "whole") assert.deepEqual(out.pieces, [1, 1, 2, 2]);
  }
});

Deno.test("frames: close frames: no code, a code and a reason, split across feeds, and the bytes after", () => {
  assert.deepEqual(run(clientFrame(OP_CLOSE, []), "whole").events, [{
    control: "close",
    code: 1005,
    reason: "",
  }]);
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
    const stream = concat(clientFrame(OP_CLOSE, concat([code >> 8, code & 0xff], utf8("\ufeffbye é"))), [
      0x81,
      0,
    ]);
    for (const cuts of ["whole", "bytes", [9]] as const) {
      const out = run(stream, cuts);
      assert.deepEqual(out.events, [{ control: "close", code, reason: "\ufeffbye é" }]);
      assert.equal(out.error, null);
    }
  }
  // Split across feeds, a control frame is gathered in the parser's own buffer.
  const stream = clientFrame(OP_PING, [1, 2, 3, 4, 5]);
  const parser = new FrameParser();
  assert.equal(parser.parse(stream, 0, 8), 8);
  assert.equal(parser.event, NEED_MORE);
  assert.equal(parser.parse(stream, 8, 11), 11);
  assert.equal(parser.event, OP_PING);
  assert.notEqual(parser.data, stream);
  assert.deepEqual(Array.from(parser.data.subarray(parser.dataStart, parser.dataEnd)), [1, 2, 3, 4, 5]);
});

/** A broken rule: the stream, the close code and message, the index of the byte refused. */
type Broken = [
  name: string,
  stream: Uint8Array,
  code: number,
  message: string,
  at: number,
  options?: FrameParserOptions,
];

const text7 = clientFrame(OP_TEXT, utf8("a"));
/** "κόσμε" as the Autobahn suite writes it (with U+1F79, 3 bytes): 11 bytes. */
const KOSME = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5];
const BROKEN: Broken[] = [
  [
    "unmasked frame",
    clientFrame(OP_TEXT, utf8("hi"), { mask: null }),
    1002,
    "unmasked frame from the client (a client must mask every frame)",
    1,
  ],
  ...[[4, "RSV1"], [2, "RSV2"], [1, "RSV3"], [5, "RSV1, RSV3"], [7, "RSV1, RSV2, RSV3"]].map((
    [rsv, bits],
  ): Broken => [
    `${bits} set`,
    clientFrame(OP_TEXT, utf8("a"), { rsv: rsv as number }),
    1002,
    `frame with ${bits} set, but no extension was negotiated (RSV1-3 must be 0)`,
    0,
  ]),
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): Broken => [
    `reserved opcode ${op}`,
    clientFrame(op, []),
    1002,
    `frame with reserved opcode 0x${op.toString(16)} (known: 0x0-0x2, 0x8-0xa)`,
    0,
  ]),
  ...([[OP_CLOSE, "close"], [OP_PING, "ping"], [OP_PONG, "pong"]] as const).flatMap((
    [op, name],
  ): Broken[] => [
    [
      `fragmented ${name}`,
      clientFrame(op, [], { fin: false }),
      1002,
      `fragmented ${name} frame (a control frame must have FIN set)`,
      0,
    ],
    [
      `${name} of 126 bytes`,
      clientFrame(op, new Uint8Array(126)),
      1002,
      `${name} frame longer than 125 bytes (the most a control frame holds)`,
      1,
    ],
  ]),
  [
    "64-bit length with the top bit set",
    Uint8Array.of(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, ...MASK),
    1002,
    "64-bit payload length with the most significant bit set (it must be 0)",
    2,
  ],
  [
    "continuation without a message",
    clientFrame(OP_CONTINUATION, utf8("a")),
    1002,
    "continuation frame without a message to continue (expected a text or binary frame)",
    0,
  ],
  [
    "continuation after a whole message",
    concat(text7, clientFrame(OP_CONTINUATION, utf8("a"))),
    1002,
    "continuation frame without a message to continue (expected a text or binary frame)",
    7,
  ],
  [
    "binary frame in a fragmented text message",
    concat(clientFrame(OP_TEXT, utf8("a"), { fin: false }), clientFrame(OP_BINARY, [1])),
    1002,
    "binary frame in the middle of a fragmented message (expected a continuation)",
    7,
  ],
  [
    "text frame after a ping in a fragmented message",
    concat(clientFrame(OP_BINARY, [1], { fin: false }), clientFrame(OP_PING, []), text7),
    1002,
    "text frame in the middle of a fragmented message (expected a continuation)",
    13,
  ],
  [
    "one frame over the limit",
    clientFrame(OP_TEXT, utf8("0123456789a")),
    1009,
    "message over the limit of 10 bytes (11 bytes announced so far)",
    1,
    { maxMessageBytes: 10 },
  ],
  [
    "a 64-bit length over the limit, refused before its payload",
    clientFrame(OP_BINARY, [], { announce: 2 ** 40 }),
    1009,
    "message over the limit of 10 bytes (1099511627776 bytes announced so far)",
    9,
    { maxMessageBytes: 10 },
  ],
  [
    "fragments over the limit, refused at the head of the one that crosses it",
    concat(clientFrame(OP_TEXT, utf8("012345"), { fin: false }), clientFrame(OP_CONTINUATION, utf8("6789a"))),
    1009,
    "message over the limit of 10 bytes (11 bytes announced so far)",
    13,
    { maxMessageBytes: 10 },
  ],
  [
    "invalid UTF-8 in one frame",
    clientFrame(OP_TEXT, [0x61, 0xc0, 0x80]),
    1007,
    "text message is not valid UTF-8 (byte 0xc0 at offset 1 of the message)",
    7,
  ],
  [
    "κόσμε then F4 90 80 80 in fragments: refused at 0x90, before the rest",
    concat(
      clientFrame(OP_TEXT, KOSME, { fin: false }),
      clientFrame(OP_CONTINUATION, [0xf4, 0x90, 0x80, 0x80], { fin: false }),
      clientFrame(OP_CONTINUATION, utf8("-edited")),
    ),
    1007,
    "text message is not valid UTF-8 (byte 0x90 at offset 12 of the message)",
    24,
  ],
  [
    "text ending in the middle of a character",
    clientFrame(OP_TEXT, [0x61, 0xc3]),
    1007,
    "text message ends in the middle of a UTF-8 sequence",
    7,
  ],
  [
    "text ending in the middle of a character, with an empty last fragment",
    concat(clientFrame(OP_TEXT, [0xc3], { fin: false }), clientFrame(OP_CONTINUATION, [])),
    1007,
    "text message ends in the middle of a UTF-8 sequence",
    12,
  ],
  [
    "close frame of 1 byte",
    clientFrame(OP_CLOSE, [0x03]),
    1002,
    "close frame with a 1-byte payload (a close code takes 2 bytes)",
    6,
  ],
  ...[0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((
    code,
  ): Broken => [
    `close code ${code}`,
    clientFrame(OP_CLOSE, [code >> 8, code & 0xff, 0x61]),
    1002,
    `close frame with invalid close code ${code} (valid: 1000-1003, 1007-1011, 3000-4999)`,
    8,
  ]),
  [
    "close reason not UTF-8",
    clientFrame(OP_CLOSE, [0x03, 0xe8, 0x61, 0xed, 0xa0, 0x80]),
    1007,
    "close frame reason is not valid UTF-8",
    11,
  ],
];

Deno.test("frames: each broken rule is refused with its close code and message, at the byte that breaks it", () => {
  for (const [name, stream, code, message, at, options] of BROKEN) {
    const expected = { code, message };
    assert.deepEqual(run(stream, "whole", options).error, expected, name);
    const bytes = run(stream, "bytes", options);
    assert.deepEqual(bytes.error, expected, name);
    assert.equal(bytes.fed, at + 1, `${name}: refused at byte ${bytes.fed - 1}, expected ${at}`);
    assert.deepEqual(run(stream, [at, at + 1, 3], options).error, expected, name);
  }
});

Deno.test("frames: a message of exactly the limit is accepted", () => {
  const stream = concat(
    clientFrame(OP_TEXT, utf8("01234"), { fin: false }),
    clientFrame(OP_CONTINUATION, utf8("56789")),
  );
  assert.deepEqual(run(stream, "bytes", { maxMessageBytes: 10 }), {
    events: [{ message: "text", data: "0123456789" }],
    pieces: [10],
    error: null,
    fed: stream.length,
  });
});

Deno.test("frames: server frame heads in 2, 4 and 10 bytes", () => {
  const cases: [number, number[]][] = [
    [0, [0x81, 0]],
    [125, [0x81, 125]],
    [126, [0x81, 126, 0, 126]],
    [65535, [0x81, 126, 0xff, 0xff]],
    [65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
    [2 ** 32 + 1, [0x81, 127, 0, 0, 0, 1, 0, 0, 0, 1]],
    [2 ** 53 - 1, [0x81, 127, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [length, head] of cases) {
    assert.deepEqual(Array.from(encodeFrameHead(OP_TEXT, length)), head, `${length}`);
    const out = new Uint8Array(13).fill(0xee);
    assert.equal(writeFrameHead(out, 3, OP_TEXT, length), 3 + head.length);
    assert.deepEqual(Array.from(out.subarray(3, 3 + head.length)), head);
    assert.deepEqual(Array.from(out.subarray(0, 3)), [0xee, 0xee, 0xee]);
  }
  assert.deepEqual(Array.from(encodeFrameHead(OP_BINARY, 3, false)), [0x02, 3]);
  assert.deepEqual(Array.from(encodeFrameHead(OP_CONTINUATION, 3)), [0x80, 3]);
  assert.deepEqual(Array.from(encodeFrame(OP_PING, Uint8Array.of(1, 2))), [0x89, 2, 1, 2]);
  assert.deepEqual(Array.from(encodeFrame(OP_PONG, new Uint8Array(0))), [0x8a, 0]);
  assert.deepEqual(Array.from(encodeFrame(OP_BINARY, new Uint8Array(300)).subarray(0, 5)), [
    0x82,
    126,
    1,
    44,
    0,
  ]);
});

Deno.test("frames: frame heads refuse what no frame can be", () => {
  const refused: [() => unknown, string][] = [
    [() => encodeFrameHead(3, 0), "writeFrameHead: opcode must be 0x0-0x2 or 0x8-0xa, got 3"],
    [() => encodeFrameHead(16, 0), "writeFrameHead: opcode must be 0x0-0x2 or 0x8-0xa, got 16"],
    [
      () => encodeFrameHead(OP_TEXT, -1),
      "writeFrameHead: length must be a whole number of bytes >= 0, got -1",
    ],
    [
      () => encodeFrameHead(OP_TEXT, 1.5),
      "writeFrameHead: length must be a whole number of bytes >= 0, got 1.5",
    ],
    [
      () => encodeFrameHead(OP_PING, 126),
      "writeFrameHead: a ping frame needs FIN and at most 125 bytes, got 126",
    ],
    [
      () => encodeFrameHead(OP_CLOSE, 2, false),
      "writeFrameHead: a close frame needs FIN and at most 125 bytes, got 2",
    ],
    [
      () => encodeCloseFrame(1005),
      "encodeCloseFrame: code must be 1000-1003, 1007-1011 or 3000-4999, got 1005",
    ],
    [() => encodeCloseFrame(undefined, "why"), "encodeCloseFrame: a reason needs a close code, got none"],
  ];
  for (const [f, message] of refused) assert.throws(f, { name: "RangeError", message });
});

Deno.test("frames: close frames cut their reason to 123 bytes at a character boundary", () => {
  assert.deepEqual(Array.from(encodeCloseFrame()), [0x88, 0]);
  assert.deepEqual(Array.from(encodeCloseFrame(1000)), [0x88, 2, 0x03, 0xe8]);
  assert.deepEqual(Array.from(encodeCloseFrame(4999, "é")), [0x88, 4, 0x13, 0x87, 0xc3, 0xa9]);
  const cases: [string, string][] = [
    ["a".repeat(200), "a".repeat(123)],
    ["é".repeat(100), "é".repeat(61)], // 122 bytes: a 62nd would end at byte 124
    ["a" + "é".repeat(100), "a" + "é".repeat(61)], // exactly 123
    ["ab" + "𝄞".repeat(40), "ab" + "𝄞".repeat(30)], // 122 bytes
  ];
  for (const [reason, kept] of cases) {
    const frame = encodeCloseFrame(1001, reason);
    assert.equal(frame[1], 2 + utf8(kept).length);
    assert.ok(frame.length <= 127);
    assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(4)), kept);
  }
});

/** A server frame masked as a client would send it, for the round trip. */
function masked(frame: Uint8Array, mask: number[]): Uint8Array {
  const length = frame[1] & 0x7f;
  const headLength = length < 126 ? 2 : length === 126 ? 4 : 10;
  const out = concat(frame.subarray(0, headLength), mask, frame.subarray(headLength));
  out[1] |= 0x80;
  for (let i = headLength + 4; i < out.length; i++) out[i] ^= mask[(i - headLength - 4) & 3];
  return out;
}

Deno.test("frames: server frames, masked, parse back to what was encoded", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      fc.string({ maxLength: 150 }),
      fc.uint8Array({ maxLength: 125 }),
      (text, cuts, reason, ping) => {
        const fragments = split(utf8(text), cuts);
        const frames = fragments.map((f, i) => {
          const head = encodeFrameHead(
            i === 0 ? OP_TEXT : OP_CONTINUATION,
            f.length,
            i === fragments.length - 1,
          );
          return masked(concat(head, f), [i, 1, 2, 3]);
        });
        frames.splice(1, 0, masked(encodeFrame(OP_PING, ping), [4, 5, 6, 7]));
        frames.push(masked(encodeCloseFrame(3000, reason), [8, 9, 10, 11]));
        const kept = new TextDecoder().decode(
          utf8(reason).subarray(0, encodeCloseFrame(3000, reason)[1] - 2),
        );
        const out = run(concat(...frames), "bytes");
        assert.equal(out.error, null);
        assert.deepEqual(out.events, [
          ...(fragments.length > 1 ? [{ control: "ping", data: Array.from(ping) }] : []),
          { message: "text", data: new TextDecoder().decode(utf8(text)) },
          ...(fragments.length > 1 ? [] : [{ control: "ping", data: Array.from(ping) }]),
          { control: "close", code: 3000, reason: kept },
        ]);
      },
    ),
    { numRuns: RUNS },
  );
});
