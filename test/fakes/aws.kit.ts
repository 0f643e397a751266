// The fault suite's kits of the AWS fakes (Price List, EC2) and of the AWS sources (test/faults/kit.ts).
import assert from "node:assert/strict";
import { expectedIds, history, idOf, type SpotJson } from "../sources/spot-helpers.js";
import type { FakeKit, SourceKit } from "../faults/kit.js";
import type { Fakes } from "../faults/kits.js";
import { FakeAwsPricing } from "./aws-pricing.js";
import type { VersionedFiles } from "./aws-pricelist-files.js";
import { FakeEc2 } from "./ec2.js";

/** The one spot region of the suite (the fake has history there; CONTRAIL_AWS_REGIONS names it). */
const SPOT_REGION = "eu-west-1";
const HOUR = 3_600_000;
/** The Price List service of aws.services the suite captures (CONTRAIL_AWS_SERVICES names it). */
export const SERVICE = "AmazonRDS";

export const pricingFake: FakeKit<FakeAwsPricing> = {
  async start() {
    const pricing = new FakeAwsPricing({
      regions: ["us-east-1"],
      products: 12,
      services: { [SERVICE]: ["us-east-1"] },
      savingsPlanRegions: ["us-east-1"],
    });
    pricing.savingsPlans.set("us-east-1", { count: 20 });
    await pricing.start();
    return pricing;
  },
  close: (f) => f.close(),
  servers: (f) => [f.server],
  env: (f) => ({ CONTRAIL_AWS_PRICING_URL: f.baseUrl }),
};

export const ec2Fake: FakeKit<FakeEc2> = {
  async start() {
    const ec2 = new FakeEc2();
    const now = Date.now();
    ec2.setHistory(SPOT_REGION, history(SPOT_REGION, new Date(now - 2 * HOUR), new Date(now), 15));
    await ec2.start();
    return ec2;
  },
  close: (f) => f.close(),
  servers: (f) => [f.server],
  clearFaults: (f) => f.clearFaults(),
  env: (f) => ({ AWS_ENDPOINT_URL_EC2: f.endpoint }),
};

export const amazonEc2Kit: SourceKit = {
  region: "us-east-1", // the pricing fake lists only us-east-1
  cutAt: 1_500,
  body: "json",
  target: (f) => ({ server: f.pricing.server, path: f.pricing.offerPath("us-east-1") }),
  check(text, m, f, region) {
    const served = f.pricing.offerBytes(region);
    assert.ok(
      text.equals(served),
      `AmazonEC2 ${region}: the bytes served (${served.length}), got ${text.length}`,
    );
    assert.equal(m.version, f.pricing.version(region));
  },
  config: { regionDelay: "0s" },
};

export const amazonEc2SpotKit: SourceKit = {
  region: SPOT_REGION,
  cutAt: 600,
  body: "xml",
  target: (f) => ({ server: f.ec2.server, path: "/" }),
  check(text, m, f, region) {
    const recs = JSON.parse(text.toString("utf8")) as SpotJson[];
    const want = expectedIds(f.ec2, region, m);
    assert.ok(want.length > 0, "the fake has spot history in the window");
    assert.equal(recs.length, want.length, "every spot record of the window, once");
    assert.deepEqual(recs.map(idOf).sort(), want);
    assert.equal(m.items, recs.length);
  },
  env: () => ({ CONTRAIL_AWS_REGIONS: SPOT_REGION }),
};

/** A Price List file source's kit: the one region of `files`, captured byte for byte with its version. */
function priceListFileKit(
  name: string,
  files: (f: Fakes) => VersionedFiles,
  env?: SourceKit["env"],
): SourceKit {
  return {
    region: "us-east-1",
    cutAt: 1_500,
    body: "json",
    target: (f) => ({ server: f.pricing.server, path: files(f).path("us-east-1") }),
    check(text, m, f, region) {
      const served = files(f).bytes(region);
      assert.ok(
        text.equals(served),
        `${name} ${region}: the bytes served (${served.length}), got ${text.length}`,
      );
      assert.equal(m.version, files(f).version(region));
    },
    config: { regionDelay: "0s" },
    ...(env ? { env } : {}),
  };
}

export const awsComputeSavingsPlanKit = priceListFileKit(
  "AWSComputeSavingsPlan",
  (f) => f.pricing.savingsPlans,
);

/** A source of aws.services: the same offer source as AmazonEC2, made from the configuration. */
export const priceListServiceKit = priceListFileKit(
  SERVICE,
  (f) => f.pricing.service(SERVICE),
  () => ({ CONTRAIL_AWS_SERVICES: SERVICE }),
);
