// The EC2 derivation's SKU index (typed arrays, outside V8's heap): numbers in first-added order, lookups across its
// growth, and an order that is the strings' own for ASCII SKUs (the history rows' order depends on it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SkuIndex, Words } from "../../src/history/rows/sku-index.js";

test("SkuIndex: numbers SKUs in the order first added, finds each again across growth, and none it was not given", () => {
  const index = new SkuIndex();
  const skus: string[] = [];
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  for (let i = 0; i < 50_000; i++) {
    let sku = "";
    for (let j = 0; j < 16; j++) sku += alphabet[Math.floor(random() * 32)];
    skus.push(sku);
  }
  // Odd ones too: empty, long (past the scratch buffer), non-ASCII, a prefix of another.
  skus.push("", "X".repeat(1000), "ÉTÉ-ß-价格", skus[0]!.slice(0, 8));
  const expected = new Map<string, number>();
  for (const sku of skus) {
    const n = index.add(sku);
    if (!expected.has(sku)) expected.set(sku, expected.size);
    assert.equal(n, expected.get(sku), sku);
  }
  assert.equal(index.size, expected.size);
  for (const [sku, n] of expected) assert.equal(index.get(sku), n, sku);
  assert.equal(index.add(skus[123]!), 123, "an added SKU is not added twice");
  assert.equal(index.size, expected.size);
  for (const absent of ["ZZZZZZZZZZZZZZZZZ", "X".repeat(999), skus[0]!.slice(0, 15), "ÉTÉ"])
    assert.equal(index.get(absent), undefined, absent);
});

test("SkuIndex.compare orders by the SKUs' UTF-8 bytes: as the strings compare, for ASCII ones", () => {
  const index = new SkuIndex();
  const skus = ["B", "A", "AB", "", "ABC", "Ab", "a", "AA", "Z9", "é", "z"];
  for (const sku of skus) index.add(sku);
  const sign = (x: number) => Math.sign(x);
  for (let a = 0; a < skus.length; a++)
    for (let b = 0; b < skus.length; b++) {
      const bytes = Buffer.compare(Buffer.from(skus[a]!), Buffer.from(skus[b]!));
      assert.equal(sign(index.compare(a, b)), bytes, `${skus[a]} vs ${skus[b]}`);
      if ([...(skus[a]! + skus[b]!)].every((c) => c.charCodeAt(0) < 0x80))
        assert.equal(sign(index.compare(a, b)), skus[a]! < skus[b]! ? -1 : skus[a]! > skus[b]! ? 1 : 0);
    }
});

test("Words: pushes past its capacity, and keeps what was set", () => {
  const w = new Words(0);
  for (let i = 0; i < 5000; i++) w.push(i * 3);
  w.set(4999, 7);
  assert.equal(w.length, 5000);
  assert.equal(w.get(0), 0);
  assert.equal(w.get(2500), 7500);
  assert.equal(w.get(4999), 7);
});
