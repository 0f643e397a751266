// `aws.services` / CONTRAIL_AWS_SERVICES: each Price List service code becomes a source of that name, captured
// exactly like AmazonEC2 (the same offer source) with a 24 h interval (SPEC §4). Whether the codes exist needs the
// Price List's service index: `crawl` checks them at start-up, before any download (preflight).
import { ConfigError, errorMessage } from "../../errors.js";
import type { BaseConfig } from "../../config/schema.js";
import type { HttpClient } from "../../types.js";
import type { PreflightContext, Source, SourceFactory } from "../define.js";
import { offerSource } from "./offers.js";
import { indexField } from "./index-doc.js";

const HOUR = 3_600_000;
export const SERVICE_INDEX_PATH = "/offers/v1.0/aws/index.json";
/** Sources of this folder that are in the registry: a code of aws.services may not name them again. */
const REGISTERED = ["AmazonEC2", "AWSComputeSavingsPlan"];

/** The service codes the Price List's service index offers (its `offers` object's keys). */
export async function fetchServiceCodes(
  http: HttpClient,
  pricingUrl: string,
  signal: AbortSignal,
): Promise<string[]> {
  const url = `${pricingUrl}${SERVICE_INDEX_PATH}`;
  const offers = await indexField(http, url, "offers", "object", { signal, label: "service index" });
  return Object.keys(offers as object);
}

/**
 * One check of the configured codes for every source this configuration makes: the first preflight fetches the
 * index, the others wait for the same answer. Unknown codes are a ConfigError naming them and every code offered.
 * An index that cannot be read is no configuration error: a warning, and each source's run reports its own failure.
 */
function checkOnce(codes: readonly string[]): (ctx: PreflightContext) => Promise<void> {
  let pending: Promise<void> | undefined;
  return (ctx) =>
    (pending ??= (async () => {
      let offered: string[];
      try {
        offered = await fetchServiceCodes(ctx.http, ctx.config.aws.pricingUrl, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        ctx.log.warn(
          { err: errorMessage(err) },
          "cannot read the Price List service index: CONTRAIL_AWS_SERVICES is not checked",
        );
        return;
      }
      const unknown = codes.filter((c) => !offered.includes(c));
      if (unknown.length > 0) {
        throw new ConfigError(
          `CONTRAIL_AWS_SERVICES (aws.services): ${unknown.join(", ")} ${unknown.length > 1 ? "are" : "is"} ` +
            `not a service code of the AWS Price List; expected some of ${[...offered].sort().join(", ")}`,
        );
      }
    })());
}

/** The sources of a configuration's aws.services, made once per configuration (the same objects every call). */
const made = new WeakMap<object, Source[]>();

const HOW = {
  defaultInterval: 24 * HOUR,
  regionDelay: 10_000,
};

const make = (config: BaseConfig): Source[] => {
  const codes = config.aws.services;
  let sources = made.get(config.aws);
  if (!sources) {
    const taken = codes.filter((c) => REGISTERED.some((r) => r.toLowerCase() === c.toLowerCase()));
    if (taken.length > 0) {
      throw new ConfigError(
        `CONTRAIL_AWS_SERVICES (aws.services): ${taken.join(", ")} is a source of its own; list other services`,
      );
    }
    const preflight = checkOnce(codes);
    sources = codes.map((code) =>
      offerSource({
        code,
        summary: `every region's ${code} offer file from the AWS Price List bulk API`,
        ...HOW,
        preflight,
      }),
    ) as Source[];
    made.set(config.aws, sources);
  }
  return sources;
};

export const priceListServices: SourceFactory = Object.assign(make, {
  unset: "needs CONTRAIL_AWS_SERVICES (aws.services): Price List service codes, e.g. AmazonRDS,AmazonS3",
  doc: offerSource({
    code: "<service code>",
    summary: "each service of `aws.services`: every region's offer file, exactly as `AmazonEC2`",
    ...HOW,
  }) as Source,
});
