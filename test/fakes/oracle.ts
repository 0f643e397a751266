// A fake of Oracle Cloud's public price list (wire-formats "More of the market"), HTTPS:
// `GET /pls/apex/cetools/api/v1/products/` → `{"lastUpdated", "items": [{"partNumber", "displayName", "metricName",
// "serviceCategory", "currencyCodeLocalizations": [{"currencyCode", "prices": [{"model", "value", "rangeMin"?,
// "rangeMax"?}]}]}]}`, the whole catalogue in one response. Values are JSON numbers; tiered parts list the free
// allowance first (value 0, 0-744), untiered ones have no range. `currencyCode=` and `partNumber=` filter, `limit`
// answers 400 (APEX's error JSON), a strong ETag answers If-None-Match with 304. It can serve an empty `items`, as
// Oracle's own tools warn it may.
import { createHash } from "node:crypto";
import { prng as seeded } from "./ec2-history.js";
import { conditional, type Served } from "./public-doc.js";
import { FakeApi, FakeServer, type Reply } from "./server.js";

export const OCI_PATH = "/pls/apex/cetools/api/v1/products/";
const CURRENCIES = ["USD", "EUR", "GBP", "JPY"];
const RATE: Record<string, number> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 151 };
const SERVICES = [
  ["Compute - Virtual Machine", "Compute - Standard - E4 - OCPU", "OCPU Per Hour"],
  ["Compute - Virtual Machine", "Compute - Standard - E4 - Memory", "Gigabyte Per Hour"],
  ["Storage - Block Volumes", "Storage - Block Volume - Storage", "Gigabyte Storage Capacity Per Month"],
  [
    "Networking - Load Balancer",
    "Networking - Outbound Data Transfer Zone 1",
    "Gigabyte Outbound Data Transfer Per Month",
  ],
  ["Database - Autonomous", "Oracle Autonomous Data Warehouse - ECPU", "ECPU Per Hour"],
] as const;

export interface OciPrice {
  model: string;
  value: number;
  rangeMin?: number;
  rangeMax?: number;
}
export interface OciItem {
  partNumber: string;
  displayName: string;
  metricName: string;
  serviceCategory: string;
  currencyCodeLocalizations: { currencyCode: string; prices: OciPrice[] }[];
}

/** `n` parts, every third one tiered (a free allowance first), each priced in every currency. */
export function ociItems(n: number, seed = 3): OciItem[] {
  const rnd = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const [serviceCategory, displayName, metricName] = SERVICES[i % SERVICES.length]!;
    const usd = Math.round(rnd() * 1e5) / 1e6;
    const tiered = i % 3 === 0;
    return {
      partNumber: `B${90000 + i * 7}`,
      displayName: `${displayName} ${i}`,
      metricName,
      serviceCategory,
      currencyCodeLocalizations: CURRENCIES.map((currencyCode) => {
        const value = Math.round(usd * RATE[currencyCode]! * 1e6) / 1e6;
        return {
          currencyCode,
          prices: tiered
            ? [
                { model: "PAY_AS_YOU_GO", value: 0, rangeMin: 0, rangeMax: 744 },
                { model: "PAY_AS_YOU_GO", value, rangeMin: 744, rangeMax: 999999999 },
              ]
            : [{ model: "PAY_AS_YOU_GO", value }],
        };
      }),
    };
  });
}

export class FakeOraclePrices extends FakeApi {
  lastUpdated = "2026-11-30T08:00:00Z";
  /**
   * Serve APEX's paged form instead of the whole list: this many items, `hasMore: true`, `limit`, `offset`, `count`
   * and a `next` link (Oracle's own tools guard against it; undefined: the whole list, as the service does today).
   */
  pageLimit: number | undefined;
  private items: OciItem[];

  constructor(opts: { items?: number; seed?: number } = {}) {
    super(new FakeServer({ tls: true }));
    this.items = ociItems(opts.items ?? 30, opts.seed);
    this.server.route("GET", OCI_PATH, (req, url) => {
      if (url.searchParams.has("limit")) return apexError(400, "Invalid parameter: limit");
      return conditional(
        req,
        this.served(url.searchParams.get("currencyCode"), url.searchParams.get("partNumber")),
      );
    });
  }

  /** The value for CONTRAIL_OCI_PRICES_URL (the path as Oracle publishes it, no query). */
  get url(): string {
    return `${this.server.baseUrl}${OCI_PATH}`;
  }

  setItems(items: OciItem[] | number, seed?: number): void {
    this.items = typeof items === "number" ? ociItems(items, seed) : items;
  }

  /** The bytes served for a currency (null: every currency). */
  bytes(currency: string | null = "USD"): Buffer {
    return this.served(currency, null).body;
  }

  etag(currency: string | null = "USD"): string {
    return this.served(currency, null).etag;
  }

  itemCount(): number {
    return this.items.length;
  }

  private served(currency: string | null, part: string | null): Served {
    const items = this.items
      .filter((i) => part === null || i.partNumber === part)
      .map((i) => ({
        ...i,
        currencyCodeLocalizations: i.currencyCodeLocalizations.filter(
          (l) => currency === null || l.currencyCode === currency,
        ),
      }));
    const limit = this.pageLimit;
    const doc =
      limit === undefined
        ? { lastUpdated: this.lastUpdated, items }
        : {
            lastUpdated: this.lastUpdated,
            items: items.slice(0, limit),
            hasMore: items.length > limit,
            limit,
            offset: 0,
            count: Math.min(limit, items.length),
            links: [{ rel: "next", href: `${this.url}?offset=${limit}` }],
          };
    const body = Buffer.from(JSON.stringify(doc));
    // A strong ETag of the representation (Oracle's is opaque; a hash of the bytes behaves alike).
    const etag = `"${createHash("sha1").update(body).digest("hex")}"`;
    return { body, contentType: "application/json", etag };
  }
}

function apexError(status: number, message: string): Reply {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: "WWV_FLOW_WEB_SRC", message, type: "error" }),
  };
}
