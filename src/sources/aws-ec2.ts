// AmazonEC2: every region's EC2 offer file from the public AWS Price List bulk API (SPEC §4), byte for byte.
import { schemas } from "../config/schema.js";
import { setting } from "../config/settings.js";
import { ContrailError } from "../errors.js";
import type { HttpClient, JsonShape, Manifest, RunContext } from "../types.js";
import { defineSource } from "./define.js";
import { runUnits, type Unit, type UnitResult } from "./run-units.js";

const HOUR = 3_600_000;

export const OFFER_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["formatVersion", "offerCode", "version", "products", "terms"],
  captureKeys: ["version", "publicationDate", "offerCode"],
};

export interface RegionIndexEntry {
  regionCode: string;
  currentVersionUrl: string;
}

export const REGION_INDEX_PATH = "/offers/v1.0/aws/AmazonEC2/current/region_index.json";

/** The EC2 price-list region index: every region with its current offer file's (relative) URL. */
export async function fetchRegionIndex(
  http: HttpClient,
  pricingUrl: string,
  signal: AbortSignal,
): Promise<RegionIndexEntry[]> {
  const url = `${pricingUrl}${REGION_INDEX_PATH}`;
  const doc = await http.getJson<{ regions?: unknown }>(url, { signal, label: "region_index" });
  const regions = doc?.regions;
  if (!regions || typeof regions !== "object" || Array.isArray(regions)) {
    throw new ContrailError("INVALID_SHAPE", `${url} has no "regions" object`);
  }
  const out: RegionIndexEntry[] = [];
  for (const [code, entry] of Object.entries(regions as Record<string, Partial<RegionIndexEntry>>)) {
    if (typeof entry?.currentVersionUrl !== "string") {
      throw new ContrailError("INVALID_SHAPE", `${url}: region ${code} has no currentVersionUrl`);
    }
    out.push({ regionCode: entry.regionCode ?? code, currentVersionUrl: entry.currentVersionUrl });
  }
  if (out.length === 0) throw new ContrailError("INVALID_SHAPE", `${url} lists no regions`);
  return out;
}

/** `/offers/v1.0/aws/AmazonEC2/20190329040654/us-east-1/index.json` → `20190329040654`. */
export function versionOfUrl(url: string): string | undefined {
  return /\/AmazonEC2\/(\d{14})\//.exec(url)?.[1];
}

class NotModified extends Error {}

export const amazonEc2 = defineSource({
  name: "AmazonEC2",
  summary: "every region's EC2 offer file from the AWS Price List bulk API",
  unit: "the region code (`eu-west-1`)",
  needs: "nothing",
  defaultInterval: 12 * HOUR,
  settings: [
    setting({
      key: "regionDelay",
      schema: schemas.duration(0),
      default: 10_000,
      doc: "AmazonEC2 pause between regions",
      defaultDoc: "10s",
    }),
  ],
  missing: () => [],

  async run(ctx) {
    const { pricingUrl } = ctx.config.aws;
    const index = await fetchRegionIndex(ctx.http, pricingUrl, ctx.signal);
    const urls = new Map(index.map((r) => [r.regionCode, r.currentVersionUrl]));
    // Regions are fetched one after another, a pause apart, to be gentle with the price-list host.
    return runUnits(ctx, [...urls.keys()], { pause: ctx.settings.regionDelay }, (unit) =>
      captureOffer(ctx, unit, urls.get(unit.region)!),
    );
  },
});

/** One region's offer file: a check when its version (or ETag) is the latest capture's, else a capture. */
async function captureOffer(ctx: RunContext, unit: Unit, currentVersionUrl: string): Promise<UnitResult> {
  const { region } = unit;
  const url = new URL(currentVersionUrl, `${ctx.config.aws.pricingUrl}/`).toString();
  // The offer is the one the latest capture holds: record the check, download nothing.
  const unchanged = (held: Manifest) =>
    ctx.recordCheck({
      region,
      sameAs: held.key,
      ...(held.version ? { version: held.version } : {}),
      ...(held.etag ? { etag: held.etag } : {}),
      urls: [url],
    });
  const version = versionOfUrl(currentVersionUrl);
  const latest = await ctx.latest(region);
  if (latest && version !== undefined && latest.version === version) return unchanged(latest);
  await unit.beforeDownload();
  const etag = latest?.etag;
  try {
    return await ctx.capture({
      region,
      capturedAt: new Date(),
      shape: OFFER_SHAPE,
      open: async (signal) => {
        const res = await ctx.http.request({
          url,
          signal,
          label: region,
          accept: [304],
          // The index was just read: AWS publishes it before every file it lists is reachable, so a 404 here is
          // most likely that race, and retried like a 503 (a file still missing after that fails the region).
          retryOn: [404],
          ...(etag ? { headers: { "if-none-match": etag } } : {}),
        });
        if (res.status === 304) {
          res.body.resume();
          throw new NotModified();
        }
        return { body: res.body, meta: { urls: [url], version, etag: res.headers.etag } };
      },
    });
  } catch (err) {
    // A 304 answers only a request that carried the latest capture's ETag, so `latest` is set.
    if (err instanceof NotModified && latest) return unchanged(latest);
    throw err;
  }
}
