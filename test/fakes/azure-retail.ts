// Fake Azure Retail Prices API (public, no auth): `$skip` paging with an absolute NextPageLink, `null` at the end
// (wire-formats §7). HTTPS by default; plain HTTP on request (benchmarks).
//
// Like the real API it can rate-limit: users report 429 after a few requests in quick succession, every response
// counting down `x-ms-ratelimit-remaining-retailPrices-requests`, and the 429 naming its wait (up to 60 s) in
// `x-ms-ratelimit-retailPrices-retry-after` (no standard Retry-After). Modelled as a window of `requests` per
// `windowSeconds` that starts with its first request. It can also end a chain early (`NextPageLink: null` after a
// full page while items remain), as users of the real API report. Items are kept as the JSON text served, so a
// test can serve numbers such as `0.0` or `1e-05` that JSON.stringify would rewrite.
import { FakeApi, FakeServer, type LoggedRequest, type Reply } from "./server.js";
import { generateRetailItems, type RetailItem } from "./azure-data.js";

export interface FakeRetailOptions {
  /** Serve over HTTPS (default true). */
  tls?: boolean;
  /** Items per page (default 1000). */
  pageSize?: number;
  /** Generated items (default 2500). */
  items?: number;
  seed?: number;
  /** Delay before each page, for benchmarks. */
  latencyMs?: number;
  /** When the total is a multiple of the page size, end with an extra empty page (default false). */
  emptyFinalPage?: boolean;
  /** The real API's rate limit (default: none). */
  rateLimit?: RetailRateLimit;
}

export interface RetailRateLimit {
  /** Requests answered per window; the next ones get 429 until the window ends. */
  requests: number;
  /** The window's length: the most a 429 asks to wait (the real API says up to 60). */
  windowSeconds: number;
}

export interface RetailThrottle {
  /** `Retry-After` seconds; null: no Retry-After header. Default 1 unless msHeader is given. */
  retryAfter?: number | null;
  /** `x-ms-ratelimit-retailPrices-retry-after` seconds. */
  msHeader?: number;
}

const JSON_TYPE = "application/json; charset=utf-8";

export class FakeRetail extends FakeApi {
  pageSize: number;
  latencyMs: number;
  emptyFinalPage: boolean;
  /** Successful pages served. */
  pagesServed = 0;
  /** The `$skip` of every page served (200), in order. */
  servedSkips: number[] = [];
  /** 429s answered by the rate limit. */
  rateLimited = 0;
  rateLimit: RetailRateLimit | undefined;
  /** The page (1-based, of an unfiltered chain) whose NextPageLink is null although items remain. */
  endEarlyAtPage: number | undefined;
  private window: { start: number; used: number } | undefined;
  private items: RetailItem[];
  /** Each item's JSON text as served (same order as items). */
  private texts: string[];
  private throttles: { times: number; opts: RetailThrottle }[] = [];

  constructor(opts: FakeRetailOptions = {}) {
    super(new FakeServer({ tls: opts.tls ?? true }));
    this.pageSize = opts.pageSize ?? 1000;
    this.latencyMs = opts.latencyMs ?? 0;
    this.emptyFinalPage = opts.emptyFinalPage ?? false;
    this.rateLimit = opts.rateLimit;
    this.items = generateRetailItems(opts.items ?? 2500, opts.seed ?? 1);
    this.texts = this.items.map((i) => JSON.stringify(i));
    this.server.route("GET", "/api/retail/prices", (req, url) => this.prices(req, url));
  }

  /** Replaces the catalogue: `n` seeded items, or the given items. */
  setItems(n: number | RetailItem[], seed = 1): RetailItem[] {
    this.items = typeof n === "number" ? generateRetailItems(n, seed) : n;
    this.texts = this.items.map((i) => JSON.stringify(i));
    return this.items;
  }

  /** Replaces the catalogue with items given as the exact JSON text to serve. */
  setItemTexts(texts: string[]): void {
    this.texts = texts;
    this.items = texts.map((t) => JSON.parse(t) as RetailItem);
  }

  /** Each item's JSON text as served, in serving order. */
  itemTexts(): string[] {
    return this.texts;
  }

  /** The whole catalogue, in serving order. */
  allItems(): RetailItem[] {
    return this.items;
  }

  /** The number of pages a full, unfiltered crawl takes. */
  pageCount(total = this.items.length): number {
    const full = Math.ceil(total / this.pageSize);
    return total === 0 ? 1 : this.emptyFinalPage && total % this.pageSize === 0 ? full + 1 : full;
  }

  /** The next `times` requests get 429 (default `Retry-After: 1`). */
  throttle(times: number, opts: RetailThrottle = {}): void {
    this.throttles.push({ times, opts });
  }

  /** The rate limit's verdict on one request: the remaining count, or the seconds to wait. */
  private admit(): { remaining: number } | { retryAfter: number } | undefined {
    const rl = this.rateLimit;
    if (!rl) return undefined;
    const now = Date.now();
    const ms = rl.windowSeconds * 1000;
    if (!this.window || now - this.window.start >= ms) this.window = { start: now, used: 0 };
    if (this.window.used >= rl.requests)
      return { retryAfter: Math.max(1, Math.ceil((this.window.start + ms - now) / 1000)) };
    this.window.used++;
    return { remaining: rl.requests - this.window.used };
  }

  private async prices(req: LoggedRequest, url: URL): Promise<Reply> {
    const verdict = this.admit();
    if (verdict && "retryAfter" in verdict) {
      this.rateLimited++;
      return {
        status: 429,
        headers: {
          "content-type": JSON_TYPE,
          "x-ms-ratelimit-remaining-retailPrices-requests": "0",
          "x-ms-ratelimit-retailPrices-retry-after": String(verdict.retryAfter),
        },
        body: JSON.stringify({
          Error: {
            Code: "TooManyRequests",
            Message: `Rate limit is exceeded. Try again in ${verdict.retryAfter} seconds.`,
          },
        }),
      };
    }
    const limitHeaders: Record<string, string> = verdict
      ? { "x-ms-ratelimit-remaining-retailPrices-requests": String(verdict.remaining) }
      : {};
    const th = this.throttles[0];
    if (th) {
      if (--th.times <= 0) this.throttles.shift();
      const headers: Record<string, string> = { "content-type": JSON_TYPE };
      const retryAfter =
        th.opts.retryAfter === undefined
          ? th.opts.msHeader === undefined
            ? 1
            : undefined
          : th.opts.retryAfter;
      if (retryAfter !== undefined && retryAfter !== null) headers["retry-after"] = String(retryAfter);
      if (th.opts.msHeader !== undefined)
        headers["x-ms-ratelimit-retailPrices-retry-after"] = String(th.opts.msHeader);
      const wait = retryAfter ?? th.opts.msHeader ?? 1;
      return {
        status: 429,
        headers,
        body: JSON.stringify({
          Error: {
            Code: "TooManyRequests",
            Message: `Rate limit is exceeded. Try again in ${wait} seconds.`,
          },
        }),
      };
    }
    const filter = url.searchParams.get("$filter");
    const version = url.searchParams.get("api-version") ?? "";
    let selected = this.items.map((_, i) => i);
    if (filter) {
      const pred = /\bnot\s*\(/i.test(filter)
        ? undefined
        : compileFilter(filter, version >= "2023-01-01-preview");
      if (!pred)
        return {
          status: 400,
          headers: { "content-type": JSON_TYPE },
          body: JSON.stringify({
            Error: { Code: "BadRequest", Message: "Invalid OData parameters supplied" },
          }),
        };
      selected = selected.filter((i) => pred(this.items[i]!));
    }
    const skipRaw = url.searchParams.get("$skip") ?? "0";
    const skip = /^\d+$/.test(skipRaw) ? Number(skipRaw) : 0;
    const currency =
      /^'?([A-Za-z]{3})'?$/.exec(url.searchParams.get("currencyCode") ?? "")?.[1]?.toUpperCase() ?? "USD";
    const page = selected.slice(skip, skip + this.pageSize);
    const end = skip + this.pageSize;
    const endsEarly =
      !filter && this.endEarlyAtPage !== undefined && end === this.endEarlyAtPage * this.pageSize;
    const more =
      !endsEarly &&
      (end < selected.length || (this.emptyFinalPage && end === selected.length && selected.length > 0));
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    this.pagesServed++;
    this.servedSkips.push(skip);
    const texts = page.map((i) =>
      currency === "USD" ? this.texts[i]! : JSON.stringify({ ...this.items[i]!, currencyCode: currency }),
    );
    const next = more ? JSON.stringify(this.nextLink(req, end)) : "null";
    const body =
      `{"BillingCurrency":${JSON.stringify(currency)},"CustomerEntityId":"Default","CustomerEntityType":"Retail",` +
      `"Items":[${texts.join(",")}],"NextPageLink":${next},"Count":${page.length}}`;
    return { status: 200, headers: { "content-type": JSON_TYPE, ...limitHeaders }, body };
  }

  /** `https://127.0.0.1:PORT/api/retail/prices?<the other params, as sent>&$skip=N` (explicit port, like `:443`). */
  private nextLink(req: LoggedRequest, skip: number): string {
    const q = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
    const kept = q.split("&").filter((p) => p !== "" && !/^(\$|%24)skip=/i.test(p));
    kept.push(`$skip=${skip}`);
    return `${this.baseUrl}/api/retail/prices?${kept.join("&")}`;
  }
}

/**
 * A small OData subset: `field eq|ne 'v'`, `contains|startswith|endswith(field, 'v')`, joined by `and`/`or` (no
 * parentheses). `priceType` filters the item field `type`. Undefined when the filter is not understood (→ 400).
 */
export function compileFilter(
  filter: string,
  caseSensitive: boolean,
): ((item: RetailItem) => boolean) | undefined {
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase());
  const field = (name: string) => (name.toLowerCase() === "pricetype" ? "type" : name);
  const get = (item: RetailItem, name: string): string => {
    const key = Object.keys(item).find((k) => k.toLowerCase() === field(name).toLowerCase());
    const v = key === undefined ? undefined : item[key];
    return v === undefined || v === null ? "" : String(v);
  };
  const ors: ((i: RetailItem) => boolean)[][] = [];
  for (const disjunct of filter.trim().split(/\s+or\s+/i)) {
    const ands: ((i: RetailItem) => boolean)[] = [];
    for (const term of disjunct.split(/\s+and\s+/i)) {
      const t = term.trim();
      const cmp = /^(\w+)\s+(eq|ne)\s+'((?:[^']|'')*)'$/i.exec(t);
      const fn = /^(contains|startswith|endswith)\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)$/i.exec(t);
      if (cmp) {
        const [, name, op, raw] = cmp as unknown as [string, string, string, string];
        const value = norm(raw.replace(/''/g, "'"));
        ands.push(
          op.toLowerCase() === "eq"
            ? (i) => norm(get(i, name)) === value
            : (i) => norm(get(i, name)) !== value,
        );
      } else if (fn) {
        const [, op, name, raw] = fn as unknown as [string, string, string, string];
        const value = norm(raw.replace(/''/g, "'"));
        const f = op.toLowerCase();
        ands.push((i) => {
          const v = norm(get(i, name));
          return f === "contains"
            ? v.includes(value)
            : f === "startswith"
              ? v.startsWith(value)
              : v.endsWith(value);
        });
      } else {
        return undefined;
      }
    }
    ors.push(ands);
  }
  return (item) => ors.some((ands) => ands.every((p) => p(item)));
}
