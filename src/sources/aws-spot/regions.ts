// Which regions AmazonEC2Spot calls (SPEC §6): real EC2 Regions only. The price-list region index also lists Local
// Zones (`us-west-2-lax-1`), Wavelength Zones (`us-east-1-wl1-bos-wlz-1`), GovCloud and other partitions' entries,
// none of which has an EC2 endpoint that the crawler's credentials can call.
import type { EC2Client } from "@aws-sdk/client-ec2";
import { errorMessage, isAbortError } from "../../errors.js";
import type { RunContext } from "../../types.js";
import { fetchRegionIndex } from "../aws-ec2.js";
import { ec2Client, loadSdk } from "./history.js";

/**
 * A Region name of the aws partition: the partition's own pattern in the AWS SDK's endpoint rules
 * (`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`), with `\w` narrowed to letters. A zone adds a suffix after the
 * number (`-lax-1`, `-wl1-bos-wlz-1`) and never matches; `us-gov-`, `cn-`, `us-iso-`, `eusc-` are other partitions.
 */
export const AWS_PARTITION_REGION = /^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$/;

export interface SpotRegions {
  /** The regions to call, in a stable order. */
  call: string[];
  /** Regions DescribeRegions reports as not enabled: not called, skipped. */
  notEnabled: string[];
  /** Regions DescribeRegions reports as enabled; undefined when it could not be asked (no permission). */
  enabled?: ReadonlySet<string>;
  /** Where the list came from, for the log. */
  basis: "configured" | "DescribeRegions" | "region index";
}

/** `CONTRAIL_AWS_REGIONS` when set; else DescribeRegions; without that permission, the index, filtered. */
export async function spotRegions(ctx: RunContext): Promise<SpotRegions> {
  const configured = ctx.config.aws.regions;
  if (configured) return { call: configured, notEnabled: [], basis: "configured" };
  const described = await describeRegions(ctx);
  if (described) {
    const enabled = described.filter((r) => r.enabled).map((r) => r.name);
    return {
      call: enabled,
      notEnabled: described.filter((r) => !r.enabled).map((r) => r.name),
      enabled: new Set(enabled),
      basis: "DescribeRegions",
    };
  }
  const index = await fetchRegionIndex(ctx.http, ctx.config.aws.pricingUrl, ctx.signal);
  const codes = [...new Set(index.map((r) => r.regionCode))].sort();
  const notRegions = codes.filter((c) => !AWS_PARTITION_REGION.test(c));
  if (notRegions.length > 0) {
    ctx.log.debug(
      { entries: notRegions },
      "region index entries that are not EC2 Regions of the aws partition: not spot regions",
    );
  }
  return { call: codes.filter((c) => AWS_PARTITION_REGION.test(c)), notEnabled: [], basis: "region index" };
}

/**
 * Every Region of the partition with its opt-in status (`AllRegions`), asked in the configured region; undefined
 * when the account may not call DescribeRegions (an optional permission) or the call fails.
 */
async function describeRegions(ctx: RunContext): Promise<{ name: string; enabled: boolean }[] | undefined> {
  let client: EC2Client | undefined;
  try {
    const { DescribeRegionsCommand } = await loadSdk();
    client = await ec2Client(ctx.config, ctx.config.aws.region);
    const out = await client.send(new DescribeRegionsCommand({ AllRegions: true }), {
      abortSignal: ctx.signal,
    });
    const regions = (out.Regions ?? []).flatMap((r) =>
      r.RegionName ? [{ name: r.RegionName, enabled: r.OptInStatus !== "not-opted-in" }] : [],
    );
    // An answer without regions is not one the crawler can trust (an HTML page parses into nothing).
    if (regions.length === 0) throw new Error("DescribeRegions answered no regions");
    return regions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    if (isAbortError(err) || ctx.signal.aborted) throw err;
    const code = (err as { name?: string }).name;
    if (code === "UnauthorizedOperation") {
      ctx.log.info(
        "ec2:DescribeRegions is not allowed: spot regions are the EC2 Regions of the price-list region index",
      );
    } else {
      ctx.log.warn(
        { err: errorMessage(err) },
        "DescribeRegions failed: spot regions are the EC2 Regions of the price-list region index",
      );
    }
    return undefined;
  } finally {
    client?.destroy();
  }
}
