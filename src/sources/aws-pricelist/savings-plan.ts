// AWSComputeSavingsPlan: every region's Compute Savings Plans rate file from the Price List (SPEC §4), byte for byte.
// Its region index differs from the offers': `regions` is a list of `{regionCode, versionUrl}` (Local and Wavelength
// Zones included, each a file of its own), and a rate file is `{version, publicationDate, regionCode, products: [],
// terms: {savingsPlan: []}}` (AWS Billing guide, "Service Region index file for Savings Plan" and "Reading the
// service price list file for a Savings Plan").
import { ContrailError } from "../../errors.js";
import type { HttpClient, JsonShape } from "../../types.js";
import type { RegionFile } from "./file.js";
import { priceListSource } from "./source.js";
import { indexField } from "./index-doc.js";

const HOUR = 3_600_000;

export const SAVINGS_PLAN_INDEX_PATH =
  "/savingsPlan/v1.0/aws/AWSComputeSavingsPlan/current/region_index.json";

export const SAVINGS_PLAN_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["version", "publicationDate", "regionCode", "products", "terms"],
  captureKeys: ["version", "publicationDate", "regionCode"],
};

/** The Savings Plans region index: every region (and zone) with its current rate file's (relative) URL. */
export async function fetchSavingsPlanIndex(
  http: HttpClient,
  pricingUrl: string,
  signal: AbortSignal,
): Promise<RegionFile[]> {
  const url = `${pricingUrl}${SAVINGS_PLAN_INDEX_PATH}`;
  const regions = (await indexField(http, url, "regions", "list", {
    signal,
    label: "region_index",
  })) as unknown[];
  const out: RegionFile[] = [];
  for (const [i, entry] of (regions as { regionCode?: unknown; versionUrl?: unknown }[]).entries()) {
    if (typeof entry?.regionCode !== "string" || typeof entry.versionUrl !== "string") {
      throw new ContrailError("INVALID_SHAPE", `${url}: regions[${i}] has no regionCode and versionUrl`);
    }
    out.push({ regionCode: entry.regionCode, url: entry.versionUrl });
  }
  if (out.length === 0) throw new ContrailError("INVALID_SHAPE", `${url} lists no regions`);
  return out;
}

export const awsComputeSavingsPlan = priceListSource({
  name: "AWSComputeSavingsPlan",
  summary: "every region's Compute Savings Plans rate file from the AWS Price List bulk API",
  defaultInterval: 24 * HOUR,
  regionDelay: 10_000,
  regionIndex: fetchSavingsPlanIndex,
  shape: SAVINGS_PLAN_SHAPE,
});
