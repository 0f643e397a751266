// Price List offer files (wire-formats §1.4–1.5): a service's region index is an object keyed by region code, each
// entry naming its current offer file. AmazonEC2 and every service of `aws.services` are offer sources.
import { ContrailError } from "../../errors.js";
import type { HttpClient, JsonShape } from "../../types.js";
import type { PreflightContext } from "../define.js";
import type { RegionFile } from "./file.js";
import { priceListSource } from "./source.js";
import { indexField } from "./index-doc.js";

export const OFFER_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["formatVersion", "offerCode", "version", "products", "terms"],
  captureKeys: ["version", "publicationDate", "offerCode"],
};

export const offerRegionIndexPath = (code: string) => `/offers/v1.0/aws/${code}/current/region_index.json`;

/** A service's region index: every region with its current offer file's (relative) URL. */
export async function fetchOfferRegionIndex(
  http: HttpClient,
  pricingUrl: string,
  code: string,
  signal: AbortSignal,
): Promise<RegionFile[]> {
  const url = `${pricingUrl}${offerRegionIndexPath(code)}`;
  const regions = await indexField(http, url, "regions", "object", { signal, label: "region_index" });
  const out: RegionFile[] = [];
  for (const [key, entry] of Object.entries(
    regions as Record<string, { regionCode?: unknown; currentVersionUrl?: unknown }>,
  )) {
    if (typeof entry?.currentVersionUrl !== "string") {
      throw new ContrailError("INVALID_SHAPE", `${url}: region ${key} has no currentVersionUrl`);
    }
    const regionCode = typeof entry.regionCode === "string" ? entry.regionCode : key;
    out.push({ regionCode, url: entry.currentVersionUrl });
  }
  if (out.length === 0) throw new ContrailError("INVALID_SHAPE", `${url} lists no regions`);
  return out;
}

export interface OfferSourceOptions<N extends string> {
  /** The service code: the source's name and the lake prefix (`AmazonRDS`). */
  code: N;
  summary: string;
  defaultInterval: number;
  regionDelay: number;
  preflight?(ctx: PreflightContext): Promise<void>;
}

/** The source of one Price List service: every region's offer file, byte for byte. */
export function offerSource<const N extends string>(o: OfferSourceOptions<N>) {
  return priceListSource({
    name: o.code,
    summary: o.summary,
    defaultInterval: o.defaultInterval,
    regionDelay: o.regionDelay,
    regionIndex: (http, pricingUrl, signal) => fetchOfferRegionIndex(http, pricingUrl, o.code, signal),
    shape: OFFER_SHAPE,
    ...(o.preflight ? { preflight: o.preflight } : {}),
  });
}
