// Shared fixtures of the AmazonEC2Spot tests: a spot history, an offer catalogue with a disagreeing type, and
// readers for what a run left in the lake.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { OfferProduct, ProductInput } from "../fakes/aws-pricing.js";
import { generateHistory, type FakeEc2, type SpotRecord } from "../fakes/ec2.js";
import { cleanEnv } from "../helpers.js";
import type { Manifest } from "../../src/types.js";

export const SPOT_TYPES = ["m5.large", "c5.large", "zz9.huge"]; // zz9.huge: not in the offer file
export const SPOT_PRODUCTS = ["Linux/UNIX", "Windows"];
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** us-east-1 products: m5.large agrees except on OS; c5.large disagrees on clockSpeed and lacks a processor once. */
export function offerProducts(m5Memory = "8 GiB"): ProductInput[] {
  return [
    { attributes: { instanceType: "m5.large", memory: m5Memory } },
    {
      attributes: {
        instanceType: "m5.large",
        memory: m5Memory,
        operatingSystem: "Windows",
        operation: "RunInstances:0002",
      },
    },
    { attributes: { instanceType: "c5.large", clockSpeed: "3.4 GHz" } },
    { attributes: { instanceType: "c5.large", clockSpeed: "3.6 GHz", physicalProcessor: null } },
    { productFamily: "Storage", attributes: { instanceType: null, volumeApiName: "gp3" } },
  ];
}

const EXCLUDED = ["location", "locationType", "regionCode"];

/** What enrichment should add per type, computed independently from the fake's products. */
export function sharedAttributes(products: OfferProduct[]): Map<string, Record<string, string>> {
  const byType = new Map<string, Record<string, string>[]>();
  for (const p of products) {
    const t = p.attributes.instanceType;
    if (t === undefined) continue;
    byType.set(t, [...(byType.get(t) ?? []), p.attributes]);
  }
  const out = new Map<string, Record<string, string>>();
  for (const [t, list] of byType) {
    const shared: Record<string, string> = {};
    for (const [k, v] of Object.entries(list[0]!)) {
      if (EXCLUDED.includes(k)) continue;
      if (list.every((a) => a[k] === v)) shared[k] = v;
    }
    out.set(t, shared);
  }
  return out;
}

export function history(region: string, from: Date, to: Date, everyMinutes: number): SpotRecord[] {
  return generateHistory({ region, from, to, types: SPOT_TYPES, products: SPOT_PRODUCTS, everyMinutes });
}

export interface SpotJson {
  AvailabilityZone: string;
  InstanceType: string;
  ProductDescription: string;
  SpotPrice: string;
  Timestamp: string;
  [attr: string]: string;
}

export function spotEnv(
  ec2: FakeEc2,
  regions: string[],
  pricingUrl: string,
  home: string,
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  return cleanEnv({
    HOME: home,
    AWS_ENDPOINT_URL_EC2: ec2.endpoint,
    AWS_ACCESS_KEY_ID: "AKIDSPOTTEST",
    AWS_SECRET_ACCESS_KEY: "spot-test-secret",
    CONTRAIL_AWS_REGIONS: regions.join(","),
    CONTRAIL_AWS_PRICING_URL: pricingUrl,
    ...extra,
  });
}

export const FAST_HTTP = {
  attempts: 4,
  baseDelay: "10ms",
  maxDelay: "50ms",
  connectTimeout: "10s",
  stallTimeout: "10s",
};

/** Manifests of a source and region, oldest first. */
export function manifests(lake: string, region: string, source = "AmazonEC2Spot"): Manifest[] {
  const dir = join(lake, "_contrail/manifests", source, region);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")) as Manifest);
}

export function records(lake: string, m: Manifest): SpotJson[] {
  return JSON.parse(gunzipSync(readFileSync(join(lake, m.key))).toString("utf8")) as SpotJson[];
}

/** Identity plus price of a record: what must match between the lake and the fake. */
export function idOf(r: SpotJson): string {
  return `${r.AvailabilityZone}|${r.InstanceType}|${r.ProductDescription}|${Date.parse(r.Timestamp)}|${r.SpotPrice}`;
}

export function idOfRecord(r: SpotRecord): string {
  return `${r.availabilityZone}|${r.instanceType}|${r.productDescription}|${r.timestamp.getTime()}|${r.spotPrice}`;
}

/** Every record the fake holds for a manifest's window: [start, end), plus each series' price in effect at start. */
export function expectedIds(ec2: FakeEc2, region: string, m: Manifest): string[] {
  const start = new Date(m.window!.start);
  const end = new Date(m.window!.end);
  const ids = ec2
    .expected(region, { startTime: start, endTime: end })
    .filter((r) => r.timestamp < end)
    .map(idOfRecord);
  return [...new Set(ids)].sort();
}

export const PY_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;
