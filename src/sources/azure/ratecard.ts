// Azure: the RateCard (SPEC §4, wire-formats §5) with the VM capabilities of the Compute Resource SKUs added as
// one top-level key, `Capabilities` (SPEC §5). The RateCard streams through as served; the key is spliced in.
import { pipeline, type Readable } from "node:stream";
import { ContrailError, errorMessage, isAbortError } from "../../errors.js";
import type { BaseConfig } from "../../config/schema.js";
import { readAll, snippet } from "../../http/client.js";
import type { HttpResponse, JsonShape, RunContext } from "../../types.js";
import { defineSource } from "../define.js";
import { runUnits } from "../run-units.js";
import { armToken } from "./auth.js";
import { capabilitiesJson, fetchVmCapabilities, skusUrl } from "./skus.js";
import { spliceKeyTransform } from "./splice.js";
import { CAPABILITIES_CACHE_KEY, readCapabilities, writeCapabilities } from "./capabilities-cache.js";

export const RATECARD_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["Meters", "Currency", "Locale", "OfferTerms", "Capabilities"],
};
export const RATECARD_API_VERSION = "2016-08-31-preview";
export const RATECARD_FILTER =
  "OfferDurableId eq 'MS-AZR-0003P' and Currency eq 'USD' and Locale eq 'en-US' and RegionInfo eq 'US'";
const REGION = "US";

export function rateCardUrl(managementUrl: string, subscriptionId: string): string {
  return (
    `${managementUrl}/subscriptions/${encodeURIComponent(subscriptionId)}/providers/Microsoft.Commerce/RateCard` +
    `?api-version=${RATECARD_API_VERSION}&$filter=${encodeURIComponent(RATECARD_FILTER)}`
  );
}

/** The Azure settings the source needs, as the environment variables a user sets. */
export function missingAzureSettings(config: BaseConfig): string[] {
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
 * Answers with which Resource Manager refuses the RateCard for good: Microsoft documents the RateCard only under
 * "previous versions" (replaced by the Retail Prices API), so a refusal is worth one clear line, not retries.
 * 404 `InvalidResourceType`/`NoRegisteredProviderFound` (the type or version is gone), 403 `AuthorizationFailed`
 * (no `Microsoft.Commerce/RateCard/read`), 410 (retired), 400 `DisallowedProvider` (CSP and other offers).
 */
const REFUSALS = [400, 403, 404, 410];
const REFUSAL_CODES = new Set(["InvalidResourceType", "NoRegisteredProviderFound", "DisallowedProvider"]);
const REDIRECTS = [301, 302, 303, 307, 308];

/** The ARM error `{"error": {"code", "message"}}` of a body, as far as it has one. */
function armError(text: string): { code?: string; message?: string } {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      ...(typeof e?.code === "string" ? { code: e.code } : {}),
      ...(typeof e?.message === "string" ? { message: e.message } : {}),
    };
  } catch {
    return {};
  }
}

/** The error for a RateCard answer of status `status` (one of REFUSALS). */
export function rateCardRefusal(status: number, text: string): ContrailError {
  const { code, message } = armError(text);
  const detail = `HTTP ${status}${code ? ` ${code}` : ""}: ${snippet(message ?? text)}`;
  const refused = status === 403 || status === 410 || (code !== undefined && REFUSAL_CODES.has(code));
  if (!refused) {
    return new ContrailError("HTTP_STATUS", `the Azure RateCard request failed (${detail})`, { status });
  }
  return new ContrailError(
    "UPSTREAM",
    `the Azure RateCard is gone or not allowed for this subscription (${detail}); Microsoft has replaced it ` +
      `with the Retail Prices API, which the AzureRetail source captures (no credentials needed)`,
    { status },
  );
}

/**
 * Asks Resource Manager for the RateCard. It answers 302 to a SAS blob URL, or refuses (rateCardRefusal).
 */
async function askRateCard(
  ctx: RunContext,
  signal: AbortSignal,
  token: string,
): Promise<{ url: string; answer: HttpResponse }> {
  const { managementUrl, subscriptionId } = ctx.config.azure;
  const url = rateCardUrl(managementUrl, subscriptionId!);
  const answer = await ctx.http.request({
    url,
    signal,
    headers: { authorization: `Bearer ${token}` },
    accept: [...REDIRECTS, ...REFUSALS],
    label: REGION,
  });
  if (REFUSALS.includes(answer.status)) {
    const text = await readAll(answer.body, 64 * 1024, url, true).catch(() => "");
    throw rateCardRefusal(answer.status, text);
  }
  return { url, answer };
}

/**
 * The RateCard body. A redirect's SAS blob URL is fetched by hand, with no Authorization (the bearer token
 * belongs to Resource Manager alone, and the blob host refuses it anyway).
 */
async function openRateCard(
  ctx: RunContext,
  signal: AbortSignal,
  asked: { url: string; answer: HttpResponse },
): Promise<{ body: Readable; urls: string[]; etag?: string }> {
  const { url, answer: res } = asked;
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

/** The `Capabilities` JSON: from the lake's cache when less than a day old, else from the SKU list (then cached). */
async function vmCapabilities(
  ctx: RunContext,
  signal: AbortSignal,
  token: () => Promise<string>,
): Promise<string> {
  const cached = await readCapabilities(ctx.lake, ctx.log, signal);
  if (cached !== undefined) {
    ctx.log.info({ region: REGION, from: CAPABILITIES_CACHE_KEY }, "VM capabilities from the day's cache");
    return cached;
  }
  const az = ctx.config.azure;
  const { caps, pages } = await fetchVmCapabilities({
    http: ctx.http,
    managementUrl: az.managementUrl,
    subscriptionId: az.subscriptionId!,
    token,
    retry: {
      attempts: ctx.config.http.attempts,
      baseDelay: ctx.config.http.baseDelay,
      maxDelay: ctx.config.http.maxDelay,
    },
    signal,
    onRetry: (err, attempt, delayMs) =>
      ctx.log.warn({ region: REGION, attempt, delayMs, err: errorMessage(err) }, "SKU page failed; retrying"),
  }).catch((err: unknown) => {
    if (isAbortError(err) || signal.aborted || (err as ContrailError).code === "AUTH") throw err;
    // Each page had its retries; a failure now is for the source's cooldown, not another attempt.
    throw new ContrailError(
      err instanceof ContrailError ? err.code : "UPSTREAM",
      `VM capabilities (Compute resource SKUs): ${errorMessage(err)}`,
      { cause: err },
    );
  });
  const json = capabilitiesJson(caps);
  ctx.log.info({ region: REGION, sizes: caps.size, pages }, "VM capabilities read");
  await writeCapabilities(ctx.lake, ctx.log, json, caps.size, signal);
  return json;
}

export const azure = defineSource({
  name: "Azure",
  summary: "the RateCard plus VM capabilities from the Compute SKUs API",
  unit: "`US`",
  needs: "Azure service principal",
  defaultInterval: 60 * 60_000,
  settings: [],
  missing: missingAzureSettings,

  async run(ctx) {
    const az = ctx.config.azure;
    return runUnits(ctx, [REGION], {}, () => {
      // Small once reduced: fetched once, kept across attempts at the (large) RateCard.
      let capabilities: Promise<string> | undefined;
      return ctx.capture({
        region: REGION,
        capturedAt: new Date(),
        shape: RATECARD_SHAPE,
        open: async (signal) => {
          const token = () => armToken(az, ctx.http, signal);
          await token(); // sign in first: its failures are the ones to report as they are
          // The RateCard first: if Resource Manager refuses it, the SKU list is not worth downloading.
          const asked = await askRateCard(ctx, signal, await token());
          if (capabilities === undefined) {
            capabilities = vmCapabilities(ctx, signal, token);
            capabilities.catch(() => undefined); // handled where the splice needs it
          }
          const card = await openRateCard(ctx, signal, asked);
          // The RateCard streams while the capabilities arrive: they are needed only at its end. Errors of the
          // RateCard body (resets, stalls) reach the capture as they are, so it can retry them.
          const body = pipeline(card.body, spliceKeyTransform("Capabilities", capabilities), () => undefined);
          capabilities.catch((err: Error) => body.destroy(err));
          return {
            body,
            meta: {
              urls: [...card.urls, skusUrl(az.managementUrl, az.subscriptionId!)],
              ...(card.etag !== undefined ? { etag: card.etag } : {}),
            },
          };
        },
      });
    });
  },
});
