// AmazonEC2Spot (SPEC §4): DescribeSpotPriceHistory in every region, all pages, each record enriched with its
// instance type's attributes; windows without gaps (SPEC §5); not-enabled regions skipped (SPEC §6).
import { setMaxListeners } from "node:events";
import * as z from "zod";
import { setting } from "../../config/settings.js";
import { ContrailError } from "../../errors.js";
import type { RegionOutcome, RunContext } from "../../types.js";
import { defineSource } from "../define.js";
import { runUnits } from "../run-units.js";
import { loadEnrichment, type EnrichmentIndex } from "./enrichment.js";
import { RegionDisabledError } from "./history.js";
import { captureRegion } from "./capture.js";
import { spotRegions } from "./regions.js";

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

/** Regions captured at once, by default: every Region (34 in the aws partition) is its own endpoint with its own
 * request limits. Memory is one slice of records per region in flight. */
export const SPOT_CONCURRENCY = 34;

export const amazonEc2Spot = defineSource({
  name: "AmazonEC2Spot",
  summary: "`DescribeSpotPriceHistory` in every region, enriched with instance-type attributes",
  unit: "the region (`eu-west-1`)",
  needs: "AWS credentials",
  defaultInterval: 60 * 60_000,
  settings: [
    setting({
      key: "concurrency",
      schema: z.number().int().min(1).max(64),
      default: SPOT_CONCURRENCY,
      doc: "AmazonEC2Spot regions captured at once",
    }),
  ],
  missing: (config, settings) =>
    settings.enabled === true || config.aws.credentialsHint ? [] : [MISSING_CREDENTIALS],

  async run(ctx) {
    const plan = await spotRegions(ctx);
    // One index for every region of the run, loaded while the first regions are already fetching.
    let enrichment: Promise<EnrichmentIndex | undefined> | undefined;
    const enrich = () => (enrichment ??= loadEnrichment(ctx));

    // Each region is its own endpoint with its own request limits: regions do not compete, so they run side by
    // side (pages within a region stay sequential, NextToken). Memory: one slice's records per region in flight.
    const { concurrency } = ctx.settings;
    // Each region in flight listens on the run's signal (its capture, its SDK requests): not a leak.
    setMaxListeners(Math.max(10, 10 + concurrency * 4), ctx.signal);
    const outcomes = await runUnits(
      ctx,
      plan.call,
      {
        concurrency,
        classify: (err) => (err instanceof RegionDisabledError ? refused(ctx, err, plan.enabled) : undefined),
      },
      ({ region }) => captureRegion(ctx, region, enrich),
    );
    return credentialsCheck(ctx, [...outcomes, ...notEnabled(ctx, plan.notEnabled)]);
  },
});

/** Codes that, in a region DescribeRegions reports as enabled, can only mean the credentials were refused. */
const CREDENTIAL_CODES = new Set(["AuthFailure", "InvalidClientTokenId"]);

/** A region that refused the call: skipped when it is not enabled (or an SCP denies it), failed when it is. */
function refused(ctx: RunContext, err: RegionDisabledError, enabled?: ReadonlySet<string>): RegionOutcome {
  const { region, awsCode } = err;
  if (enabled?.has(region) && CREDENTIAL_CODES.has(awsCode)) {
    // Session tokens of the global STS endpoint (v1) are valid only in Regions enabled by default.
    const hint = ALWAYS_ENABLED.has(region)
      ? ""
      : " (session tokens of the global STS endpoint are not valid in opt-in regions: use regional STS endpoints)";
    const error = new ContrailError(
      "AUTH",
      `AWS refused the credentials in ${region} (${awsCode}), which DescribeRegions reports as enabled: a ` +
        `credential problem, not a disabled region${hint}`,
      { cause: err },
    );
    ctx.log.error({ region, err: error.message }, "capture failed");
    return { region, status: "failed", error };
  }
  const reason =
    awsCode === "UnauthorizedOperation"
      ? `region denied for these credentials (${awsCode})`
      : `region not enabled for this account (${awsCode})`;
  ctx.log.warn({ region, reason }, "region skipped");
  return { region, status: "skipped", reason };
}

/** Regions DescribeRegions reports as not enabled: never called; one warning per cycle names them all. */
function notEnabled(ctx: RunContext, regions: string[]): RegionOutcome[] {
  if (regions.length === 0) return [];
  const reason = "region not enabled for this account (not-opted-in)";
  ctx.log.warn({ regions, reason }, "regions skipped");
  return regions.map((region) => ({ region, status: "skipped", reason }));
}

/**
 * Every region refused, an always-enabled one among them: the credentials are rejected (or lack
 * ec2:DescribeSpotPriceHistory everywhere); that is a failure, not a run of skipped regions.
 */
function credentialsCheck(ctx: RunContext, outcomes: RegionOutcome[]): RegionOutcome[] {
  const refused = outcomes.filter(
    (o) => o.status === "skipped" && /^region (not enabled|denied)/.test(o.reason),
  );
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
