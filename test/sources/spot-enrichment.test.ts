// Where AmazonEC2Spot's enrichment index comes from: the lake's AmazonEC2 us-east-1 capture first, its persisted
// cache across restarts, a rebuild when the offer version changes, the price list when the lake has no capture,
// and unenriched records (not a failed capture) when there is no offer file at all.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { FakeEc2 } from "../fakes/ec2.js";
import { runCli, tempDir, writeConfig, type CliResult } from "../helpers.js";
import { FAST_HTTP, HOUR, history, manifests, offerProducts, records, spotEnv } from "./spot-helpers.js";

const V1 = "20260110000000";
const V2 = "20260120000000";
const REGION = "eu-west-1";
const cachePath = (lake: string, version: string) =>
  join(lake, "_contrail/cache/spot-enrichment", `${version}.json`);
const said = (r: CliResult, msg: string) => r.logs.filter((l) => l.msg === msg);
/** A fresh m5.large price change, so that the next (seconds-long) window has a record to enrich. */
const tick = (ec2: FakeEc2) =>
  ec2.addHistory(REGION, [
    {
      availabilityZone: `${REGION}a`,
      instanceType: "m5.large",
      productDescription: "Linux/UNIX",
      spotPrice: "0.031000",
      timestamp: new Date(Date.now() - 1),
    },
  ]);

describe("AmazonEC2Spot enrichment index", { concurrency: 2 }, () => {
  let ec2: FakeEc2;

  before(async () => {
    ec2 = new FakeEc2();
    await ec2.start();
    const now = Date.now();
    ec2.setHistory(REGION, history(REGION, new Date(now - 2 * HOUR), new Date(now), 10));
  });
  after(() => ec2.close());

  test("prefers the lake's AmazonEC2 us-east-1 capture, persists the index, rebuilds it on a new version only", async () => {
    const { dir, cleanup } = tempDir();
    const pricing = new FakeAwsPricing({ regions: [] });
    pricing.setRegion("us-east-1", { version: V1, products: offerProducts() });
    const pricingUrl = await pricing.start();
    try {
      writeConfig(dir, { http: FAST_HTTP, sources: { AmazonEC2: { regionDelay: "0s" } } });
      const env = spotEnv(ec2, [REGION], pricingUrl, dir);
      const lake = join(dir, "lake");
      const spot = () => {
        tick(ec2);
        return runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], { cwd: dir, env });
      };
      const ec2Offer = () => runCli(["crawl", "--once", "--source", "AmazonEC2"], { cwd: dir, env });

      assert.equal((await ec2Offer()).code, 0);
      const offers = pricing.offerRequests("us-east-1").length;
      assert.equal(offers, 1);

      const first = await spot();
      assert.equal(first.code, 0, first.stderr);
      assert.equal(
        pricing.offerRequests("us-east-1").length,
        offers,
        "no offer download: the lake's capture is read",
      );
      const [built] = said(first, "spot enrichment index built");
      assert.equal(built?.via, "lake");
      assert.equal(built?.version, V1);
      assert.match(String(built?.from), /^AmazonEC2\/us-east-1\//);
      assert.ok(existsSync(cachePath(lake, V1)), "persisted under _contrail/cache/");
      const cache = JSON.parse(readFileSync(cachePath(lake, V1), "utf8")) as {
        types: Record<string, Record<string, string>>;
      };
      assert.equal(cache.types["m5.large"]?.memory, "8 GiB");
      assert.equal(cache.types["c5.large"]?.clockSpeed, undefined);
      const m5 = records(lake, manifests(lake, REGION).at(-1)!).find((r) => r.InstanceType === "m5.large");
      assert.equal(m5?.memory, "8 GiB");

      // A restart with the same offer version: loaded from the cache, not rebuilt.
      const second = await spot();
      assert.equal(second.code, 0, second.stderr);
      assert.equal(said(second, "spot enrichment index built").length, 0);
      assert.equal(said(second, "spot enrichment index loaded")[0]?.version, V1);

      // A new us-east-1 offer version reaches the lake: the index is rebuilt from it.
      pricing.setRegion("us-east-1", { version: V2, products: offerProducts("9 GiB") });
      assert.equal((await ec2Offer()).code, 0);
      const offersV2 = pricing.offerRequests("us-east-1").length;
      const third = await spot();
      assert.equal(third.code, 0, third.stderr);
      assert.equal(pricing.offerRequests("us-east-1").length, offersV2);
      assert.equal(said(third, "spot enrichment index built")[0]?.version, V2);
      assert.ok(existsSync(cachePath(lake, V2)), "the new version's index is persisted");
      const m5v2 = records(lake, manifests(lake, REGION).at(-1)!).find((r) => r.InstanceType === "m5.large");
      assert.equal(m5v2?.memory, "9 GiB");
    } finally {
      await pricing.close();
      cleanup();
    }
  });

  test("without an AmazonEC2 capture: streamed from the price list once; without any offer file: unenriched", async () => {
    const { dir, cleanup } = tempDir();
    const pricing = new FakeAwsPricing({ regions: [] });
    pricing.setRegion("us-east-1", { version: V1, products: offerProducts() });
    const pricingUrl = await pricing.start();
    try {
      writeConfig(dir, { http: { ...FAST_HTTP, attempts: 2 } });
      const lake = join(dir, "lake");
      const run = (url: string, cwd = dir) => {
        tick(ec2);
        return runCli(["crawl", "--once", "--source", "AmazonEC2Spot"], {
          cwd,
          env: spotEnv(ec2, [REGION], url, dir),
        });
      };

      const first = await run(pricingUrl);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(pricing.offerRequests("us-east-1").length, 1);
      assert.equal(said(first, "spot enrichment index built")[0]?.via, "pricing");
      assert.ok(existsSync(cachePath(lake, V1)), "persisted");

      const second = await run(pricingUrl);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(pricing.offerRequests("us-east-1").length, 1, "not downloaded again");

      // The price list is unreachable: the lake's newest persisted index still enriches, with a warning.
      const offline = "http://127.0.0.1:9";
      const stale = await run(offline);
      assert.equal(stale.code, 0, stale.stderr);
      assert.ok(
        said(stale, "current offer file unavailable; enriching with an older index").length === 1,
        "warned",
      );
      assert.equal(
        records(lake, manifests(lake, REGION).at(-1)!).find((r) => r.InstanceType === "m5.large")?.vcpu,
        "2",
      );

      // Nothing at all to enrich with: the capture still succeeds, unenriched.
      const fresh = tempDir();
      try {
        writeConfig(fresh.dir, { http: { ...FAST_HTTP, attempts: 2 } });
        const none = await run(offline, fresh.dir);
        assert.equal(none.code, 0, none.stderr);
        assert.ok(
          said(none, "no enrichment index (offer file unavailable): spot records go out unenriched")
            .length === 1,
          "warned",
        );
        const freshLake = join(fresh.dir, "lake");
        const recs = records(freshLake, manifests(freshLake, REGION)[0]!);
        assert.ok(recs.length > 0, "captured");
        for (const r of recs) assert.equal(Object.keys(r).length, 5);
      } finally {
        fresh.cleanup();
      }
    } finally {
      await pricing.close();
      cleanup();
    }
  });
});
