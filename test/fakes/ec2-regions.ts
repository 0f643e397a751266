// Region data of the fake cloud: the EC2 Regions of the aws partition (what DescribeRegions knows) and the codes
// the Price List's AmazonEC2 region index lists today, which are more than EC2 Regions (wire-formats §1.4, §2.6).

/** EC2 `OptInStatus` as DescribeRegions reports it. */
export type OptInStatus = "opt-in-not-required" | "opted-in" | "not-opted-in";

/** Regions launched before 2019-03-20: enabled in every account, cannot be disabled. */
export const DEFAULT_REGIONS = [
  ...["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1"],
  ...["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1"],
  ...["ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2"],
];

/** Regions an account must opt in to (launched later). */
export const OPT_IN_REGIONS = [
  ...["af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4"],
  ...["ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1"],
  ...["eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1"],
];

/** Every EC2 Region of the aws partition (34). */
export const AWS_REGIONS = [...DEFAULT_REGIONS, ...OPT_IN_REGIONS];

/**
 * Entries of today's AmazonEC2 `region_index.json` that are not EC2 Regions of the aws partition: Local Zones
 * (`<parent>-<metro>-<n>`), Wavelength Zones (`<parent>-wl1-<metro>-wlz-<n>`), GovCloud (its own partition, whose
 * prices the public price list carries) and another partition's zone. None has an EC2 endpoint that commercial
 * credentials can call.
 */
export const NOT_EC2_REGIONS = [
  ...["us-east-1-atl-1", "us-east-1-bos-1", "us-east-1-chi-1", "us-east-1-dfw-1", "us-east-1-iah-1"],
  ...["us-east-1-mci-1", "us-east-1-mia-1", "us-east-1-msp-1", "us-east-1-nyc-1", "us-east-1-phl-1"],
  ...["us-east-1-bue-1", "us-east-1-lim-1", "us-east-1-qro-1", "us-east-1-scl-1"],
  ...["us-west-2-den-1", "us-west-2-las-1", "us-west-2-lax-1", "us-west-2-pdx-1", "us-west-2-phx-2"],
  ...["us-west-2-sea-1", "ap-northeast-1-tpe-1", "ap-south-1-ccu-1", "ap-south-1-del-1"],
  ...["ap-southeast-1-bkk-1", "ap-southeast-1-mnl-1", "ap-southeast-2-akl-1", "ap-southeast-2-per-1"],
  ...["eu-central-1-ham-1", "eu-central-1-waw-1", "eu-north-1-cph-1", "eu-north-1-hel-1", "me-south-1-mct-1"],
  ...["af-south-1-los-1"],
  ...[
    "us-east-1-wl1-atl-wlz-1",
    "us-east-1-wl1-bos-wlz-1",
    "us-east-1-wl1-chi-wlz-1",
    "us-east-1-wl1-dfw-wlz-1",
  ],
  ...["us-east-1-wl1-mia-wlz-1", "us-east-1-wl1-nyc-wlz-1", "us-east-1-wl1-was-wlz-1"],
  ...[
    "us-west-2-wl1-den-wlz-1",
    "us-west-2-wl1-las-wlz-1",
    "us-west-2-wl1-lax-wlz-1",
    "us-west-2-wl1-phx-wlz-1",
  ],
  ...["us-west-2-wl1-sea-wlz-1", "us-west-2-wl1-sfo-wlz-1", "ap-northeast-1-wl1-kix-wlz-1"],
  ...["ap-northeast-1-wl1-nrt-wlz-1", "ap-northeast-2-wl1-cjj-wlz-1", "ca-central-1-wl1-yto-wlz-1"],
  ...["eu-central-1-wl1-ber-wlz-1", "eu-central-1-wl1-dtm-wlz-1", "eu-central-1-wl1-muc-wlz-1"],
  ...["eu-west-2-wl1-lon-wlz-1", "eu-west-2-wl1-man-wlz-1"],
  ...["us-gov-east-1", "us-gov-west-1", "cn-north-1-pkx-1"],
];

/** Every `regionCode` of today's AmazonEC2 region index, in the index's (alphabetical) order. */
export function todaysRegionIndex(): string[] {
  return [...AWS_REGIONS, ...NOT_EC2_REGIONS].sort();
}

/** A fresh account: default regions need no opt-in; the others as given (default: the account opted in to all). */
export function accountRegions(optIn: OptInStatus = "opted-in"): Map<string, OptInStatus> {
  return new Map<string, OptInStatus>([
    ...DEFAULT_REGIONS.map((r) => [r, "opt-in-not-required"] as const),
    ...OPT_IN_REGIONS.map((r) => [r, optIn] as const),
  ]);
}
