// AzureRetail: every page of the public Azure Retail Prices API (wire-formats §7) as one capture (SPEC §5):
// `{"BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items": [...every page's items, in order],
// "Count"}`. Each item is copied as the bytes served (retail-page.ts), never re-serialised.
//
// The API pages by `$skip`, so once the first page tells the page size the next pages can be asked for ahead,
// up to `concurrency` at a time, paced by the provider's rate-limit headers (retail-pacer.ts). The output still
// follows NextPageLink faithfully: a page is used only when the page before it linked to exactly the URL that was
// assumed; a link that breaks the pattern switches to following links one at a time.
//
// A chain that ends (`NextPageLink: null`) right after a full page may have ended early, as users of the real
// API report: the next `$skip` is asked for, and the catalogue is complete only if it is empty.
//
// Memory: at most `concurrency` pages (each < 2 MB as served, held as their items' bytes) waiting to be written,
// plus one page being parsed.
import { Readable } from "node:stream";
import type { Logger } from "pino";
import { ContrailError } from "../../errors.js";
import { redactUrl } from "../../http/client.js";
import * as z from "zod";
import { setting } from "../../config/settings.js";
import type { CaptureMeta, JsonShape } from "../../types.js";
import { defineSource } from "../define.js";
import { latestIfListable, runUnits } from "../run-units.js";
import { fetchPage, type PageFetch, type RetailPage } from "./retail-page.js";
import { RetailPacer } from "./retail-pacer.js";

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
/** The page size the API serves today, for a first page that is also the last (no link to learn it from). */
const SERVED_PAGE_SIZE = 1000;
/** A fall in the item total beyond this share of the previous capture's is worth a warning. */
const DROP_WARNING = 0.2;

export function retailPricesUrl(retailUrl: string): string {
  return `${retailUrl}/api/retail/prices?api-version=${RETAIL_API_VERSION}`;
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

/** `link` with its `$skip` set to `skip` (added when it has none), the `$` left as the API writes it. */
function withSkip(link: string, skip: number): string {
  const re = /([?&])(?:\$|%24)skip=\d+/i;
  if (re.test(link)) return link.replace(re, `$1$skip=${skip}`);
  return `${link}${link.includes("?") ? "&" : "?"}$skip=${skip}`;
}

/** The `$skip` pattern of the links, learnt from the first page: page k is at `$skip = k × size`. */
interface SkipPattern {
  link: string;
  size: number;
}

function linkFor(p: SkipPattern, k: number): string {
  return withSkip(p.link, k * p.size);
}

function learnPattern(first: RetailPage): SkipPattern | undefined {
  const link = first.NextPageLink;
  const size = first.count;
  if (link === null || size === 0 || skipOf(link) !== size) return undefined;
  const p = { link, size };
  return canonical(linkFor(p, 1)) === canonical(link) ? p : undefined;
}

interface Walk {
  fetch: PageFetch;
  log: Logger;
  signal: AbortSignal;
  concurrency: number;
  first: RetailPage;
  firstUrl: string;
  /** Filled in as the walk ends: the manifest's page and item counts. */
  meta: CaptureMeta;
}

/** The capture's bytes: the first page's header fields, every item of every page in link order, the count. */
async function* catalogue(w: Walk): AsyncGenerator<Buffer> {
  const { first } = w;
  yield Buffer.from(
    `{"BillingCurrency":${JSON.stringify(first.BillingCurrency)},"CustomerEntityId":${JSON.stringify(
      first.CustomerEntityId,
    )},"CustomerEntityType":${JSON.stringify(first.CustomerEntityType)},"Items":[`,
  );
  let items = 0;
  let pages = 0;
  const emit = (page: RetailPage): Buffer | undefined => {
    pages++;
    if (pages % PROGRESS_EVERY === 0)
      w.log.info({ region: REGION, pages, items: items + page.count }, "retail prices progress");
    if (page.count === 0) return undefined;
    const out = items > 0 ? Buffer.concat([Buffer.from(","), page.items]) : page.items;
    items += page.count;
    return out;
  };
  const firstPart = emit(first);
  if (firstPart) yield firstPart;

  let pattern = learnPattern(first);
  const fullPage = pattern?.size ?? SERVED_PAGE_SIZE;
  const ahead = new Map<number, Promise<RetailPage>>();
  // Speculative requests stop with the run or when the chain ends; linked by a listener removed below (not
  // AbortSignal.any, whose dependants a daemon-long signal keeps alive on Node 20).
  const speculation = new AbortController();
  const speculative = speculation.signal;
  const forward = () => speculation.abort(w.signal.reason);
  w.signal.addEventListener("abort", forward, { once: true });
  let scheduled = 1;
  let link = first.NextPageLink;
  let last = { url: w.firstUrl, page: first };
  const seen = new Set<string>([canonical(w.firstUrl)]);
  /** Page k+1 (at `$skip` k × size), asked for ahead with the pages after it, up to `concurrency` in all. */
  const byPattern = (p: SkipPattern, k: number): Promise<RetailPage> => {
    for (; scheduled < k + w.concurrency; scheduled++) {
      const pending = fetchPage(w.fetch, linkFor(p, scheduled), scheduled + 1, speculative);
      pending.catch(() => undefined); // only awaited if the chain reaches it
      ahead.set(scheduled, pending);
    }
    const page = ahead.get(k)!;
    ahead.delete(k);
    return page;
  };
  try {
    for (let n = 1; link !== null; n++) {
      const at = canonical(link);
      if (seen.has(at))
        throw new ContrailError("UPSTREAM", `NextPageLink of page ${n} loops back to ${redactUrl(link)}`);
      seen.add(at);
      let page: RetailPage;
      if (pattern && at === canonical(linkFor(pattern, n))) {
        page = await byPattern(pattern, n);
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
        page = await fetchPage(w.fetch, link, n + 1, w.signal);
      }
      const part = emit(page);
      if (part) yield part;
      last = { url: link, page };
      link = page.NextPageLink;
    }
    if (last.page.count >= fullPage && last.page.count > 0) {
      // The chain ended right after a full page: the catalogue may not have.
      const skip = (skipOf(last.url) ?? 0) + last.page.count;
      const probe =
        pattern && skip === pages * pattern.size
          ? await byPattern(pattern, pages)
          : await fetchPage(w.fetch, withSkip(last.url, skip), pages + 1, w.signal);
      if (probe.count > 0) {
        throw new ContrailError(
          "UPSTREAM",
          `the Retail Prices API ended its chain early: page ${pages} was full (${last.page.count} items) with ` +
            `NextPageLink null, but $skip=${skip} still holds ${probe.count} items; not storing a short catalogue`,
        );
      }
      w.log.debug({ region: REGION, skip }, "the chain ended after a full page; the next $skip is empty");
    }
  } finally {
    // Pages asked for beyond the last one (or before a fallback) are dropped unread.
    w.signal.removeEventListener("abort", forward);
    speculation.abort();
    ahead.clear();
    w.fetch.pacer.close();
  }
  yield Buffer.from(`],"Count":${items}}`);
  w.meta.pages = pages;
  w.meta.items = items;
  if (w.fetch.pacer.throttles > 0)
    w.log.info(
      { region: REGION, throttled: w.fetch.pacer.throttles, pages },
      "rate-limited responses waited out",
    );
}

/** Warns when the item total fell by more than DROP_WARNING since the previous capture (SPEC §6). */
function warnOnDrop(log: Logger, previous: number | undefined, items: number | undefined): void {
  if (previous === undefined || items === undefined || previous === 0) return;
  if (items < previous * (1 - DROP_WARNING)) {
    log.warn(
      {
        region: REGION,
        previousItems: previous,
        items,
        fallPercent: Math.round((1 - items / previous) * 100),
      },
      `the catalogue has ${items} items, down from ${previous} in the previous capture`,
    );
  }
}

export const azureRetail = defineSource({
  name: "AzureRetail",
  summary: "every page of the public Azure Retail Prices API",
  unit: "`global`",
  needs: "nothing",
  defaultInterval: 24 * 3_600_000,
  settings: [
    setting({
      key: "concurrency",
      schema: z.number().int().min(1).max(32),
      default: 4,
      doc: "AzureRetail pages asked for at once (paced by the API's rate-limit headers)",
    }),
  ],
  missing: () => [],

  async run(ctx) {
    return runUnits(ctx, [REGION], {}, async () => {
      const url = retailPricesUrl(ctx.config.azure.retailUrl);
      const { settings } = ctx;
      const capturedAt = new Date();
      // Only a warning depends on it.
      const previous = (await latestIfListable(ctx, REGION, "the catalogue's size is not compared"))?.items;
      const concurrency = Math.max(1, settings.concurrency);
      const manifest = await ctx.capture({
        region: REGION,
        capturedAt,
        shape: RETAIL_SHAPE,
        open: async (signal) => {
          const fetch: PageFetch = {
            http: ctx.http,
            pacer: new RetailPacer(concurrency),
            retry: ctx.config.http,
            log: ctx.log,
            // A throttled page waits as long as the provider asks, within the slot (a one-off run: an interval).
            deadline: ctx.slot?.end.getTime() ?? capturedAt.getTime() + settings.interval,
          };
          let first: RetailPage;
          try {
            first = await fetchPage(fetch, url, 1, signal);
          } finally {
            fetch.pacer.close();
          }
          if ([first.BillingCurrency, first.CustomerEntityId, first.CustomerEntityType].includes(undefined)) {
            throw new ContrailError(
              "INVALID_SHAPE",
              `${redactUrl(url)} lacks BillingCurrency, CustomerEntityId or CustomerEntityType`,
            );
          }
          // The capture reads meta once the body has ended: the walk fills in the counts by then.
          const meta: CaptureMeta = { urls: [url] };
          const walk: Walk = { fetch, log: ctx.log, signal, concurrency, first, firstUrl: url, meta };
          // Not object mode: the stream then buffers bytes (16 KiB), not pages, ahead of the consumer.
          return { body: Readable.from(catalogue(walk), { objectMode: false }), meta };
        },
      });
      warnOnDrop(ctx.log, previous, manifest.items);
      return manifest;
    });
  },
});
