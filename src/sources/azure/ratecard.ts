// Azure: the RateCard (SPEC §4, wire-formats §5) with the VM capabilities of the Compute Resource SKUs added as
// one top-level key, `Capabilities` (SPEC §5). The RateCard streams through as served; the key is spliced in.
import { pipeline, type Readable } from "node:stream";
import { ContrailError, errorMessage, isAbortError } from "../../errors.js";
import type { Config } from "../../config/schema.js";
import { DEFAULT_INTERVALS } from "../../config/schema.js";
import type { JsonShape, RegionOutcome, RunContext, Source } from "../../types.js";
import { armToken } from "./auth.js";
import { capabilitiesJson, fetchVmCapabilities, skusUrl } from "./skus.js";
import { spliceKeyTransform } from "./splice.js";

export const RATECARD_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["Meters", "Currency", "Locale", "OfferTerms", "Capabilities"],
};
export const RATECARD_API_VERSION = "2016-08-31-preview";
export const RATECARD_FILTER =
  "OfferDurableId eq 'MS-AZR-0003P' and Currency eq 'USD' and Locale eq 'en-US' and RegionInfo eq 'US'";
const REGION = "US";
const REDIRECTS = [301, 302, 303, 307, 308];

export function rateCardUrl(managementUrl: string, subscriptionId: string): string {
  return (
    `${managementUrl}/subscriptions/${encodeURIComponent(subscriptionId)}/providers/Microsoft.Commerce/RateCard` +
    `?api-version=${RATECARD_API_VERSION}&$filter=${encodeURIComponent(RATECARD_FILTER)}`
  );
}

/** The Azure settings the source needs, as the environment variables a user sets. */
export function missingAzureSettings(config: Config): string[] {
  const az = config.azure;
  return [
    [az.tenantId, "AZURE_TENANT_ID"],
    [az.clientId, "AZURE_CLIENT_ID"],
    [az.clientSecret, "AZURE_CLIENT_SECRET"],
    [az.subscriptionId, "AZURE_SUBSCRIPTION_ID"],
  ]
    .filter(([value]) => !value)
    .map(([, name]) => name!);
}

/** A URL fit for a manifest: a SAS URL's query is its credential, so none of the query is kept. */
function withoutQuery(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * The RateCard body. Resource Manager answers 302 to a SAS blob URL: that URL is fetched by hand, with no
 * Authorization (the bearer token belongs to Resource Manager alone, and the blob host refuses it anyway).
 */
async function openRateCard(
  ctx: RunContext,
  signal: AbortSignal,
  token: string,
): Promise<{ body: Readable; urls: string[]; etag?: string }> {
  const { managementUrl, subscriptionId } = ctx.config.azure;
  const url = rateCardUrl(managementUrl, subscriptionId!);
  const res = await ctx.http.request({
    url,
    signal,
    headers: { authorization: `Bearer ${token}` },
    accept: REDIRECTS,
    label: REGION,
  });
  if (!REDIRECTS.includes(res.status)) return { body: res.body, urls: [url], etag: res.headers.etag };
  res.body.resume();
  const location = res.headers.location;
  if (!location) {
    throw new ContrailError("UPSTREAM", `the RateCard answered HTTP ${res.status} without a Location`, {
      retryable: true,
      status: res.status,
    });
  }
  const target = new URL(location, url).toString();
  const blob = await ctx.http.request({ url: target, signal, label: REGION });
  return { body: blob.body, urls: [url, withoutQuery(target)], etag: blob.headers.etag };
}

export const azure: Source = {
  name: "Azure",
  defaultInterval: DEFAULT_INTERVALS.Azure,
  missing: missingAzureSettings,

  async run(ctx: RunContext): Promise<RegionOutcome[]> {
    try {
      const claim = await ctx.claimUnit(REGION);
      if (!claim.ok) return [{ region: REGION, status: "skipped", reason: claim.reason }];
      const az = ctx.config.azure;
      const retry = {
        attempts: ctx.config.http.attempts,
        baseDelay: ctx.config.http.baseDelay,
        maxDelay: ctx.config.http.maxDelay,
      };
      // The SKUs are small once reduced: fetched once, kept across attempts at the (large) RateCard.
      let capabilities: string | undefined;
      const manifest = await ctx.capture({
        region: REGION,
        capturedAt: new Date(),
        shape: RATECARD_SHAPE,
        open: async (signal) => {
          const token = () => armToken(az, ctx.http, signal);
          await token(); // sign in first: its failures are the ones to report as they are
          if (capabilities === undefined) {
            const { caps, pages } = await fetchVmCapabilities({
              http: ctx.http,
              managementUrl: az.managementUrl,
              subscriptionId: az.subscriptionId!,
              token,
              retry,
              signal,
              onRetry: (err, attempt, delayMs) =>
                ctx.log.warn(
                  { region: REGION, attempt, delayMs, err: errorMessage(err) },
                  "SKU page failed; retrying",
                ),
            }).catch((err: unknown) => {
              if (isAbortError(err) || signal.aborted || (err as ContrailError).code === "AUTH") throw err;
              // Each page had its retries; a failure now is for the source's cooldown, not another attempt.
              throw new ContrailError(
                err instanceof ContrailError ? err.code : "UPSTREAM",
                `VM capabilities (Compute resource SKUs): ${errorMessage(err)}`,
                { cause: err },
              );
            });
            capabilities = capabilitiesJson(caps);
            ctx.log.info({ region: REGION, sizes: caps.size, pages }, "VM capabilities read");
          }
          const card = await openRateCard(ctx, signal, await token());
          // Errors of the RateCard body (resets, stalls) reach the capture as they are, so it can retry them.
          const body = pipeline(card.body, spliceKeyTransform("Capabilities", capabilities), () => undefined);
          return {
            body,
            meta: {
              urls: [...card.urls, skusUrl(az.managementUrl, az.subscriptionId!)],
              ...(card.etag !== undefined ? { etag: card.etag } : {}),
            },
          };
        },
      });
      return [{ region: REGION, status: "captured", manifest }];
    } catch (err) {
      if (isAbortError(err) || ctx.signal.aborted) throw err;
      ctx.log.error({ region: REGION, err: errorMessage(err) }, "capture failed");
      return [{ region: REGION, status: "failed", error: err as Error }];
    }
  },
};
