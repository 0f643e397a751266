// The Retail Prices pacer on its own: how many requests it lets out as the provider's counts and waits change.
// Run: node --import tsx --test test/sources/azure-retail-pacer.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RetailPacer, remainingRequests } from "../../src/sources/azure/retail-pacer.js";
import { arrayInner, memberSpan } from "../../src/sources/json-span.js";

/** Starts `orders` acquisitions; returns the orders admitted so far, in admission order. */
function contend(pacer: RetailPacer, orders: number[], signal = new AbortController().signal) {
  const admitted: number[] = [];
  const all = orders.map((o) => pacer.acquire(o, signal).then(() => admitted.push(o)));
  return { admitted, all };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("RetailPacer", () => {
  test("never more in flight than the provider says remain; at 0, a single request finds out", async () => {
    const pacer = new RetailPacer(4);
    const { admitted } = contend(pacer, [1, 2, 3, 4, 5, 6]);
    await tick();
    assert.deepEqual(admitted, [1, 2, 3, 4], "the configured concurrency at first");
    pacer.release({ remaining: 1 });
    await tick();
    assert.deepEqual(admitted, [1, 2, 3, 4], "3 in flight, 1 remaining: nothing more");
    pacer.release({ remaining: 0 });
    pacer.release({ remaining: 0 });
    pacer.release({ remaining: 0 });
    await tick();
    assert.deepEqual(admitted, [1, 2, 3, 4, 5], "one probe at 0");
    pacer.close();
  });

  test("a 429's wait holds every request back, drops to one at a time, and grows back slowly", async () => {
    let now = 1_000;
    const pacer = new RetailPacer(3, () => now);
    const first = contend(pacer, [1, 2, 3]);
    await tick();
    assert.deepEqual(first.admitted, [1, 2, 3]);
    pacer.release({ remaining: 5 });
    pacer.release({ remaining: 4 });
    pacer.release({ remaining: 0, throttledMs: 30 });
    const later = contend(pacer, [7, 4]);
    await tick();
    assert.deepEqual(later.admitted, [], "held back while the wait lasts");
    assert.equal(pacer.waitMs, 30);
    now += 30;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(later.admitted, [4], "then one at a time, lowest page first");
    pacer.release({ remaining: 9 });
    await tick();
    assert.deepEqual(later.admitted, [4, 7]);
    pacer.release({ remaining: 8 });
    const one = contend(pacer, [20, 21]);
    await tick();
    assert.deepEqual(one.admitted, [20], "still one at a time after two good answers");
    pacer.release({ remaining: 7 });
    await tick();
    pacer.release({ remaining: 6 }); // the fourth good answer in a row
    const two = contend(pacer, [30, 31]);
    await tick();
    assert.deepEqual([...one.admitted, ...two.admitted], [20, 21, 30, 31], "two in flight again");
    pacer.close();
  });

  test("an aborted wait leaves the queue", async () => {
    const pacer = new RetailPacer(1);
    const ac = new AbortController();
    await pacer.acquire(1, ac.signal);
    const waiting = pacer.acquire(2, ac.signal);
    ac.abort();
    await assert.rejects(waiting, { code: "ABORTED" });
    pacer.release({});
    await pacer.acquire(3, new AbortController().signal);
    pacer.close();
  });

  test("the remaining count is read from the header, whatever its casing on the wire", () => {
    assert.equal(remainingRequests({ "x-ms-ratelimit-remaining-retailprices-requests": " 7 " }), 7);
    assert.equal(remainingRequests({}), undefined);
    assert.equal(remainingRequests({ "x-ms-ratelimit-remaining-retailprices-requests": "many" }), undefined);
  });
});

describe("memberSpan", () => {
  test("finds a root member's value as served, not one nested or inside a string", () => {
    const doc = Buffer.from(
      '{"X":{"Items":[9]},"s":"\\"Items\\":[8]", "Items" : [ {"a":0.0,"b":"]}"} ,1e-05 ] ,"Count":2}',
    );
    const span = memberSpan(doc, "Items")!;
    assert.equal(doc.toString("utf8", span.start, span.end), '[ {"a":0.0,"b":"]}"} ,1e-05 ]');
    assert.equal(arrayInner(doc, span).toString(), '{"a":0.0,"b":"]}"} ,1e-05');
    const count = memberSpan(doc, "Count")!;
    assert.equal(doc.toString("utf8", count.start, count.end), "2");
    assert.equal(
      arrayInner(Buffer.from('{"Items":[ ]}'), memberSpan(Buffer.from('{"Items":[ ]}'), "Items")!).length,
      0,
    );
    assert.equal(memberSpan(Buffer.from("[1]"), "Items"), undefined);
  });
});
