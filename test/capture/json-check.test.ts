import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { JsonChecker, MAX_JSON_DEPTH, jsonCheckTransform } from "../../src/capture/json-check.js";
import { ContrailError } from "../../src/errors.js";
import type { JsonShape } from "../../src/types.js";
import { prng as rng } from "../fakes/ec2-history.js";
import { check, expectInvalid, outcome, rootOf, shapeFor } from "./json-check-helpers.js";

// A real 2019 EC2 offer file from the original crawler's lake, trimmed.
const SAMPLE = fileURLToPath(new URL("../fixtures/aws-ec2-offer-2019-limited.json", import.meta.url));
const OFFER_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["formatVersion", "offerCode", "version", "products", "terms"],
  captureKeys: ["version", "publicationDate"],
};

const VALID: string[] = [
  "{}",
  "[]",
  ' \t\n\r{ \t\n\r"a" \t\n\r: \t\n\r[ \t\n\r1 \t\n\r, \t\n\r2 \t\n\r] \t\n\r} \t\n\r',
  '{"a":1}',
  "[0,-0,1,-1,10,1.5,-0.0,0.25,1e5,1E5,1e+5,1E-5,-1.25e-10,0e0,123456789012345678901234567890,1.7976931348623157e308]",
  '{"esc":"\\" \\\\ \\/ \\b \\f \\n \\r \\t","u":"\\u00e9\\uD83D\\uDE00\\u0000\\uFFFF\\uabcd","raw":"é 漢 😀 \u007f"}',
  '[true,false,null,[],{},[[]],[{}],{"a":[]},[null]]',
  '{"":"","a":{"":{}}}',
  '[""," ","\\u0041BC"]',
  '{"a":{"b":{"c":[1,{"d":null,"e":[true,[false]]}]}},"f":-2.5E-3}',
  "\uFEFF" + '{"bom":true}',
  "\uFEFF [1]",
  JSON.stringify(
    { products: { X: { sku: "X", attributes: { vcpu: "16", memory: "30 GiB" } } }, terms: {} },
    null,
    2,
  ),
  JSON.stringify([{ a: [1, 2, { b: 'c\n"d"' }] }, "x", 3.5, null], null, 4),
  '{\n  "version" : "v1",\n  "list" : [ ],\n  "obj" : { }\n}',
];

describe("JsonChecker: valid documents", () => {
  for (const doc of VALID) {
    it(`accepts ${JSON.stringify(doc).slice(0, 60)}`, () => {
      const buf = Buffer.from(doc, "utf8");
      const shape = shapeFor(doc);
      check(buf, shape, "whole");
      check(buf, shape, "bytes");
      for (let seed = 1; seed <= 20; seed++) check(buf, shape, "random", rng(seed));
      // Every two-chunk split.
      for (let k = 0; k <= buf.length; k++) {
        const c = new JsonChecker(shape);
        c.write(buf.subarray(0, k));
        c.write(buf.subarray(k));
        c.end();
      }
    });
  }

  it("accepts nesting down to the limit and rejects one deeper", () => {
    const ok = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
    check(Buffer.from(ok), { root: "array" });
    const deepObj = '{"a":'.repeat(MAX_JSON_DEPTH - 1) + "{}" + "}".repeat(MAX_JSON_DEPTH - 1);
    check(Buffer.from(deepObj), { root: "object" });
    const tooDeep = "[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1);
    expectInvalid(tooDeep, new RegExp(`at byte ${MAX_JSON_DEPTH}: nesting deeper than ${MAX_JSON_DEPTH}`));
  });

  it("accepts an empty chunk anywhere", () => {
    const c = new JsonChecker({ root: "array" });
    c.write(Buffer.alloc(0));
    c.write(Buffer.from("[1"));
    c.write(Buffer.alloc(0));
    c.write(Buffer.from("]"));
    c.write(Buffer.alloc(0));
    c.end();
  });

  it("accepts the sample AWS offer file and captures its version", () => {
    const buf = readFileSync(SAMPLE);
    const expected = { version: "20190329040654", publicationDate: "2019-03-29T04:06:54Z" };
    assert.deepEqual(check(buf, OFFER_SHAPE, "whole"), expected);
    assert.deepEqual(check(buf, OFFER_SHAPE, "bytes"), expected);
    for (let seed = 1; seed <= 10; seed++)
      assert.deepEqual(check(buf, OFFER_SHAPE, "random", rng(seed)), expected);
    for (let k = 0; k <= buf.length; k += 7) {
      const c = new JsonChecker(OFFER_SHAPE);
      c.write(buf.subarray(0, k));
      c.write(buf.subarray(k));
      assert.deepEqual(c.end().values, expected);
    }
  });
});

describe("JsonChecker: invalid documents", () => {
  it("rejects every strict prefix of a valid document in end()", () => {
    const docs = [...VALID.map((d) => Buffer.from(d.trimEnd(), "utf8")), readFileSync(SAMPLE)];
    for (const buf of docs) {
      const shape = shapeFor(buf.toString("utf8"));
      for (let k = 0; k < buf.length; k++) {
        const c = new JsonChecker(shape);
        c.write(buf.subarray(0, k)); // never throws: nothing is wrong yet
        assert.throws(
          () => c.end(),
          (err: unknown) =>
            err instanceof ContrailError &&
            err.code === "INVALID_JSON" &&
            err.message.startsWith(`JSON ends early at byte ${k} (`),
        );
      }
    }
  });

  it("names where the document ended", () => {
    const cases: [string, string][] = [
      ["", "no value"],
      ["  \n", "no value"],
      ["\uFEFF", "no value"],
      ['["ab', "inside a string"],
      ['["a\\', "inside a string"],
      ['["\\u12', "inside a string"],
      ['{"ke', "inside a key"],
      ["[-", "inside a number"],
      ["[1.", "inside a number"],
      ["[1e+", "inside a number"],
      ["[tr", "inside a literal"],
      ["[1", "inside an array"],
      ['{"a":1', "inside an object"],
      ['{"a"', "inside an object"],
      ['{"a":[{}', "inside an array"],
    ];
    for (const [doc, where] of cases) {
      const buf = Buffer.from(doc, "utf8");
      const err = outcome(buf, { root: "array" });
      assert.ok(err);
      assert.equal(err.message, `JSON ends early at byte ${buf.length} (${where})`);
    }
  });

  it("rejects trailing garbage and a second top-level value", () => {
    expectInvalid("[] x", /at byte 3: unexpected "x" \(after the end of the JSON value\)/);
    expectInvalid("[]]", /at byte 2: unexpected "]"/);
    expectInvalid("[],", /at byte 2: unexpected ","/);
    expectInvalid("[] []", /at byte 3: unexpected "\["/);
    expectInvalid("[][]", /at byte 2/);
    expectInvalid('{}{"a":1}', /at byte 2/, { root: "object" });
    expectInvalid("[1]\n2", /at byte 4/);
    expectInvalid('[1] "x"', /at byte 4: unexpected '"'/);
    expectInvalid("[1]\u00a0", /at byte 3: unexpected byte 0xc2/);
    expectInvalid("[1]\0", /at byte 3: unexpected byte 0x00/);
  });

  it("rejects bad structure, numbers, literals and strings at the first bad byte", () => {
    const cases: [string, number][] = [
      ["[1,]", 3],
      ['{"a":1,}', 7],
      ["[,1]", 1],
      ["[1 2]", 3],
      ["[1,,2]", 3],
      ['{"a" "b"}', 5],
      ['{"a":}', 5],
      ['{"a",1}', 4],
      ["{a:1}", 1],
      ["{'a':1}", 1],
      ['{"a":1 "b":2}', 7],
      ['{"a":1]', 6],
      ["[1}", 2],
      ["[01]", 2],
      ["[-01]", 3],
      ["[1.]", 3],
      ["[.5]", 1],
      ["[1.e5]", 3],
      ["[1e]", 3],
      ["[1e+]", 4],
      ["[-]", 2],
      ["[+1]", 1],
      ["[0x1]", 2],
      ["[NaN]", 1],
      ["[Infinity]", 1],
      ["[-Infinity]", 2],
      ["[1.5.5]", 4],
      ["[tru]", 4],
      ["[True]", 1],
      ["[nul]", 4],
      ["[nulll]", 5],
      ["[falsey]", 6],
      ['["\\x"]', 3],
      ['["\\U0041"]', 3],
      ['["\\u12G4"]', 6],
      ['["\\u"]', 4],
      ['["a\tb"]', 3],
      ['["a\nb"]', 3],
      ['["\x00"]', 2],
      ['["\x1f"]', 2],
      ["[1]\uFEFF", 3],
      [" \uFEFF[1]", 1],
      ["[\v1]", 1],
      ["[\f1]", 1],
      ["[/*c*/1]", 1],
      ["\xef\xbb[1]", 2],
    ];
    for (const [doc, at] of cases) {
      // latin1 for the BOM-fragment case; the rest are ASCII or meant as UTF-8.
      const buf = doc.startsWith("\xef\xbb") ? Buffer.from(doc, "latin1") : Buffer.from(doc, "utf8");
      assert.throws(() => JSON.parse(buf.toString("utf8")), `JSON.parse accepts ${JSON.stringify(doc)}`);
      expectInvalid(buf, new RegExp(`^invalid JSON at byte ${at}: `), {
        root: doc.startsWith("{") ? "object" : "array",
      });
    }
  });

  it("reports absolute offsets across chunks and stays failed", () => {
    const c = new JsonChecker({ root: "object" });
    c.write(Buffer.from('{"a": [1, 2'));
    c.write(Buffer.from(", 3], "));
    let first: unknown;
    assert.throws(
      () => c.write(Buffer.from('"b": <html>')),
      (err: unknown) => {
        first = err;
        return (
          err instanceof ContrailError &&
          err.message === 'invalid JSON at byte 22: unexpected "<" (expected a value)'
        );
      },
    );
    assert.throws(
      () => c.write(Buffer.from("}")),
      (err: unknown) => err === first,
    );
    assert.throws(
      () => c.end(),
      (err: unknown) => err === first,
    );
  });
});

describe("JsonChecker: differential fuzz against JSON.parse", () => {
  const corpus = [
    ...VALID,
    '{"version":"1","publicationDate":"2019","n":-12.5e3,"t":true,"f":false,"z":null,"o":{"version":"inner"},"a":[1,"2",{"x":[]}]}',
    '{\n  "formatVersion" : "v1.0",\n  "version" : "20190329",\n  "products" : {\n    "A" : { "sku" : "A", "vcpu" : "4" }\n  },\n  "terms" : { "OnDemand" : { } }\n}',
    '[{"a":"\\u00e9\\n"},[0.5,-0,1E+2],"x\\"y",true]',
  ];
  const ALPHABET = Buffer.from('{}[],:" \n\t\\/0123456789.eE+-trufalsn\x00\x1f\x7f\xc3\xa9uUx');

  function mutate(buf: Buffer, rand: () => number): Buffer {
    const ops = 1 + Math.floor(rand() * 3);
    let out = buf;
    for (let k = 0; k < ops; k++) {
      const at = Math.floor(rand() * (out.length + 1));
      const byte = rand() < 0.85 ? ALPHABET[Math.floor(rand() * ALPHABET.length)]! : Math.floor(rand() * 256);
      const op = rand();
      if (op < 0.35) out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
      else if (op < 0.7) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      else if (at < out.length) {
        out = Buffer.from(out);
        out[at] = byte;
      }
    }
    return out;
  }

  /** What the checker must say about `buf`, by JSON.parse. */
  function oracle(
    buf: Buffer,
    shape: JsonShape,
  ): { code: "INVALID_JSON" | "INVALID_SHAPE" } | { values: Record<string, unknown> } {
    let parsed: unknown;
    try {
      // A strict decoder (toString would turn bad bytes into U+FFFD, which JSON.parse accepts); it drops a
      // leading byte-order mark as the checker does.
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf));
    } catch {
      return { code: "INVALID_JSON" };
    }
    if (rootOf(parsed) !== shape.root) return { code: "INVALID_SHAPE" };
    if (shape.root === "array") return { values: {} };
    const obj = parsed as Record<string, unknown>;
    if ((shape.requiredKeys ?? []).some((k) => !Object.hasOwn(obj, k))) return { code: "INVALID_SHAPE" };
    const values: Record<string, unknown> = {};
    for (const k of shape.captureKeys ?? []) {
      const v = obj[k];
      if (Object.hasOwn(obj, k) && (v === null || typeof v !== "object")) values[k] = v;
    }
    return { values };
  }

  it("accepts exactly what JSON.parse accepts over 6000 mutations", () => {
    const rand = rng(20240601);
    const shapes: JsonShape[] = [
      {
        root: "object",
        requiredKeys: ["version"],
        captureKeys: ["version", "publicationDate", "n", "t", "f", "z", "o", "a"],
      },
      { root: "object", captureKeys: ["formatVersion", "version", "bom", "a", "esc", "u", "raw", "", "f"] },
      { root: "array" },
    ];
    let accepted = 0;
    let shapeErrors = 0;
    for (let n = 0; n < 6000; n++) {
      const doc = Buffer.from(corpus[Math.floor(rand() * corpus.length)]!, "utf8");
      const buf = mutate(doc, rand);
      const shape = shapes[Math.floor(rand() * shapes.length)]!;
      const want = oracle(buf, shape);
      const whole = outcome(buf, shape, "whole");
      const chunked = outcome(buf, shape, "random", rng(n));
      const label = `#${n} ${JSON.stringify(buf.toString("latin1"))} ${JSON.stringify(shape)}`;
      // Chunking never changes the verdict or the message.
      assert.equal(chunked?.message, whole?.message, label);
      if ("code" in want) {
        assert.equal(whole?.code, want.code, `${label}: ${whole?.message ?? "accepted"}`);
        if (want.code === "INVALID_SHAPE") shapeErrors++;
      } else {
        assert.equal(whole, undefined, `${label}: ${whole?.message}`);
        assert.deepEqual(check(buf, shape, "random", rng(n + 1)), want.values, label);
        accepted++;
      }
    }
    // The mutations exercise both sides.
    assert.ok(accepted > 300, `only ${accepted} mutants were valid`);
    assert.ok(shapeErrors > 50, `only ${shapeErrors} shape errors`);
  });
});

describe("JsonChecker: shape", () => {
  it("names missing required keys and ignores nested ones", () => {
    const shape: JsonShape = { root: "object", requiredKeys: ["version", "products", "terms"] };
    const doc = Buffer.from('{"products":{"version":"1"},"x":{"terms":{}},"list":[{"terms":1}]}');
    for (const feed of ["whole", "bytes"] as const) {
      const err = outcome(doc, shape, feed);
      assert.equal(err?.code, "INVALID_SHAPE");
      assert.equal(err?.message, "JSON lacks required top-level keys: version, terms");
    }
    assert.equal(
      outcome(Buffer.from('{"products":1,"terms":2}'), shape)?.message,
      "JSON lacks required top-level key: version",
    );
    check(Buffer.from('{"terms":[],"products":{},"version":"x"}'), shape);
  });

  it("rejects the wrong root type", () => {
    const obj = outcome(Buffer.from("[1]"), { root: "object" });
    assert.equal(obj?.code, "INVALID_SHAPE");
    assert.equal(obj?.message, "JSON root is an array, expected an object");
    assert.equal(
      outcome(Buffer.from("{}"), { root: "array" })?.message,
      "JSON root is an object, expected an array",
    );
    assert.equal(
      outcome(Buffer.from(' "x" '), { root: "object" })?.message,
      "JSON root is a scalar, expected an object",
    );
    assert.equal(outcome(Buffer.from("12"), { root: "array" })?.code, "INVALID_SHAPE");
    assert.equal(outcome(Buffer.from("1 2"), { root: "array" })?.code, "INVALID_JSON");
  });

  it("captures top-level scalars, split anywhere, escaped or not, and skips nested ones", () => {
    const shape: JsonShape = {
      root: "object",
      requiredKeys: ["version"],
      captureKeys: ["version", "date", "n", "yes", "no", "nil", "obj", "arr", "nested", "absent", "é"],
    };
    const doc = Buffer.from(
      '{ "x" : { "version" : "inner", "nested" : 1 }, "ver\\u0073ion" : "v\\u00e9 \\"1\\"", "date":"2019-03-29",' +
        '"n" : -12.5e-1, "yes":true, "no" : false, "nil":null, "obj":{"a":1}, "arr":[1], "\\u00e9" : 0, "n2": 5 }',
    );
    const want = { version: 'vé "1"', date: "2019-03-29", n: -1.25, yes: true, no: false, nil: null, é: 0 };
    assert.deepEqual(check(doc, shape, "whole"), want);
    assert.deepEqual(check(doc, shape, "bytes"), want);
    for (let seed = 1; seed <= 30; seed++) assert.deepEqual(check(doc, shape, "random", rng(seed)), want);
    for (let k = 0; k <= doc.length; k++) {
      const c = new JsonChecker(shape);
      c.write(doc.subarray(0, k));
      c.write(doc.subarray(k));
      assert.deepEqual(c.end().values, want);
    }
  });

  it("keeps the last of duplicate keys, like JSON.parse", () => {
    const shape: JsonShape = { root: "object", captureKeys: ["a", "b"] };
    assert.deepEqual(check(Buffer.from('{"a":1,"b":"x","a":"2","b":{}}'), shape), { a: "2" });
  });

  it("caps captured strings at 64 KiB and keys at 1 KiB", () => {
    const shape: JsonShape = { root: "object", requiredKeys: ["k".repeat(1025)], captureKeys: ["big", "ok"] };
    const ok = "y".repeat(64 * 1024 - 2);
    const doc = Buffer.from(JSON.stringify({ big: "x".repeat(64 * 1024 + 1), ok, ["k".repeat(1025)]: 1 }));
    const err = outcome(doc, shape, "random");
    assert.equal(err?.code, "INVALID_SHAPE"); // a key over 1 KiB is never compared
    const c = new JsonChecker({ root: "object", captureKeys: ["big", "ok"] });
    c.write(doc);
    assert.deepEqual(c.end().values, { ok });
  });

  it("does not look at keys when the root is an array", () => {
    assert.deepEqual(check(Buffer.from('[{"a":1}]'), { root: "array", captureKeys: ["a"] }), {});
    // An array has no keys, so required ones are always missing.
    const err = outcome(Buffer.from('[{"a":1}]'), { root: "array", requiredKeys: ["a"] });
    assert.equal(err?.message, "JSON lacks required top-level key: a");
  });
});

describe("jsonCheckTransform", () => {
  function chunksOf(buf: Buffer, size: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
    return out;
  }

  async function run(
    chunks: Buffer[],
    shape: JsonShape,
    onValues?: (v: Record<string, unknown>) => void,
  ): Promise<Buffer[]> {
    const seen: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      jsonCheckTransform(shape, onValues),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          seen.push(chunk);
          cb();
        },
      }),
    );
    return seen;
  }

  it("passes the very same buffers through and reports the values", async () => {
    const buf = readFileSync(SAMPLE);
    const chunks = chunksOf(buf, 1000);
    let values: Record<string, unknown> | undefined;
    const seen = await run(chunks, OFFER_SHAPE, (v) => (values = v));
    assert.equal(seen.length, chunks.length);
    seen.forEach((chunk, k) => assert.equal(chunk, chunks[k]));
    assert.ok(Buffer.concat(seen).equals(buf));
    assert.deepEqual(values, { version: "20190329040654", publicationDate: "2019-03-29T04:06:54Z" });
  });

  it("errors the pipeline at an invalid byte", async () => {
    const chunks = [Buffer.from('{"a":'), Buffer.from("[1, 2,"), Buffer.from(" ]}")];
    let called = false;
    await assert.rejects(
      run(chunks, { root: "object" }, () => (called = true)),
      (err: unknown) =>
        err instanceof ContrailError &&
        err.code === "INVALID_JSON" &&
        /at byte 12: unexpected "\]"/.test(err.message),
    );
    assert.equal(called, false);
  });

  it("errors the pipeline at the end when the body is truncated or of the wrong shape", async () => {
    const buf = readFileSync(SAMPLE);
    await assert.rejects(
      run(chunksOf(buf.subarray(0, buf.length - 10), 4096), OFFER_SHAPE),
      (err: unknown) =>
        err instanceof ContrailError && err.code === "INVALID_JSON" && /ends early/.test(err.message),
    );
    await assert.rejects(
      run([Buffer.from('{"version":"1"}')], OFFER_SHAPE),
      (err: unknown) =>
        err instanceof ContrailError &&
        err.code === "INVALID_SHAPE" &&
        /formatVersion, offerCode, products, terms/.test(err.message),
    );
  });

  it("errors the pipeline when onValues throws", async () => {
    await assert.rejects(
      run([Buffer.from("{}")], { root: "object" }, () => {
        throw new Error("boom");
      }),
      /boom/,
    );
  });
});
