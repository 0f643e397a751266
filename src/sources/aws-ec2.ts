// AmazonEC2: every region's EC2 offer file from the public AWS Price List bulk API (SPEC §4), byte for byte. One
// instance of the Price List offer source (src/sources/aws-pricelist/), with its 12 h interval and its 10 s pause.
import type { HttpClient } from "../types.js";
import { fetchOfferRegionIndex, offerRegionIndexPath, offerSource } from "./aws-pricelist/offers.js";
import { versionOfFileUrl } from "./aws-pricelist/file.js";

const HOUR = 3_600_000;

export { OFFER_SHAPE } from "./aws-pricelist/offers.js";

export interface RegionIndexEntry {
  regionCode: string;
  currentVersionUrl: string;
}

export const REGION_INDEX_PATH = offerRegionIndexPath("AmazonEC2");

/** The EC2 price-list region index: every region with its current offer file's (relative) URL. */
export async function fetchRegionIndex(
  http: HttpClient,
  pricingUrl: string,
  signal: AbortSignal,
): Promise<RegionIndexEntry[]> {
  const files = await fetchOfferRegionIndex(http, pricingUrl, "AmazonEC2", signal);
  return files.map((f) => ({ regionCode: f.regionCode, currentVersionUrl: f.url }));
}

/** `/offers/v1.0/aws/AmazonEC2/20190329040654/us-east-1/index.json` → `20190329040654`. */
export const versionOfUrl = versionOfFileUrl;

export const amazonEc2 = offerSource({
  code: "AmazonEC2",
  summary: "every region's EC2 offer file from the AWS Price List bulk API",
  defaultInterval: 12 * HOUR,
  regionDelay: 10_000,
});
