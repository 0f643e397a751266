// Where the enrichment index comes from, cheapest first: memory (same offer version), the lake's cache
// (`_contrail/cache/spot-enrichment/<version>.json`), the AmazonEC2 us-east-1 capture already in the lake, and
// only then the price list itself. Rebuilt only when the us-east-1 offer version changes.
import { pipeline } from "node:stream";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { errorMessage, isAbortError } from "../../errors.js";
import { withRetry } from "../../http/retry.js";
import { META } from "../../lake/keys.js";
import { latestManifest } from "../../lake/records.js";
import type { Lake, RunContext } from "../../types.js";
import { fetchRegionIndex, versionOfUrl } from "../aws-ec2.js";
import { streamJson } from "../stream-json.js";
import { attributesFragment, indexOffer } from "./offer-index.js";

export const CACHE_PREFIX = `${META}/cache/spot-enrichment/`;
const ENRICH_REGION = "us-east-1";

export interface EnrichmentIndex {
  /** The us-east-1 offer version it was built from. */
  version: string;
  /** Instance type → the JSON text of its shared attributes. */
  fragments: Map<string, string>;
}

/** The persisted form. */
interface CacheFile {
  kind: "spot-enrichment";
  formatVersion: 1;
  offerVersion: string;
  /** Capture key or URL it was built from. */
  from: string;
  builtAt: string;
  products: number;
  types: Record<string, Record<string, string>>;
}

interface OfferRef {
  version: string;
  from: string;
  via: "lake" | "pricing";
  open(signal: AbortSignal): Promise<Readable>;
}

/** The index of the last offer version seen by this process: a daemon rebuilds nothing while the version holds. */
let memo: EnrichmentIndex | undefined;

export function cacheKey(version: string): string {
  return `${CACHE_PREFIX}${version}.json`;
}

/**
 * The enrichment index for this run, or undefined (with a warning) when none can be had: a spot capture never
 * fails for lack of enrichment. An older index is used, with a warning, when the current one cannot be built.
 */
export async function loadEnrichment(ctx: RunContext): Promise<EnrichmentIndex | undefined> {
  const log = ctx.log.child({ enrichment: ENRICH_REGION });
  const problems: string[] = [];
  const refs = [lakeRef, pricingRef];
  for (const resolve of refs) {
    let ref: OfferRef | undefined;
    try {
      ref = await resolve(ctx);
    } catch (err) {
      if (isAbortError(err) || ctx.signal.aborted) throw err;
      problems.push(errorMessage(err));
      continue;
    }
    if (!ref) continue;
    if (memo?.version === ref.version) return memo;
    try {
      const cached = await readCache(ctx.lake, ref.version, ctx.signal);
      if (cached) {
        log.info(
          { version: ref.version, types: cached.fragments.size, from: cacheKey(ref.version) },
          "spot enrichment index loaded",
        );
        return (memo = cached);
      }
    } catch (err) {
      if (isAbortError(err) || ctx.signal.aborted) throw err;
      log.warn(
        { key: cacheKey(ref.version), err: errorMessage(err) },
        "spot enrichment cache unreadable; rebuilding",
      );
    }
    try {
      return (memo = await build(ctx, ref));
    } catch (err) {
      if (isAbortError(err) || ctx.signal.aborted) throw err;
      problems.push(`${ref.from}: ${errorMessage(err)}`);
    }
  }
  const stale = memo ?? (await newestCache(ctx.lake, ctx.signal).catch(() => undefined));
  if (stale) {
    log.warn(
      { version: stale.version, problems },
      "current offer file unavailable; enriching with an older index",
    );
    return (memo = stale);
  }
  log.warn({ problems }, "no enrichment index (offer file unavailable): spot records go out unenriched");
  return undefined;
}

/** The newest AmazonEC2 us-east-1 capture in the lake. */
async function lakeRef(ctx: RunContext): Promise<OfferRef | undefined> {
  const m = await latestManifest(ctx.lake, "AmazonEC2", ENRICH_REGION, ctx.signal);
  if (!m?.version) return undefined;
  return {
    version: m.version,
    from: m.key,
    via: "lake",
    open: async (signal) => gunzip(await ctx.lake.getStream(m.key, signal)),
  };
}

/** The current us-east-1 offer file of the price list (region index → currentVersionUrl). */
async function pricingRef(ctx: RunContext): Promise<OfferRef> {
  const { pricingUrl } = ctx.config.aws;
  const regions = await fetchRegionIndex(ctx.http, pricingUrl, ctx.signal);
  const entry = regions.find((r) => r.regionCode === ENRICH_REGION);
  if (!entry) throw new Error(`the EC2 region index lists no ${ENRICH_REGION}`);
  const url = new URL(entry.currentVersionUrl, `${pricingUrl}/`).toString();
  return {
    version:
      versionOfUrl(entry.currentVersionUrl) ?? entry.currentVersionUrl.replace(/[^A-Za-z0-9._-]+/g, "_"),
    from: url,
    via: "pricing",
    open: async (signal) => (await ctx.http.request({ url, signal, label: "spot-enrichment" })).body,
  };
}

function gunzip(stored: Readable): Readable {
  return pipeline(stored, createGunzip(), () => undefined);
}

async function build(ctx: RunContext, ref: OfferRef): Promise<EnrichmentIndex> {
  const started = Date.now();
  const retry = {
    attempts: ctx.config.http.attempts,
    baseDelay: ctx.config.http.baseDelay,
    maxDelay: ctx.config.http.maxDelay,
  };
  await streamJson(); // loaded before the body is open, so that the body never waits for it
  const result = await withRetry(
    async () => {
      const body = await ref.open(ctx.signal);
      try {
        return await indexOffer(body);
      } finally {
        body.destroy(); // stopped after `products`: drop the rest of the download
      }
    },
    { policy: retry, signal: ctx.signal },
  );
  const types = Object.fromEntries(result.types);
  const file: CacheFile = {
    kind: "spot-enrichment",
    formatVersion: 1,
    offerVersion: ref.version,
    from: ref.from,
    builtAt: new Date().toISOString(),
    products: result.products,
    types,
  };
  const index = fromTypes(ref.version, types);
  try {
    await ctx.lake.putBytes(cacheKey(ref.version), JSON.stringify(file), { signal: ctx.signal });
  } catch (err) {
    if (isAbortError(err) || ctx.signal.aborted) throw err;
    ctx.log.warn(
      { key: cacheKey(ref.version), err: errorMessage(err) },
      "could not persist the spot enrichment index",
    );
  }
  ctx.log.info(
    {
      version: ref.version,
      from: ref.from,
      via: ref.via,
      types: index.fragments.size,
      products: result.products,
      bytesRead: result.bytesRead,
      durationMs: Date.now() - started,
    },
    "spot enrichment index built",
  );
  return index;
}

function fromTypes(version: string, types: Record<string, Record<string, string>>): EnrichmentIndex {
  const fragments = new Map<string, string>();
  for (const [type, attrs] of Object.entries(types)) fragments.set(type, attributesFragment(attrs));
  return { version, fragments };
}

async function readCache(
  lake: Lake,
  version: string,
  signal: AbortSignal,
): Promise<EnrichmentIndex | undefined> {
  const bytes = await lake.getBytes(cacheKey(version), signal);
  if (!bytes) return undefined;
  const file = JSON.parse(bytes.toString("utf8")) as Partial<CacheFile>;
  if (
    file.kind !== "spot-enrichment" ||
    file.formatVersion !== 1 ||
    typeof file.types !== "object" ||
    !file.types
  ) {
    throw new Error("not a spot enrichment index");
  }
  return fromTypes(version, file.types);
}

/** The newest persisted index of any version (offer versions are yyyyMMddHHmmss, so key order is age order). */
async function newestCache(lake: Lake, signal: AbortSignal): Promise<EnrichmentIndex | undefined> {
  let last: string | undefined;
  for await (const e of lake.list(CACHE_PREFIX, { signal })) if (e.key.endsWith(".json")) last = e.key;
  if (!last) return undefined;
  return readCache(lake, last.slice(CACHE_PREFIX.length, -".json".length), signal);
}
