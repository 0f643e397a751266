// AmazonEC2Spot's regions against the fake cloud (issue 8 items 1 and 3; SPEC §6): only real EC2 Regions are
// called, whatever else the price-list region index lists; DescribeRegions says which are enabled when allowed;
// regions refused for being disabled (long-term keys, STS credentials, an SCP) are skipped, not failed; an
// AuthFailure in a region DescribeRegions reports as enabled is a failure.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { FakeEc2 } from "../fakes/ec2.js";
import { AWS_REGIONS, NOT_EC2_REGIONS, todaysRegionIndex, type OptInStatus } from "../fakes/ec2-regions.js";
import { runCli, tempDir, writeConfig, type CliResult } from "../helpers.js";
import { FAST_HTTP, HOUR, expectedIds, history, idOf, manifests, records, spotEnv } from "./spot-helpers.js";

const CRAWL = ["crawl", "--once", "--source", "AmazonEC2Spot"];

/** The AmazonEC2Spot row of `contrail sources`. */
async function sourcesRow(cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runCli(["sources"], { cwd, env });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").find((l) => l.startsWith("AmazonEC2Spot")) ?? "";
}

/** Region history for the last two hours, every 20 minutes. */
function withHistory(ec2: FakeEc2, regions: string[]): void {
  const now = Date.now();
  for (const r of regions) ec2.setHistory(r, history(r, new Date(now - 2 * HOUR), new Date(now), 20));
}

describe("AmazonEC2Spot regions", { concurrency: 2 }, () => {
  let pricing: FakeAwsPricing;

  before(async () => {
    // Today's AmazonEC2 region index: Regions, Local and Wavelength Zones, GovCloud, another partition's zone.
    pricing = new FakeAwsPricing({ regions: todaysRegionIndex(), products: 2 });
    await pricing.start();
  });
  after(() => pricing.close());

  /** Runs the crawl without CONTRAIL_AWS_REGIONS: the crawler finds its regions itself. */
  async function crawl(ec2: FakeEc2, dir: string): Promise<{ r: CliResult; env: NodeJS.ProcessEnv }> {
    writeConfig(dir, { http: FAST_HTTP });
    const env = spotEnv(ec2, [], pricing.baseUrl, dir, { CONTRAIL_AWS_REGIONS: undefined });
    return { r: await runCli(CRAWL, { cwd: dir, env }), env };
  }

  test("today's region index, no ec2:DescribeRegions: every EC2 Region captured, no zone called, nothing failed", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    try {
      ec2.denyDescribeRegions = true;
      withHistory(ec2, AWS_REGIONS);
      const { r, env } = await crawl(ec2, dir);
      assert.equal(r.code, 0, r.stderr);
      const lake = join(dir, "lake");
      for (const region of AWS_REGIONS) {
        const [m] = manifests(lake, region);
        assert.ok(m, `${region} captured`);
        assert.deepEqual(records(lake, m).map(idOf).sort(), expectedIds(ec2, region, m));
      }
      const called = new Set(ec2.calls.map((c) => c.region));
      for (const zone of NOT_EC2_REGIONS) assert.ok(!called.has(zone), `${zone} is not called`);
      assert.deepEqual(manifests(lake, "us-west-2-lax-1"), []);
      assert.equal(ec2.calls.filter((c) => c.action === "DescribeRegions").length, 1, "asked once");
      assert.ok(
        !r.logs.some(
          (l) => (l.level === "warn" || l.level === "error") && /lax|wlz|pkx|gov/.test(JSON.stringify(l)),
        ),
        "zones are no warning or error",
      );
      const row = await sourcesRow(dir, env);
      assert.doesNotMatch(row, /failed|skipped/);
      assert.match(row, new RegExp(` ${AWS_REGIONS.length} ok`));
    } finally {
      await ec2.close();
      cleanup();
    }
  });

  test("DescribeRegions: enabled Regions only; not opted in: never called, skipped with one warning; AuthFailure where enabled: failed", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    try {
      const account: [string, OptInStatus][] = [
        ["us-east-1", "opt-in-not-required"],
        ["eu-west-1", "opt-in-not-required"],
        ["me-central-1", "opted-in"],
        ["ap-east-1", "not-opted-in"],
        ["af-south-1", "not-opted-in"],
      ];
      ec2.regionStatus = new Map(account);
      withHistory(ec2, ["us-east-1", "eu-west-1", "me-central-1"]);
      // Enabled, yet the credentials are refused there (e.g. session tokens of the global STS endpoint).
      ec2.fail("me-central-1", 100, {
        status: 401,
        code: "AuthFailure",
        message: "AWS was not able to validate the provided access credentials",
      });
      const { r, env } = await crawl(ec2, dir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /AmazonEC2Spot me-central-1 failed: AWS refused the credentials in me-central-1 \(AuthFailure\), which DescribeRegions reports as enabled/,
      );
      const lake = join(dir, "lake");
      for (const region of ["us-east-1", "eu-west-1"])
        assert.equal(manifests(lake, region).length, 1, region);
      assert.deepEqual(manifests(lake, "me-central-1"), []);
      assert.equal(ec2.callsFor("ap-east-1").length + ec2.callsFor("af-south-1").length, 0, "never called");
      const describe = ec2.calls.filter((c) => c.action === "DescribeRegions");
      assert.deepEqual(
        describe.map((c) => [c.region, c.raw.AllRegions]),
        [["us-east-1", "true"]],
      );
      const warnings = r.logs.filter((l) => l.level === "warn" && /ap-east-1/.test(JSON.stringify(l)));
      assert.equal(warnings.length, 1, "one warning names the regions not enabled");
      assert.deepEqual(warnings[0]!.regions, ["af-south-1", "ap-east-1"]);
      const row = await sourcesRow(dir, env);
      assert.match(
        row,
        /skipped af-south-1, ap-east-1: region not enabled for this account \(not-opted-in\)/,
      );
      assert.match(row, /failed in me-central-1/);
    } finally {
      await ec2.close();
      cleanup();
    }
  });

  test("refusals of STS credentials and SCPs in regions not enabled are skipped regions, not failures", async () => {
    const { dir, cleanup } = tempDir();
    const ec2 = new FakeEc2();
    await ec2.start();
    const index = new FakeAwsPricing({
      regions: ["eu-west-1", "ap-east-1", "me-south-1", "eu-south-1", "il-central-1", "us-west-2-lax-1"],
      products: 2,
    });
    const indexUrl = await index.start();
    try {
      ec2.denyDescribeRegions = true;
      withHistory(ec2, ["eu-west-1", "ap-east-1", "me-south-1", "eu-south-1", "il-central-1"]);
      ec2.disableRegion("ap-east-1", "RegionDisabledException");
      ec2.disableRegion("me-south-1", "InvalidClientTokenId");
      ec2.disableRegion("il-central-1", "AuthFailure");
      ec2.denyRegion("eu-south-1");
      writeConfig(dir, { http: FAST_HTTP });
      const env = spotEnv(ec2, [], indexUrl, dir, { CONTRAIL_AWS_REGIONS: undefined });
      const r = await runCli(CRAWL, { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(manifests(join(dir, "lake"), "eu-west-1").length, 1);
      const expected: [string, string][] = [
        ["ap-east-1", "region not enabled for this account (RegionDisabledException)"],
        ["me-south-1", "region not enabled for this account (InvalidClientTokenId)"],
        ["il-central-1", "region not enabled for this account (AuthFailure)"],
        ["eu-south-1", "region denied for these credentials (UnauthorizedOperation)"],
      ];
      for (const [region, reason] of expected) {
        const warnings = r.logs.filter((l) => l.region === region && l.level === "warn");
        assert.deepEqual(
          warnings.map((w) => w.reason),
          [reason],
          `${region}: one warning`,
        );
        assert.equal(ec2.callsFor(region).length, 1, `${region}: asked once, not retried`);
      }
      assert.equal(ec2.callsFor("us-west-2-lax-1").length, 0);
      const row = await sourcesRow(dir, env);
      assert.doesNotMatch(row, /failed/);
      assert.match(row, /skipped ap-east-1: region not enabled for this account \(RegionDisabledException\)/);
      assert.match(row, /skipped eu-south-1: region denied for these credentials \(UnauthorizedOperation\)/);
    } finally {
      await Promise.all([ec2.close(), index.close()]);
      cleanup();
    }
  });
});
