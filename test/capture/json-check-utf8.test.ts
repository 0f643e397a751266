// The JSON checker and UTF-8 (RFC 8259 §8.1, SPEC §6): strings must hold well-formed UTF-8, also when a
// multi-byte sequence is split between chunks. The oracle is a strict decoder, `new TextDecoder("utf-8",
// { fatal: true })`: `Buffer#toString` would turn bad bytes into U+FFFD and so accept them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JsonChecker } from "../../src/capture/json-check.js";
import type { JsonShape } from "../../src/types.js";
import { prng as rng } from "../fakes/ec2-history.js";
import { check, expectInvalid, outcome } from "./json-check-helpers.js";

const strict = () => new TextDecoder("utf-8", { fatal: true });

/** Where a strict streaming decoder fed one byte at a time first fails (the length: cut off at the end), or -1. */
function firstBadByte(buf: Uint8Array): number {
  const d = strict();
  for (let i = 0; i < buf.length; i++) {
    try {
      d.decode(buf.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  try {
    d.decode();
  } catch {
    return buf.length;
  }
  return -1;
}

/** The message of checking `buf` in two chunks split at `k`, or undefined when it is accepted. */
function splitOutcome(buf: Buffer, shape: JsonShape, k: number): string | undefined {
  const c = new JsonChecker(shape);
  try {
    c.write(buf.subarray(0, k));
    c.write(buf.subarray(k));
    c.end();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const bytes = (...b: (number | string)[]) =>
  Buffer.concat(b.map((x) => (typeof x === "string" ? Buffer.from(x, "utf8") : Buffer.from([x]))));

/** The first and last code point of each UTF-8 length and around the surrogates: all well-formed. */
const EDGES = [
  0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x3ffff, 0x40000, 0xfffff,
  0x100000, 0x10ffff,
].map((cp) => String.fromCodePoint(cp));

/** Ill-formed sequences (followed by "z" unless they say otherwise), the offending byte's index, and the reason. */
const ILL_FORMED: [Buffer, number, RegExp][] = [
  [bytes(0xff), 0, /byte 0xff never occurs in UTF-8/],
  [bytes(0xfe), 0, /byte 0xfe never occurs in UTF-8/],
  [bytes(0xf5, 0x80, 0x80, 0x80), 0, /byte 0xf5 never occurs in UTF-8/],
  [bytes(0xf8, 0x88, 0x80, 0x80, 0x80), 0, /byte 0xf8 never occurs in UTF-8/],
  [bytes(0x80), 0, /UTF-8 continuation byte 0x80 without a lead byte/],
  [bytes("é", 0xbf), 2, /UTF-8 continuation byte 0xbf without a lead byte/],
  [bytes(0xc0, 0xaf), 0, /overlong UTF-8 sequence \(lead byte 0xc0\)/],
  [bytes(0xc1, 0xbf), 0, /overlong UTF-8 sequence \(lead byte 0xc1\)/],
  [bytes(0xe0, 0x80, 0xaf), 1, /overlong UTF-8 sequence \(0xe0 0x80\)/],
  [bytes(0xe0, 0x9f, 0xbf), 1, /overlong UTF-8 sequence \(0xe0 0x9f\)/],
  [bytes(0xf0, 0x80, 0x80, 0xaf), 1, /overlong UTF-8 sequence \(0xf0 0x80\)/],
  [bytes(0xf0, 0x8f, 0xbf, 0xbf), 1, /overlong UTF-8 sequence \(0xf0 0x8f\)/],
  [bytes(0xed, 0xa0, 0x80), 1, /UTF-16 surrogate encoded in UTF-8 \(0xed 0xa0\)/],
  [bytes(0xed, 0xbf, 0xbf), 1, /UTF-16 surrogate encoded in UTF-8 \(0xed 0xbf\)/],
  // CESU-8's U+1F600: a surrogate pair, each half encoded on its own.
  [bytes(0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80), 1, /UTF-16 surrogate encoded in UTF-8 \(0xed 0xa0\)/],
  [bytes(0xf4, 0x90, 0x80, 0x80), 1, /UTF-8 sequence above U\+10FFFF \(0xf4 0x90\)/],
  [bytes(0xf4, 0xbf, 0xbf, 0xbf), 1, /UTF-8 sequence above U\+10FFFF \(0xf4 0xbf\)/],
  [bytes(0xc3, "A"), 1, /truncated UTF-8 sequence \(lead byte 0xc3, then "A"\)/],
  [bytes(0xe2, 0x82), 2, /truncated UTF-8 sequence \(lead byte 0xe2, then "z"\)/],
  [bytes(0xe2, 0x28, 0xa1), 1, /truncated UTF-8 sequence \(lead byte 0xe2, then "\("\)/],
  [bytes(0xf0, 0x9f, 0x98), 3, /truncated UTF-8 sequence \(lead byte 0xf0, then "z"\)/],
  [bytes(0xf0, 0x9f, 0x98, 0xc3, 0xa9), 3, /truncated UTF-8 sequence \(lead byte 0xf0, then byte 0xc3\)/],
  // Cut off by the string's closing quote or by an escape.
  [bytes(0xe2, 0x82, '"]'), 2, /truncated UTF-8 sequence \(lead byte 0xe2, then '"'\)/],
  [bytes(0xc3, "\\n"), 1, /truncated UTF-8 sequence \(lead byte 0xc3, then "\\"\)/],
];

describe("JsonChecker: UTF-8", () => {
  it("accepts every length's first and last code point, in values and keys, split anywhere", () => {
    const text = EDGES.join("");
    const doc = Buffer.from(JSON.stringify({ [`k${text}`]: [text, `a${text}z`], v: text }), "utf8");
    const shape: JsonShape = { root: "object", captureKeys: ["v"] };
    assert.equal(firstBadByte(doc), -1);
    assert.deepEqual(check(doc, shape, "whole"), { v: text });
    assert.deepEqual(check(doc, shape, "bytes"), { v: text });
    for (let seed = 1; seed <= 20; seed++)
      assert.deepEqual(check(doc, shape, "random", rng(seed)), { v: text });
    for (let k = 0; k <= doc.length; k++)
      assert.equal(splitOutcome(doc, shape, k), undefined, `split at ${k}`);
  });

  it("rejects ill-formed sequences at the offending byte, in values and keys, split anywhere", () => {
    for (const [seq, at, reason] of ILL_FORMED) {
      const ownEnd = seq.includes(0x22);
      for (const [head, tail, shape] of [
        ['["ab', ownEnd ? "" : 'z"]', { root: "array" }],
        ['{"ab', ownEnd ? "" : 'z":1}', { root: "object" }],
      ] as const) {
        const doc = Buffer.concat([Buffer.from(head), seq, Buffer.from(tail)]);
        const offset = head.length + at;
        assert.equal(firstBadByte(doc), offset, `the strict decoder agrees on ${doc.toString("hex")}`);
        const want = new RegExp(`^invalid JSON at byte ${offset}: ${reason.source}`);
        expectInvalid(doc, want, shape);
        for (let k = 0; k <= doc.length; k++) assert.match(splitOutcome(doc, shape, k) ?? "accepted", want);
      }
    }
  });

  it("says so when the input ends inside a sequence", () => {
    for (const cut of [bytes('["', 0xc3), bytes('["a', 0xe2, 0x82), bytes('{"', 0xf0, 0x9f, 0x98)]) {
      const err = outcome(cut, { root: "array" }, "bytes");
      assert.equal(err?.message, `JSON ends early at byte ${cut.length} (inside a UTF-8 sequence)`);
    }
  });

  it("rejects any byte >= 0x80 outside strings", () => {
    expectInvalid(
      bytes("[1,", 0xc3, 0xa9, "]"),
      /^invalid JSON at byte 3: unexpected byte 0xc3 \(expected a value\)/,
    );
    expectInvalid(bytes('{"a"', 0xe3, 0x80, 0x80, ":1}"), /^invalid JSON at byte 4: unexpected byte 0xe3/, {
      root: "object",
    });
  });

  it("agrees with a strict TextDecoder on 4000 random byte strings under random chunk splits", () => {
    const rand = rng(8_10);
    const int = (n: number) => Math.floor(rand() * n);
    const wellFormed = () => {
      const cp = [0x7f, 0x7ff, 0xffff, 0x10ffff][int(4)]!;
      let c = 0x20 + int(cp - 0x20);
      if (c >= 0xd800 && c <= 0xdfff) c -= 0x800;
      if (c === 0x22 || c === 0x5c) c = 0x41;
      return Buffer.from(String.fromCodePoint(c), "utf8");
    };
    const piece = (): Buffer => {
      const r = rand();
      if (r < 0.75) return wellFormed();
      if (r < 0.85) return bytes(0x80 + int(0x80)); // any high byte: a lead, a continuation or neither
      if (r < 0.93) return Buffer.from(ILL_FORMED[int(ILL_FORMED.length)]![0].filter((b) => b >= 0x80));
      const w = wellFormed(); // a sequence cut short
      return w.length > 1 ? w.subarray(0, 1 + int(w.length - 1)) : w;
    };
    let valid = 0;
    let invalid = 0;
    for (let n = 0; n < 4000; n++) {
      const parts: Buffer[] = [];
      for (let k = int(6); k >= 0; k--) parts.push(piece());
      const content = Buffer.concat(parts);
      const doc = Buffer.concat([Buffer.from('{"v":"'), content, Buffer.from('","w":[1]}')]);
      const shape: JsonShape = { root: "object", captureKeys: ["v"] };
      const label = `#${n} ${doc.toString("hex")}`;
      const bad = firstBadByte(doc);
      const whole = outcome(doc, shape, "whole");
      const chunked = outcome(doc, shape, "random", rng(n));
      assert.equal(chunked?.message, whole?.message, `${label}: chunking changes nothing`);
      if (bad < 0) {
        valid++;
        const want = JSON.parse(strict().decode(doc)) as { v: string };
        assert.equal(whole, undefined, `${label}: ${whole?.message}`);
        assert.deepEqual(check(doc, shape, "random", rng(n + 1)), { v: want.v }, label);
      } else {
        invalid++;
        assert.throws(() => strict().decode(doc), TypeError);
        assert.equal(whole?.code, "INVALID_JSON", label);
        assert.match(whole.message, new RegExp(`^invalid JSON at byte ${bad}: .*UTF-8`), label);
      }
    }
    assert.ok(valid > 800 && invalid > 800, `both sides exercised: ${valid} valid, ${invalid} invalid`);
  });
});
