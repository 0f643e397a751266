// AzureRetail: every page of the public Azure Retail Prices API (wire-formats §7) as one capture (SPEC §5):
// `{"BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items": [...every page's items, in order],
// "Count"}`.
//
// The API pages by `$skip`, so once the first page tells the page size the next pages can be asked for ahead,
// `concurrency` at a time. The output still follows NextPageLink faithfully: a page is used only when the page
// before it linked to exactly the URL that was assumed; the catalogue ends at the first `null` link (pages asked
// for beyond it are dropped), and a link that breaks the pattern switches to following links one at a time.
// Memory holds at most `concurrency` pages, each written out as soon as its predecessors are.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { abortError, ContrailError, errorMessage, isAbortError } from "../../errors.js";
import { redactUrl } from "../../http/client.js";
import { DEFAULT_INTERVALS } from "../../config/schema.js";
import type { CaptureMeta, HttpClient, JsonShape, RegionOutcome, RunContext, Source } from "../../types.js";

export const RETAIL_SHAPE: JsonShape = {
  root: "object",
  requiredKeys: ["BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items", "Count"],
};
/**
 * The newest API version: the same unfiltered catalogue as the default version, plus the `savingsPlan` prices
 * of the items that have them (only this version serves those).
 */
export const RETAIL_API_VERSION = "2023-01-01-preview";
const REGION = "global";
const PROGRESS_EVERY = 100;

export interface RetailPage {
  BillingCurrency: unknown;
  CustomerEntityId: unknown;
  CustomerEntityType: unknown;
  Items: unknown[];
  NextPageLink: string | null;
}

export function retailPricesUrl(retailUrl: string): string {
  return `${retailUrl}/api/retail/prices?api-version=${RETAIL_API_VERSION}`;
}

/** Page `n` (1-based), retried as a whole (429 with Retry-After, 5xx, resets, truncated or unparsable bodies). */
export async function fetchPage(
  http: HttpClient,
  url: string,
  n: number,
  signal: AbortSignal,
): Promise<RetailPage> {
  let doc: unknown;
  try {
    doc = await http.getJson(url, { signal, label: `page ${n}` });
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    if (isAbortError(err)) throw err;
    // The page has had its retries: starting the whole catalogue again would not do better; the source's
    // cooldown (SPEC §2) decides when to try again.
    throw new ContrailError(
      err instanceof ContrailError ? err.code : "UPSTREAM",
      `retail prices page ${n} failed: ${errorMessage(err)}`,
      { cause: err, retryable: false },
    );
  }
  const where = `retail prices page ${n} (${redactUrl(url)})`;
  const page = doc as Partial<RetailPage> & { Count?: unknown };
  if (!page || typeof page !== "object" || Array.isArray(page) || !Array.isArray(page.Items)) {
    throw new ContrailError("INVALID_SHAPE", `${where} has no "Items" array`);
  }
  if (page.NextPageLink !== null && (typeof page.NextPageLink !== "string" || page.NextPageLink === "")) {
    throw new ContrailError(
      "INVALID_SHAPE",
      `${where} has no "NextPageLink" (a URL, or null on the last page)`,
    );
  }
  if (typeof page.Count === "number" && page.Count !== page.Items.length) {
    throw new ContrailError(
      "INVALID_SHAPE",
      `${where} says Count ${page.Count} but holds ${page.Items.length} items`,
    );
  }
  return page as RetailPage;
}

/** The `$skip` pattern of the links, learnt from the first page: page k is at `$skip = k × size`. */
interface SkipPattern {
  link: string;
  size: number;
}

function skipOf(link: string): number | undefined {
  const v = new URL(link).searchParams.get("$skip");
  return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** A link with its query parameters sorted (and the default port dropped), for comparing links. */
function canonical(link: string): string {
  const u = new URL(link);
  u.searchParams.sort();
  return `${u.origin}${u.pathname}?${u.searchParams.toString()}`;
}

function linkFor(p: SkipPattern, k: number): string {
  return p.link.replace(/([?&])(?:\$|%24)skip=\d+/i, `$1$skip=${k * p.size}`);
}

function learnPattern(first: RetailPage): SkipPattern | undefined {
  const link = first.NextPageLink;
  const size = first.Items.length;
  if (link === null || size === 0 || skipOf(link) !== size) return undefined;
  const p = { link, size };
  return canonical(linkFor(p, 1)) === canonical(link) ? p : undefined;
}

interface Walk {
  http: HttpClient;
  log: Logger;
  signal: AbortSignal;
  concurrency: number;
  first: RetailPage;
  firstUrl: string;
  /** Filled in as the walk ends: the manifest's page and item counts. */
  meta: CaptureMeta;
}

/** The capture's bytes: the first page's header fields, every item of every page in link order, the count. */
async function* catalogue(w: Walk): AsyncGenerator<string> {
  const { first } = w;
  yield `{"BillingCurrency":${JSON.stringify(first.BillingCurrency)},"CustomerEntityId":${JSON.stringify(
    first.CustomerEntityId,
  )},"CustomerEntityType":${JSON.stringify(first.CustomerEntityType)},"Items":[`;
  let items = 0;
  let pages = 0;
  const emit = (page: RetailPage): string => {
    const part = page.Items.map((item) => JSON.stringify(item)).join(",");
    const out = part && items > 0 ? `,${part}` : part;
    items += page.Items.length;
    pages++;
    if (pages % PROGRESS_EVERY === 0) w.log.info({ region: REGION, pages, items }, "retail prices progress");
    return out;
  };
  const firstPart = emit(first);
  if (firstPart) yield firstPart;

  let pattern = learnPattern(first);
  const ahead = new Map<number, Promise<RetailPage>>();
  // Speculative requests stop with the run or when the chain ends; linked by a listener removed below (not
  // AbortSignal.any, whose dependants a daemon-long signal keeps alive on Node 20).
  const speculation = new AbortController();
  const speculative = speculation.signal;
  const forward = () => speculation.abort(w.signal.reason);
  w.signal.addEventListener("abort", forward, { once: true });
  let scheduled = 1;
  let link = first.NextPageLink;
  const seen = new Set<string>([canonical(w.firstUrl)]);
  try {
    for (let n = 1; link !== null; n++) {
      const at = canonical(link);
      if (seen.has(at))
        throw new ContrailError("UPSTREAM", `NextPageLink of page ${n} loops back to ${redactUrl(link)}`);
      seen.add(at);
      let page: RetailPage;
      if (pattern && at === canonical(linkFor(pattern, n))) {
        // Keep pages n … n+concurrency-1 in flight or waiting.
        for (; scheduled < n + w.concurrency; scheduled++) {
          const p = fetchPage(w.http, linkFor(pattern, scheduled), scheduled + 1, speculative);
          p.catch(() => undefined); // only awaited if the chain reaches it
          ahead.set(scheduled, p);
        }
        page = await ahead.get(n)!;
        ahead.delete(n);
      } else {
        if (pattern) {
          w.log.warn(
            { region: REGION, page: n + 1, link: redactUrl(link), expected: redactUrl(linkFor(pattern, n)) },
            "NextPageLink is not the $skip assumed: following the links one at a time",
          );
          pattern = undefined;
          speculation.abort();
          ahead.clear();
        }
        page = await fetchPage(w.http, link, n + 1, w.signal);
      }
      const part = emit(page);
      if (part) yield part;
      link = page.NextPageLink;
    }
  } finally {
    // Pages asked for beyond the last one (or before a fallback) are dropped unread.
    w.signal.removeEventListener("abort", forward);
    speculation.abort();
    ahead.clear();
  }
  yield `],"Count":${items}}`;
  w.meta.pages = pages;
  w.meta.items = items;
}

export const azureRetail: Source = {
  name: "AzureRetail",
  defaultInterval: DEFAULT_INTERVALS.AzureRetail,
  missing: () => [],

  async run(ctx: RunContext): Promise<RegionOutcome[]> {
    try {
      const claim = await ctx.claimUnit(REGION);
      if (!claim.ok) return [{ region: REGION, status: "skipped", reason: claim.reason }];
      const url = retailPricesUrl(ctx.config.azure.retailUrl);
      const manifest = await ctx.capture({
        region: REGION,
        capturedAt: new Date(),
        shape: RETAIL_SHAPE,
        open: async (signal) => {
          const first = await fetchPage(ctx.http, url, 1, signal);
          if ([first.BillingCurrency, first.CustomerEntityId, first.CustomerEntityType].includes(undefined)) {
            throw new ContrailError(
              "INVALID_SHAPE",
              `${redactUrl(url)} lacks BillingCurrency, CustomerEntityId or CustomerEntityType`,
            );
          }
          // The capture reads meta once the body has ended: the walk fills in the counts by then.
          const meta: CaptureMeta = { urls: [url] };
          const walk: Walk = {
            http: ctx.http,
            log: ctx.log,
            signal,
            concurrency: Math.max(1, ctx.config.sources.AzureRetail.concurrency),
            first,
            firstUrl: url,
            meta,
          };
          // Not object mode: the stream then buffers bytes (16 KiB), not pages, ahead of the consumer.
          return { body: Readable.from(catalogue(walk), { objectMode: false }), meta };
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
