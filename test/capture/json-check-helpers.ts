// Feeding documents to the JSON checker whole, byte by byte or in random chunks: shared by its test files.
import assert from "node:assert/strict";
import { JsonChecker } from "../../src/capture/json-check.js";
import { ContrailError } from "../../src/errors.js";
import type { JsonShape } from "../../src/types.js";
import { prng as rng } from "../fakes/ec2-history.js";

export type Feed = "whole" | "bytes" | "random";

/** Feeds `buf` to a new checker as one chunk, byte by byte, or at random boundaries; returns end()'s result. */
export function check(
  buf: Buffer,
  shape: JsonShape,
  feed: Feed = "whole",
  rand = rng(1),
): Record<string, unknown> {
  const c = new JsonChecker(shape);
  if (feed === "whole") c.write(buf);
  else if (feed === "bytes") for (let i = 0; i < buf.length; i++) c.write(buf.subarray(i, i + 1));
  else {
    for (let i = 0; i < buf.length;) {
      const r = rand();
      const size =
        r < 0.3
          ? 1 + Math.floor(rand() * 3)
          : r < 0.9
            ? 1 + Math.floor(rand() * 24)
            : 1 + Math.floor(rand() * 4096);
      c.write(buf.subarray(i, i + size));
      i += size;
    }
  }
  const { values } = c.end();
  assert.equal(c.bytes, buf.length);
  return values;
}

/** The error (or undefined) from checking; never lets an unexpected error type through. */
export function outcome(
  buf: Buffer,
  shape: JsonShape,
  feed: Feed = "whole",
  rand = rng(1),
): ContrailError | undefined {
  try {
    check(buf, shape, feed, rand);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ContrailError, `not a ContrailError: ${String(err)}`);
    assert.equal(err.retryable, false);
    return err;
  }
}

export function rootOf(v: unknown): "object" | "array" | "scalar" {
  return Array.isArray(v) ? "array" : v !== null && typeof v === "object" ? "object" : "scalar";
}

export function shapeFor(doc: string): JsonShape {
  const root = rootOf(JSON.parse(doc.replace(/^\uFEFF/, "")));
  assert.notEqual(root, "scalar");
  return { root: root as "object" | "array" };
}

export function expectInvalid(doc: string | Buffer, re?: RegExp, shape: JsonShape = { root: "array" }): void {
  const buf = Buffer.isBuffer(doc) ? doc : Buffer.from(doc, "utf8");
  for (const feed of ["whole", "bytes", "random"] as const) {
    const err = outcome(buf, shape, feed);
    assert.ok(err, `${feed}: accepted ${JSON.stringify(buf.toString())}`);
    assert.equal(err.code, "INVALID_JSON", `${feed}: ${err.message}`);
    if (re) assert.match(err.message, re, `${feed}: ${JSON.stringify(buf.toString())}`);
  }
}
