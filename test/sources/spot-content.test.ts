// The exact bytes of an AmazonEC2Spot capture: what the fake EC2 API served, written by an independent reference
// (JSON.stringify of each record as an object, `,\n` between records, Python timestamps) must be what the lake holds,
// byte for byte, through every fast path of the crawler (page reader, dedup, sort, record text). The history has
// the awkward parts: XML escapes, non-ASCII and astral characters, quotes and backslashes (also in an enrichment
// value), millisecond timestamps, a record at the window's start and at a slice boundary, duplicates with another
// price, an unknown instance type, and a window of two day-slices.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { FakeEc2, generateHistory, type SpotRecord } from "../fakes/ec2.js";
import { runCli, tempDir, writeConfig } from "../helpers.js";
import type { Manifest } from "../../src/types.js";
import { DAY, FAST_HTTP, HOUR, manifests, offerProducts, sharedAttributes, spotEnv } from "./spot-helpers.js";

const REGION = "eu-west-3";
const ODD_PRODUCT = `SUSE & <"Linux"> \\ 'É' 😀`;

/** Python's isoformat() of an aware UTC time: whole seconds, or six fraction digits. */
function py(d: Date): string {
  const ms = d.getUTCMilliseconds();
  return `${d.toISOString().slice(0, 19)}${ms ? `.${String(ms).padStart(3, "0")}000` : ""}+00:00`;
}

/** The capture's content as the SPEC describes it, from what EC2 returns for the window (in EC2's order). */
function reference(served: SpotRecord[], end: Date, attrs: Map<string, Record<string, string>>): string {
  const seen = new Set<string>();
  const kept: SpotRecord[] = [];
  for (const r of served) {
    if (r.timestamp >= end) continue; // EndTime is inclusive; the next window starts there
    const id = `${r.availabilityZone}|${r.instanceType}|${r.productDescription}|${r.timestamp.getTime()}`;
    if (seen.has(id)) continue; // the first of two copies
    seen.add(id);
    kept.push(r);
  }
  const by = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  kept.sort(
    (a, b) =>
      a.timestamp.getTime() - b.timestamp.getTime() ||
      by(a.availabilityZone, b.availabilityZone) ||
      by(a.instanceType, b.instanceType) ||
      by(a.productDescription, b.productDescription),
  );
  const texts = kept.map((r) =>
    JSON.stringify({
      AvailabilityZone: r.availabilityZone,
      InstanceType: r.instanceType,
      ProductDescription: r.productDescription,
      SpotPrice: r.spotPrice,
      Timestamp: py(r.timestamp),
      ...attrs.get(r.instanceType),
    }),
  );
  return `[${texts.join(",\n")}]`;
}

test("a spot capture is, byte for byte, the records EC2 served, deduplicated, sorted and enriched", async () => {
  const { dir, cleanup } = tempDir();
  const ec2 = new FakeEc2();
  const pricing = new FakeAwsPricing({ regions: [] });
  // An attribute value with a quote, a backslash and non-ASCII: the enrichment fragment is JSON text too.
  pricing.setRegion("us-east-1", { products: offerProducts(`8 "GiB" \\ ü`) });
  try {
    const pricingUrl = await pricing.start();
    await ec2.start();
    const now = Date.now();
    // The previous capture ended 30 hours ago (to the millisecond): this window is two day-slices.
    const start = new Date(now - 30 * HOUR + 437);
    const sliceEdge = new Date(start.getTime() + DAY);
    const history = generateHistory({
      region: REGION,
      from: new Date(start.getTime() - 2 * HOUR),
      to: new Date(now),
      types: ["m5.large", "c5.large", "zz9.huge"],
      products: ["Linux/UNIX", "Windows", ODD_PRODUCT],
      everyMinutes: 40,
    });
    const at = (t: Date, price: string, product = "Linux/UNIX"): SpotRecord => ({
      availabilityZone: `${REGION}a`,
      instanceType: "m5.large",
      productDescription: product,
      spotPrice: price,
      timestamp: t,
    });
    const dupOf = history.find((r) => r.timestamp > sliceEdge)!;
    ec2.setHistory(REGION, [
      ...history,
      at(start, "0.011111"),
      at(sliceEdge, "0.022222", ODD_PRODUCT),
      at(new Date(sliceEdge.getTime() - 1), "0.033333"),
      at(new Date(now - HOUR + 5), "0.044444", "Windows"),
      { ...dupOf, spotPrice: "9.999999" }, // served after the original: the original is kept
    ]);

    const lake = join(dir, "lake");
    const prevKey = `AmazonEC2Spot/${REGION}/${new Date(start.getTime() - HOUR).toISOString()}.json.gz`;
    mkdirSync(join(lake, "_contrail/manifests/AmazonEC2Spot", REGION), { recursive: true });
    const prev = {
      manifestVersion: 1,
      kind: "capture",
      source: "AmazonEC2Spot",
      region: REGION,
      key: prevKey,
      capturedAt: new Date(start.getTime() - HOUR).toISOString(),
      finishedAt: start.toISOString(),
      sha256: "0".repeat(64),
      bytes: 2,
      storedBytes: 22,
      urls: ["x"],
      window: { start: new Date(start.getTime() - 2 * HOUR).toISOString(), end: start.toISOString() },
      crawler: { name: "contrail", version: "0.0.0-test" },
    };
    writeFileSync(join(lake, "_contrail/manifests", prevKey.replace(/\.gz$/, "")), JSON.stringify(prev));
    writeConfig(dir, { http: FAST_HTTP });

    const r = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
      cwd: dir,
      env: spotEnv(ec2, [REGION], pricingUrl, dir),
    });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const m = manifests(lake, REGION).at(-1) as Manifest;
    assert.equal(m.window!.start, start.toISOString(), "continues the previous window");
    const end = new Date(m.window!.end);
    assert.ok(end.getTime() - start.getTime() > DAY, "two day-slices");

    const served = ec2.expected(REGION, { startTime: start, endTime: end });
    const want = Buffer.from(reference(served, end, sharedAttributes(pricing.products("us-east-1"))));
    const got = gunzipSync(readFileSync(join(lake, m.key)));
    assert.ok(want.includes(Buffer.from(JSON.stringify(ODD_PRODUCT))), "the odd product is in the window");
    assert.ok(want.includes(Buffer.from('"Timestamp":"')), "records in the window");
    assert.equal(got.toString("utf8"), want.toString("utf8"));
    assert.equal(m.sha256, createHash("sha256").update(want).digest("hex"));
    assert.equal(m.bytes, want.length);
    assert.equal(m.items, (JSON.parse(want.toString("utf8")) as unknown[]).length);
  } finally {
    await ec2.close();
    await pricing.close();
    cleanup();
  }
});
