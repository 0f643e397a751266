// AmazonEC2Spot's pure parts: windows, slices, the record format, and the streaming offer index.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AWS_REGIONS, NOT_EC2_REGIONS } from "../fakes/ec2-regions.js";
import { AWS_PARTITION_REGION } from "../../src/sources/aws-spot/regions.js";
import { Readable } from "node:stream";
import { FakeAwsPricing, offerStream } from "../fakes/aws-pricing.js";
import {
  RecordWriter,
  SeriesTable,
  compareRows,
  pythonIso,
  sortUnique,
  type SpotRow,
} from "../../src/sources/aws-spot/records.js";
import { attributesFragment, indexOffer } from "../../src/sources/aws-spot/offer-index.js";
import { MAX_LOOKBACK, slices, windowFor } from "../../src/sources/aws-spot/window.js";
import { mapLimit } from "../../src/sources/run-units.js";
import type { Manifest } from "../../src/types.js";
import { DAY, HOUR, offerProducts, sharedAttributes } from "./spot-helpers.js";

const END = new Date("2026-11-29T22:08:37.123Z");
const prev = (end: string): Manifest =>
  ({ capturedAt: end, window: { start: end, end } }) as unknown as Manifest;

describe("spot windows", () => {
  test("first capture: the last 60 minutes", () => {
    const w = windowFor(END, undefined);
    assert.equal(END.getTime() - w.start.getTime(), HOUR);
    assert.equal(w.basis, "first");
  });
  test("next capture: from the previous end", () => {
    const w = windowFor(END, prev("2026-11-29T21:08:36.001Z"));
    assert.equal(w.start.toISOString(), "2026-11-29T21:08:36.001Z");
    assert.equal(w.end, END);
    assert.equal(w.basis, "previous");
  });
  test("exactly 90 days back is covered; more is clamped", () => {
    const exact = windowFor(END, prev(new Date(END.getTime() - MAX_LOOKBACK).toISOString()));
    assert.equal(exact.basis, "previous");
    const w = windowFor(END, prev(new Date(END.getTime() - 100 * DAY).toISOString()));
    assert.equal(END.getTime() - w.start.getTime(), 90 * DAY);
    assert.equal(w.basis, "clamped");
  });
  test("a previous end in the future gives an empty window, never an overlap", () => {
    const w = windowFor(END, prev(new Date(END.getTime() + 5000).toISOString()));
    assert.equal(w.start.getTime(), END.getTime());
  });
  test("slices tile the window without gaps or overlap", () => {
    const start = new Date(END.getTime() - 2.5 * DAY);
    const s = slices(start, END);
    assert.equal(s.length, 3);
    assert.equal(s[0]!.start.getTime(), start.getTime());
    for (let i = 1; i < s.length; i++) assert.equal(s[i]!.start.getTime(), s[i - 1]!.end.getTime());
    assert.equal(s.at(-1)!.end.getTime(), END.getTime());
    assert.equal(slices(END, END).length, 1);
  });
});

describe("spot records", () => {
  const table = new SeriesTable();
  const row = (az: string, type: string, t: string, price = "0.100000", in_ = table): SpotRow => ({
    series: in_.of(az, type, "Linux/UNIX"),
    spotPrice: price,
    time: Date.parse(t),
  });
  test("timestamps in the original crawler's Python format", () => {
    assert.equal(pythonIso(new Date("2019-04-28T22:29:01.000Z")), "2019-04-28T22:29:01+00:00");
    assert.equal(pythonIso(new Date("2019-04-28T22:29:01.250Z")), "2019-04-28T22:29:01.250000+00:00");
  });
  /** The records' text as the writer writes them, in chunks of `chunk` bytes, as one JSON array. */
  const written = (w: RecordWriter, rows: SpotRow[], chunk = Infinity): string => {
    const parts: Buffer[] = [];
    for (const r of rows) {
      w.add(r);
      if (w.size >= chunk) parts.push(w.take());
    }
    parts.push(w.take());
    return `[${Buffer.concat(parts).toString("utf8")}]`;
  };
  test("timestamps written as pythonIso writes them, whatever the order of the times", () => {
    const times = [
      Date.parse("2019-04-28T22:29:01.000Z"),
      Date.parse("2019-04-28T22:59:59.999Z"),
      Date.parse("2019-04-28T23:00:00.000Z"),
      Date.parse("2019-04-28T22:00:00.007Z"), // back into an earlier hour
      Date.parse("2019-12-31T23:59:59.050Z"),
      Date.parse("2020-01-01T00:00:00.000Z"),
      0,
      -1, // before the epoch
      Date.parse("0001-01-01T00:00:00.000Z"),
      Date.parse("9999-12-31T23:59:59.999Z"),
      Date.parse("+010000-01-01T00:00:00.000Z"),
    ];
    for (
      let t = Date.parse("2026-03-29T00:59:00.000Z");
      t < Date.parse("2026-03-29T03:01:00.000Z");
      t += 7_777
    )
      times.push(t);
    const rows = times.map((t) => ({ series: table.of("a", "b", "c"), spotPrice: "0.1", time: t }));
    const recs = JSON.parse(written(new RecordWriter(undefined, 100), rows, 100)) as { Timestamp: string }[];
    assert.deepEqual(
      recs.map((r) => r.Timestamp),
      times.map((t) => pythonIso(new Date(t))),
    );
  });
  test("the sample's shape: AWS fields first, then the type's attributes; `,\\n` between records", () => {
    const fragments = new Map([["m5d.12xlarge", attributesFragment({ vcpu: "48", SpotPrice: "x" })]]);
    const rows = [
      row("eu-west-3b", "m5d.12xlarge", "2019-04-28T22:29:01Z", "0.952300"),
      row("a", "b", "2019-04-28T22:29:01Z"),
      row("a", "b", "2019-04-28T22:29:01Z", '1"\\ é'),
    ];
    const text = written(new RecordWriter(fragments), rows);
    assert.deepEqual(JSON.parse(text), [
      {
        AvailabilityZone: "eu-west-3b",
        InstanceType: "m5d.12xlarge",
        ProductDescription: "Linux/UNIX",
        SpotPrice: "0.952300",
        Timestamp: "2019-04-28T22:29:01+00:00",
        vcpu: "48",
      },
      {
        AvailabilityZone: "a",
        InstanceType: "b",
        ProductDescription: "Linux/UNIX",
        SpotPrice: "0.100000",
        Timestamp: "2019-04-28T22:29:01+00:00",
      },
      {
        AvailabilityZone: "a",
        InstanceType: "b",
        ProductDescription: "Linux/UNIX",
        SpotPrice: '1"\\ é', // not a number: JSON.stringify's escapes
        Timestamp: "2019-04-28T22:29:01+00:00",
      },
    ]);
    assert.equal(text.split("\n").length, 3, "one record per line");
  });
  test("a record larger than the chunk grows the buffer; every chunk is whole records", () => {
    const big = new Map([["huge", attributesFragment({ notes: "x".repeat(20_000) })]]);
    const rows = [row("a", "huge", "2026-01-01T00:00:00Z"), row("a", "huge", "2026-01-01T00:00:01Z")];
    const w = new RecordWriter(big, 1000);
    w.add(rows[0]!);
    assert.ok(w.size > 20_000);
    const first = w.take().toString("utf8");
    assert.equal((JSON.parse(first) as { notes: string }).notes.length, 20_000);
    w.add(rows[1]!);
    const rest = w.take().toString("utf8");
    assert.ok(rest.startsWith(",\n{"), "the next chunk continues the array");
    assert.equal((JSON.parse(`[${first}${rest}]`) as unknown[]).length, 2);
  });
  test("duplicates dropped, oldest first then AZ, type, product", () => {
    const rows = [
      row("b", "m5.large", "2026-01-01T00:00:02Z"),
      row("a", "m5.large", "2026-01-01T00:00:02Z"),
      row("a", "c5.large", "2026-01-01T00:00:01Z"),
      row("b", "m5.large", "2026-01-01T00:00:02Z", "0.2"),
      // The same series from another table (a page the SDK read): still a duplicate.
      row("a", "m5.large", "2026-01-01T00:00:02Z", "0.3", new SeriesTable()),
    ];
    const out = sortUnique(rows);
    assert.equal(out.length, 3);
    assert.deepEqual(
      out.map((r) => `${r.series.availabilityZone}/${r.series.instanceType}`),
      ["a/c5.large", "a/m5.large", "b/m5.large"],
    );
    assert.equal(out[1]!.spotPrice, "0.100000", "the first of two copies");
    assert.equal(out[2]!.spotPrice, "0.100000", "the first of two copies");
    assert.ok(
      out.every((r, i) => i === 0 || compareRows(out[i - 1]!, r) < 0),
      "strictly ordered",
    );
  });
});

/** Feeds `text` in chunks of `size` bytes, so every token and multi-byte character can straddle a boundary. */
function chunked(text: string | Buffer, size: number): Readable {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

describe("streaming offer index", () => {
  test("the attributes every product of a type shares, location excluded, whatever the chunking", async () => {
    const aws = new FakeAwsPricing({ regions: [] });
    aws.setRegion("us-east-1", { products: offerProducts() });
    const bytes = aws.offerBytes("us-east-1");
    const want = sharedAttributes(aws.products("us-east-1"));
    for (const size of [1, 7, 4096]) {
      const built = await indexOffer(chunked(bytes, size));
      assert.deepEqual(new Map([...built.types].sort()), new Map([...want].sort()), `chunks of ${size}`);
      assert.equal(built.version, aws.version("us-east-1"));
      assert.equal(built.products, 4);
    }
  });
  test("stops reading after products; a full scan reads everything", async () => {
    const doc = offerStream({ targetBytes: 2_000_000 });
    const parts: Buffer[] = [];
    for await (const c of doc) parts.push(c as Buffer);
    const all = Buffer.concat(parts);
    const early = await indexOffer(chunked(all, 65536));
    assert.ok(early.bytesRead < all.length / 2, `read ${early.bytesRead} of ${all.length}`);
    const full = await indexOffer(chunked(all, 65536), { fullScan: true });
    assert.equal(full.bytesRead, all.length);
    assert.deepEqual(full.types, early.types);
    assert.ok(early.types.size > 5, "types found");
    for (const attrs of early.types.values()) {
      assert.equal(attrs.location, undefined);
      assert.equal(attrs.operatingSystem, undefined, "differs between a type's products");
    }
  });
  test("non-ASCII values split across chunks decode intact", async () => {
    const doc = JSON.stringify({
      version: "1",
      products: {
        A: { attributes: { instanceType: "t.x", note: "Zürich ✓ 東京" } },
        B: { attributes: { instanceType: "t.x", note: "Zürich ✓ 東京", other: "1" } },
      },
      terms: {},
    });
    const built = await indexOffer(chunked(doc, 1));
    assert.deepEqual(built.types.get("t.x"), { instanceType: "t.x", note: "Zürich ✓ 東京" });
  });
  test("a document without products, or broken inside them, is an error", async () => {
    await assert.rejects(
      indexOffer(chunked('{"version":"1","terms":{}}', 5)),
      /no complete top-level "products"/,
    );
    await assert.rejects(
      indexOffer(chunked('{"products":{"A":{"attributes":{"x" 1}}}}', 5)),
      /not valid JSON/,
    );
    await assert.rejects(
      indexOffer(chunked('{"products":{"A":{"attributes":{"x":"1"}', 5)),
      /not valid JSON|products/,
    );
  });
});

test("mapLimit never runs more than the limit at once and keeps input order", async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, n * 3));
    running--;
    return n * 10;
  });
  assert.equal(peak, 2);
  assert.deepEqual(out, [50, 10, 40, 20, 30, 0]);
});

test("the aws partition's Region names: every EC2 Region, no zone, no other partition", () => {
  for (const r of AWS_REGIONS) assert.match(r, AWS_PARTITION_REGION);
  for (const r of [...NOT_EC2_REGIONS, "cn-north-1", "cn-northwest-1", "us-iso-east-1", "eusc-de-east-1"])
    assert.doesNotMatch(r, AWS_PARTITION_REGION, r);
});
