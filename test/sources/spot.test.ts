// AmazonEC2Spot end to end: the real CLI against the fake EC2 Query API (real AWS SDK) and the fake price list.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { FakeEc2 } from "../fakes/ec2.js";
import { runCli, tempDir, writeConfig } from "../helpers.js";
import type { Manifest } from "../../src/types.js";
import {
  DAY,
  FAST_HTTP,
  HOUR,
  PY_TIMESTAMP,
  expectedIds,
  history,
  idOf,
  manifests,
  offerProducts,
  records,
  sharedAttributes,
  spotEnv,
  type SpotJson,
} from "./spot-helpers.js";

const BASE = ["AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp"];

function sortedCopy(rs: SpotJson[]): SpotJson[] {
  return [...rs].sort(
    (a, b) =>
      Date.parse(a.Timestamp) - Date.parse(b.Timestamp) ||
      (a.AvailabilityZone < b.AvailabilityZone ? -1 : a.AvailabilityZone > b.AvailabilityZone ? 1 : 0) ||
      (a.InstanceType < b.InstanceType ? -1 : a.InstanceType > b.InstanceType ? 1 : 0) ||
      (a.ProductDescription < b.ProductDescription
        ? -1
        : a.ProductDescription > b.ProductDescription
          ? 1
          : 0),
  );
}

// The tests are independent (own fakes where requests are counted, own lakes): two run at a time.
describe("AmazonEC2Spot through the CLI", { concurrency: 2 }, () => {
  let pricing: FakeAwsPricing;
  let pricingUrl: string;

  before(async () => {
    pricing = new FakeAwsPricing({ regions: [] });
    pricing.setRegion("us-east-1", { products: offerProducts() });
    pricingUrl = await pricing.start();
  });
  after(() => pricing.close());

  test("--once over several regions: one complete, deduplicated, ordered, enriched capture per region", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    const own = new FakeAwsPricing({ regions: [] }); // offer requests are counted: nobody else's
    own.setRegion("us-east-1", { products: offerProducts() });
    const ownUrl = await own.start();
    try {
      const regions = ["eu-west-1", "us-west-2", "ap-northeast-1"];
      const now = Date.now();
      // Dense enough that a 60-minute window spans several 1000-record pages.
      for (const r of regions) ec2.setHistory(r, history(r, new Date(now - 2 * HOUR), new Date(now), 0.5));
      // EC2 can return a record twice: the lake must hold it once.
      const dup = ec2.history("eu-west-1").find((r) => r.timestamp.getTime() > now - 30 * 60_000)!;
      ec2.addHistory("eu-west-1", [{ ...dup }]);
      writeConfig(dir, { http: FAST_HTTP });
      const offersBefore = own.offerRequests("us-east-1").length;

      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
        cwd: dir,
        env: spotEnv(ec2, regions, ownUrl, dir),
      });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const lake = join(dir, "lake");
      const shared = sharedAttributes(own.products("us-east-1"));
      assert.deepEqual([...shared.keys()].sort(), ["c5.large", "m5.large"]);

      for (const region of regions) {
        const ms = manifests(lake, region);
        assert.equal(ms.length, 1, `one capture for ${region}`);
        const m = ms[0]!;
        assert.match(
          m.key,
          new RegExp(
            `^AmazonEC2Spot/${region}/\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\.json\\.gz$`,
          ),
        );
        assert.equal(m.window!.end, m.capturedAt, "the window ends at the capture's start");
        assert.equal(
          Date.parse(m.window!.end) - Date.parse(m.window!.start),
          HOUR,
          "first window: 60 minutes",
        );
        assert.ok(m.pages! >= 2, `several pages (${m.pages})`);
        assert.match(m.urls[0]!, /DescribeSpotPriceHistory/);

        const recs = records(lake, m);
        assert.equal(m.items, recs.length);
        const ids = recs.map(idOf);
        assert.equal(new Set(ids).size, ids.length, "no duplicates");
        // First capture: every change in the window plus the price in effect at its start, for every series.
        assert.deepEqual([...ids].sort(), expectedIds(ec2, region, m));
        assert.ok(
          recs.some((x) => Date.parse(x.Timestamp) < Date.parse(m.window!.start)),
          "prices in effect kept",
        );
        assert.deepEqual(recs, sortedCopy(recs), "oldest first, then AZ, type, product");

        for (const rec of recs) {
          assert.deepEqual(Object.keys(rec).slice(0, 5), BASE);
          assert.match(rec.Timestamp, PY_TIMESTAMP);
          assert.match(rec.SpotPrice, /^\d+\.\d{6}$/);
          assert.equal(rec.location, undefined);
          assert.equal(rec.locationType, undefined);
          const want = shared.get(rec.InstanceType);
          const {
            AvailabilityZone: _a,
            InstanceType: _t,
            ProductDescription: _p,
            SpotPrice: _s,
            Timestamp: _ts,
            ...attrs
          } = rec;
          assert.deepEqual(attrs, want ?? {}, `enrichment of ${rec.InstanceType}`);
        }
        const m5 = recs.find((x) => x.InstanceType === "m5.large")!;
        assert.equal(m5.vcpu, "2");
        assert.equal(m5.memory, "8 GiB");
        assert.equal(m5.instanceType, "m5.large");
        assert.equal(m5.physicalProcessor, "Intel Xeon Platinum 8175");
        assert.equal(m5.operatingSystem, undefined, "differs between m5.large products: dropped");
        const c5 = recs.find((x) => x.InstanceType === "c5.large")!;
        assert.equal(c5.vcpu, "2");
        assert.equal(c5.clockSpeed, undefined, "disagreeing attribute dropped");
        assert.equal(c5.physicalProcessor, undefined, "attribute missing from one product dropped");
        const unknown = recs.filter((x) => x.InstanceType === "zz9.huge");
        assert.ok(unknown.length > 0, "unknown type kept");
        for (const u of unknown) assert.deepEqual(Object.keys(u), BASE, "unknown type unenriched");
      }
      // No AmazonEC2 capture in this lake: the index came from the price list, once, and was persisted.
      assert.equal(own.offerRequests("us-east-1").length, offersBefore + 1);
    } finally {
      await own.close();
      await ec2.close();
      cleanup();
    }
  });

  test("two runs in a row: the second window starts exactly where the first ended", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    try {
      const region = "eu-central-1";
      const now = Date.now();
      ec2.setHistory(region, history(region, new Date(now - 2 * HOUR), new Date(now), 5));
      writeConfig(dir, { http: FAST_HTTP });
      const env = spotEnv(ec2, [region], pricingUrl, dir);
      const lake = join(dir, "lake");
      assert.equal(
        (await runCli(["crawl", "--once", "--source", "amazonec2spot"], { cwd: dir, env })).code,
        0,
      );
      const [m1] = manifests(lake, region) as [Manifest];
      // A price change stamped exactly at the boundary belongs to the second window, not the first.
      const boundary = new Date(m1.window!.end);
      ec2.addHistory(region, [
        {
          availabilityZone: `${region}a`,
          instanceType: "m5.large",
          productDescription: "Linux/UNIX",
          spotPrice: "0.012345",
          timestamp: boundary,
        },
      ]);
      const second = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], { cwd: dir, env });
      assert.equal(second.code, 0, second.stderr);
      const [, m2] = manifests(lake, region) as [Manifest, Manifest];
      assert.equal(m2.window!.start, m1.window!.end);
      assert.equal(m2.window!.end, m2.capturedAt);
      const recs2 = records(lake, m2);
      assert.deepEqual(recs2.map(idOf).sort(), expectedIds(ec2, region, m2));
      // Self-contained: every series has its price in force at the window's start, stamped with the earlier time
      // AWS returns it with, though that price was already in the first capture.
      const seriesOf = (x: SpotJson) => `${x.AvailabilityZone}|${x.InstanceType}|${x.ProductDescription}`;
      const series = new Set(
        ec2.history(region).map((x) => `${x.availabilityZone}|${x.instanceType}|${x.productDescription}`),
      );
      const inForce = recs2.filter((x) => Date.parse(x.Timestamp) < boundary.getTime());
      assert.deepEqual(new Set(inForce.map(seriesOf)), series, "one price in force per series");
      assert.equal(inForce.length, series.size);
      assert.ok(
        inForce.every((x) => records(lake, m1).some((y) => idOf(y) === idOf(x))),
        "the same prices as before",
      );
      const atBoundary = recs2.find((x) => x.SpotPrice === "0.012345");
      assert.ok(atBoundary, "the boundary record is in the second capture");
      const ms = boundary.getUTCMilliseconds();
      assert.equal(
        atBoundary.Timestamp,
        `${boundary.toISOString().slice(0, 19)}${ms ? `.${String(ms).padStart(3, "0")}000` : ""}+00:00`,
      );
      assert.ok(!records(lake, m1).some((x) => x.SpotPrice === "0.012345"), "and not in the first");
    } finally {
      await ec2.close();
      cleanup();
    }
  });

  test("after downtime the next capture covers the whole gap; a gap over 90 days is clamped", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    try {
      const now = Date.now();
      ec2.setHistory("us-east-2", history("us-east-2", new Date(now - 8 * HOUR), new Date(now), 10));
      ec2.setHistory("sa-east-1", history("sa-east-1", new Date(now - 100 * DAY), new Date(now), 12 * 60));
      writeConfig(dir, { http: FAST_HTTP });
      const lake = join(dir, "lake");
      const env = spotEnv(ec2, ["us-east-2"], pricingUrl, dir);
      assert.equal(
        (await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], { cwd: dir, env })).code,
        0,
      );
      // Pretend the crawler has been down for five hours since that capture.
      const [m1] = manifests(lake, "us-east-2") as [Manifest];
      const end = Date.parse(m1.window!.end) - 5 * HOUR;
      m1.window = { start: new Date(end - HOUR).toISOString(), end: new Date(end).toISOString() };
      writeFileSync(join(lake, "_contrail/manifests", m1.key.replace(/\.gz$/, "")), JSON.stringify(m1));
      // sa-east-1 was last captured 100 days ago.
      const old = new Date(now - 100 * DAY);
      const oldKey = `AmazonEC2Spot/sa-east-1/${old.toISOString()}.json.gz`;
      mkdirSync(join(lake, "_contrail/manifests/AmazonEC2Spot/sa-east-1"), { recursive: true });
      writeFileSync(
        join(lake, "_contrail/manifests", oldKey.replace(/\.gz$/, "")),
        JSON.stringify({
          ...m1,
          region: "sa-east-1",
          key: oldKey,
          capturedAt: old.toISOString(),
          window: { start: new Date(old.getTime() - HOUR).toISOString(), end: old.toISOString() },
        }),
      );

      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
        cwd: dir,
        env: spotEnv(ec2, ["us-east-2", "sa-east-1"], pricingUrl, dir),
      });
      assert.equal(r.code, 0, r.stderr);
      const m2 = manifests(lake, "us-east-2")[1]!;
      assert.equal(m2.window!.start, new Date(end).toISOString(), "starts where the last capture ended");
      assert.ok(Date.parse(m2.window!.end) - Date.parse(m2.window!.start) > 5 * HOUR, "longer than the gap");
      const recs = records(lake, m2);
      assert.deepEqual(recs.map(idOf).sort(), expectedIds(ec2, "us-east-2", m2));
      assert.ok(recs.length > 100, `the whole gap (${recs.length} records)`);

      const c = manifests(lake, "sa-east-1").at(-1)!;
      assert.equal(Date.parse(c.window!.end) - Date.parse(c.window!.start), 90 * DAY, "clamped to 90 days");
      assert.equal(c.window!.end, c.capturedAt);
      // After a clamped gap the history resumes with the prices in effect at the window's start.
      assert.deepEqual(records(lake, c).map(idOf).sort(), expectedIds(ec2, "sa-east-1", c));
      assert.ok(
        r.logs.some((l) => l.region === "sa-east-1" && l.level === "warn" && /90 days/.test(String(l.msg))),
        "the clamped gap is a warning",
      );
      // A 90-day window is fetched in day-sized slices: bounded memory, every page of each.
      assert.ok(ec2.callsFor("sa-east-1").length >= 90, "one query per day-slice");
    } finally {
      await ec2.close();
      cleanup();
    }
  });

  test("throttled calls are retried into complete captures; regions not enabled are skipped with one warning", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    try {
      const now = Date.now();
      const regions = ["eu-west-1", "us-west-2", "me-south-1", "ap-east-1"];
      for (const r of regions) ec2.setHistory(r, history(r, new Date(now - 2 * HOUR), new Date(now), 1));
      ec2.throttle("eu-west-1", 2);
      ec2.throttle("us-west-2", 1);
      ec2.disableRegion("me-south-1");
      ec2.disableRegion("ap-east-1", "OptInRequired");
      writeConfig(dir, { http: FAST_HTTP });
      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
        cwd: dir,
        env: spotEnv(ec2, regions, pricingUrl, dir),
      });
      assert.equal(r.code, 0, r.stderr);
      const lake = join(dir, "lake");
      for (const region of ["eu-west-1", "us-west-2"]) {
        const [m] = manifests(lake, region) as [Manifest];
        assert.ok(m, `${region} captured`);
        assert.deepEqual(records(lake, m).map(idOf).sort(), expectedIds(ec2, region, m));
      }
      assert.equal(ec2.callsFor("eu-west-1").filter((c) => c.error === "RequestLimitExceeded").length, 2);
      assert.equal(ec2.callsFor("us-west-2").filter((c) => c.status === 503).length, 1);
      for (const [region, code] of [
        ["me-south-1", "AuthFailure"],
        ["ap-east-1", "OptInRequired"],
      ] as const) {
        assert.deepEqual(manifests(lake, region), [], `${region}: nothing captured`);
        const warnings = r.logs.filter((l) => l.region === region && l.level === "warn");
        assert.equal(warnings.length, 1, `one warning for ${region}`);
        assert.equal(warnings[0]!.reason, `region not enabled for this account (${code})`);
        assert.equal(ec2.callsFor(region).length, 1, "not retried");
      }
      // `contrail sources` shows them as such, from the latest run's status in the lake.
      const sources = await runCli(["sources"], { cwd: dir, env: spotEnv(ec2, regions, pricingUrl, dir) });
      const row = sources.stdout.split("\n").find((l) => l.startsWith("AmazonEC2Spot"));
      assert.match(row ?? "", /skipped me-south-1: region not enabled for this account \(AuthFailure\)/);
      assert.match(row ?? "", /skipped ap-east-1: region not enabled for this account \(OptInRequired\)/);
      assert.match(row ?? "", / 2 ok/);
    } finally {
      await ec2.close();
      cleanup();
    }
  });

  test("a region that keeps failing fails alone; credentials refused everywhere fail the run", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    try {
      const now = Date.now();
      for (const r of ["eu-west-1", "us-west-2"])
        ec2.setHistory(r, history(r, new Date(now - 2 * HOUR), new Date(now), 10));
      ec2.fail("us-west-2", 100, {
        status: 500,
        code: "InternalError",
        message: "An internal error has occurred",
      });
      writeConfig(dir, { http: { ...FAST_HTTP, attempts: 2 } });
      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
        cwd: dir,
        env: spotEnv(ec2, ["eu-west-1", "us-west-2"], pricingUrl, dir),
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /AmazonEC2Spot us-west-2 failed: .*InternalError/);
      const lake = join(dir, "lake");
      assert.equal(manifests(lake, "eu-west-1").length, 1, "the other region is captured");
      assert.equal(manifests(lake, "us-west-2").length, 0);

      ec2.accessKeyId = "AKIDSOMEONEELSE"; // every call now fails with AuthFailure
      const refused = await runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
        cwd: dir,
        env: spotEnv(ec2, ["eu-west-1", "me-south-1"], pricingUrl, dir),
      });
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /AmazonEC2Spot eu-west-1 failed: AWS refused the credentials in every region/,
      );
    } finally {
      await ec2.close();
      cleanup();
    }
  });

  test("`contrail sources` names the missing AWS credentials, and shows the source on when they are set", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const off = await runCli(["sources"], {
        cwd: dir,
        env: spotEnv(new FakeEc2(), [], pricingUrl, dir, {
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
          AWS_ENDPOINT_URL_EC2: undefined,
          CONTRAIL_AWS_REGIONS: undefined,
        }),
      });
      assert.equal(off.code, 0, off.stderr);
      const row = off.stdout.split("\n").find((l) => l.startsWith("AmazonEC2Spot"));
      assert.ok(row, off.stdout);
      assert.match(
        row,
        /off: needs AWS credentials \(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE/,
      );

      const on = await runCli(["sources"], {
        cwd: dir,
        env: spotEnv(new FakeEc2(), ["eu-west-1"], pricingUrl, dir),
      });
      assert.match(
        on.stdout.split("\n").find((l) => l.startsWith("AmazonEC2Spot"))!,
        /enabled/,
      );
      writeConfig(dir, { sources: { AmazonEC2Spot: { enabled: true } } });
      const role = await runCli(["sources"], {
        cwd: dir,
        env: spotEnv(new FakeEc2(), [], pricingUrl, dir, {
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
        }),
      });
      assert.match(
        role.stdout.split("\n").find((l) => l.startsWith("AmazonEC2Spot"))!,
        /enabled/,
        "instance role",
      );
    } finally {
      cleanup();
    }
  });
});
