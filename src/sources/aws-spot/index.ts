// AmazonEC2Spot (SPEC §4): DescribeSpotPriceHistory in every region, all pages, each record enriched with its
// instance type's attributes; windows without gaps (SPEC §5); not-enabled regions skipped (SPEC §6).
import { setMaxListeners } from "node:events";
import { DEFAULT_INTERVALS, type Config } from "../../config/schema.js";
import { errorMessage, isAbortError } from "../../errors.js";
import type { RegionOutcome, RunContext, Source } from "../../types.js";
import { fetchRegionIndex } from "../aws-ec2.js";
import { loadEnrichment, type EnrichmentIndex } from "./enrichment.js";
import { RegionDisabledError } from "./history.js";
import { captureRegion } from "./capture.js";

export const MISSING_CREDENTIALS =
  "AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role with sources.AmazonEC2Spot.enabled: true)";

/**
 * Regions that every account has and cannot disable (launched before 2019-03-20, wire-formats §2.6). AuthFailure
 * in all regions, one of these among them, means the credentials are wrong, not that regions are off.
 */
const ALWAYS_ENABLED = new Set([
  ...["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1"],
  ...["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1"],
  ...["ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2"],
]);

export const amazonEc2Spot: Source = {
  name: "AmazonEC2Spot",
  defaultInterval: DEFAULT_INTERVALS.AmazonEC2Spot,
  missing: (config: Config) =>
    config.sources.AmazonEC2Spot.enabled === true || config.aws.credentialsHint ? [] : [MISSING_CREDENTIALS],

  async run(ctx: RunContext): Promise<RegionOutcome[]> {
    const regions =
      ctx.config.aws.regions ??
      (await fetchRegionIndex(ctx.http, ctx.config.aws.pricingUrl, ctx.signal)).map((r) => r.regionCode);
    // One index for every region of the run, loaded while the first regions are already fetching.
    let enrichment: Promise<EnrichmentIndex | undefined> | undefined;
    const enrich = () => (enrichment ??= loadEnrichment(ctx));

    const { concurrency } = ctx.config.sources.AmazonEC2Spot;
    // Each region in flight listens on the run's signal (its capture, its SDK requests): not a leak.
    setMaxListeners(Math.max(10, 10 + concurrency * 4), ctx.signal);
    const outcomes = await mapLimit(regions, concurrency, async (region) => {
      try {
        const claim = await ctx.claimUnit(region);
        if (!claim.ok) return { region, status: "skipped", reason: claim.reason } as const;
        const manifest = await captureRegion(ctx, region, enrich);
        return { region, status: "captured", manifest } as const;
      } catch (err) {
        if (isAbortError(err) || ctx.signal.aborted) throw err;
        if (err instanceof RegionDisabledError) {
          const reason = `region not enabled for this account (${err.awsCode})`;
          ctx.log.warn({ region, reason }, "region skipped");
          return { region, status: "skipped", reason } as const;
        }
        ctx.log.error({ region, err: errorMessage(err) }, "capture failed");
        return { region, status: "failed", error: err as Error } as const;
      }
    });
    return credentialsCheck(ctx, outcomes);
  },
};

/** Every region refused, an always-enabled one among them: the credentials are rejected; that is a failure. */
function credentialsCheck(ctx: RunContext, outcomes: RegionOutcome[]): RegionOutcome[] {
  const refused = outcomes.filter((o) => o.status === "skipped" && o.reason.startsWith("region not enabled"));
  if (refused.length === 0 || refused.length !== outcomes.length) return outcomes;
  const always = refused.find((o) => ALWAYS_ENABLED.has(o.region));
  if (!always) return outcomes;
  const error = new Error(
    `AWS refused the credentials in every region, including ${always.region}, which every account has enabled: ` +
      `check ${MISSING_CREDENTIALS}`,
  );
  ctx.log.error({ regions: refused.length, err: error.message }, "AWS credentials rejected");
  return outcomes.map((o) => ({ region: o.region, status: "failed", error }));
}

/** Runs `fn` over `items`, at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
