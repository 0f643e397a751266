// AmazonEC2: every region's EC2 offer file from the public AWS Price List bulk API (SPEC §4), byte for byte.
import { ContrailError, errorMessage, isAbortError } from "../errors.js";
import { sleep } from "../http/retry.js";
import type { HttpClient, JsonShape, Manifest, RegionOutcome, RunContext, Source } from "../types.js";
import { DEFAULT_INTERVALS } from "../config/schema.js";

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

export const amazonEc2: Source = {
  name: "AmazonEC2",
  defaultInterval: DEFAULT_INTERVALS.AmazonEC2,
  missing: () => [],

  async run(ctx: RunContext): Promise<RegionOutcome[]> {
    const { pricingUrl } = ctx.config.aws;
    const regions = await fetchRegionIndex(ctx.http, pricingUrl, ctx.signal);
    const outcomes: RegionOutcome[] = [];
    let downloaded = false;
    for (const { regionCode: region, currentVersionUrl } of regions) {
      if (ctx.signal.aborted) break;
      const url = new URL(currentVersionUrl, `${pricingUrl}/`).toString();
      let latest: Manifest | undefined;
      // The offer is the one the latest capture holds: record the check, download nothing.
      const unchanged = async (held: Manifest) => {
        const check = await ctx.recordCheck({
          region,
          sameAs: held.key,
          ...(held.version ? { version: held.version } : {}),
          ...(held.etag ? { etag: held.etag } : {}),
          urls: [url],
        });
        outcomes.push({ region, status: "unchanged", check });
      };
      try {
        const claim = await ctx.claimUnit(region);
        if (!claim.ok) {
          outcomes.push({ region, status: "skipped", reason: claim.reason });
          continue;
        }
        const version = versionOfUrl(currentVersionUrl);
        latest = await ctx.latest(region);
        if (latest && version !== undefined && latest.version === version) {
          await unchanged(latest);
          continue;
        }
        // Regions are fetched one after another, a pause apart, to be gentle with the price-list host.
        if (downloaded) await sleep(ctx.config.sources.AmazonEC2.regionDelay, ctx.signal);
        downloaded = true;
        const etag = latest?.etag;
        const manifest = await ctx.capture({
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
        outcomes.push({ region, status: "captured", manifest });
      } catch (err) {
        // A 304 answers only a request that carried the latest capture's ETag, so `latest` is set.
        if (err instanceof NotModified && latest) {
          await unchanged(latest);
          continue;
        }
        if (isAbortError(err) || ctx.signal.aborted) throw err;
        ctx.log.error({ region, err: errorMessage(err) }, "capture failed");
        outcomes.push({ region, status: "failed", error: err as Error });
      }
    }
    return outcomes;
  },
};
