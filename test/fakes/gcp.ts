// Fake Google Cloud Billing Catalog v1 (wire-formats §8 and "More of the market"), HTTPS by default:
// - `GET /v1/services` and `GET /v1/services/<id>/skus`, with an API key required: `key=` (or `X-Goog-Api-Key`); none
//   → 403 PERMISSION_DENIED, a wrong one → 400 INVALID_ARGUMENT with reason API_KEY_INVALID, the API not enabled on
//   the key's project → 403 SERVICE_DISABLED, all in Google's `google.rpc.Status` envelope;
// - pages of at most `pageSize` (5000 the most and the default; more is served as 5000), chained by an opaque
//   `nextPageToken`, absent on the last page (or empty, as some list methods send it); like AIP-158 allows, a page
//   may hold fewer items than asked for (`servedPageSize`, `shortPages`) without being the last;
// - pretty-printed JSON unless `prettyPrint=false`; items kept as the JSON text they are served as;
// - 429 RESOURCE_EXHAUSTED without Retry-After, on demand (`throttle`) or from a per-window quota (`quota`).
import { randomBytes } from "node:crypto";
import { FakeApi, FakeServer, type LoggedRequest, type Reply } from "./server.js";
import {
  COMPUTE_ENGINE_ID,
  generateServices,
  generateSkus,
  type GcpService,
  type GcpSku,
} from "./gcp-data.js";

export * from "./gcp-data.js";

export interface FakeGcpOptions {
  tls?: boolean;
  /** SKUs of each service (default 120). */
  skus?: number;
  /** The most items the server puts on a page, whatever is asked (default 5000). */
  servedPageSize?: number;
  latencyMs?: number;
}

const MAX_PAGE_SIZE = 5000;
const JSON_TYPE = "application/json; charset=UTF-8";

export class FakeGcpBilling extends FakeApi {
  /** A key of Google's form (`AIza` + 35 characters), fresh per fake: a test greps the lake and logs for it. */
  readonly apiKey = `AIzaSy${randomBytes(24).toString("base64url").slice(0, 33)}`;
  servedPageSize: number;
  latencyMs: number;
  /** Pages (1-based, of any list) that come with half the items they could hold, and still a token. */
  shortPages = new Set<number>();
  /** Pages (1-based, of any list) that come with no items at all, and still a token. */
  emptyPages = new Set<number>();
  /** This page (2 or later) hands out its own token again: a chain that loops. */
  loopAtPage: number | undefined;
  /** The last page carries `"nextPageToken": ""` rather than none. */
  emptyFinalToken = false;
  /** The Cloud Billing API is not enabled on the key's project. */
  apiDisabled = false;
  /** A per-window request quota, like Google's per-minute ones (default none). */
  quota: { requests: number; windowMs: number } | undefined;
  /** 429s answered (on demand or by the quota). */
  throttled = 0;
  /** The `pageToken` of every SKU page served (200), `""` for the first, in order. */
  servedTokens: string[] = [];
  private window: { start: number; used: number } | undefined;
  private throttles: { times: number; only?: "services" | "skus" }[] = [];
  private services: GcpService[] = generateServices();
  private texts = new Map<string, string[]>();
  /** Opaque token → where the list goes on: the offset of its next item and the next page's number. */
  private readonly tokens = new Map<string, { at: number; page: number }>();

  constructor(opts: FakeGcpOptions = {}) {
    super(new FakeServer({ tls: opts.tls ?? true }));
    this.servedPageSize = opts.servedPageSize ?? MAX_PAGE_SIZE;
    this.latencyMs = opts.latencyMs ?? 0;
    for (const s of this.services)
      this.setSkus(s.serviceId, opts.skus ?? 120, s.serviceId === COMPUTE_ENGINE_ID ? 1 : 2);
    this.server.route("GET", "/v1/services", (req, url) => this.list(req, url, "services"));
    this.server.route("GET", /^\/v1\/services\/[^/]+\/skus$/, (req, url) => this.list(req, url, "skus"));
  }

  /** Replaces a service's SKUs: `n` generated ones, or the exact JSON texts to serve. */
  setSkus(serviceId: string, skus: number | string[], seed = 1): void {
    const texts =
      typeof skus === "number" ? generateSkus(serviceId, skus, seed).map((s) => JSON.stringify(s)) : skus;
    this.texts.set(serviceId, texts);
  }

  /** Each SKU's JSON text as served, in order. */
  skuTexts(serviceId = COMPUTE_ENGINE_ID): string[] {
    return this.texts.get(serviceId) ?? [];
  }

  allSkus(serviceId = COMPUTE_ENGINE_ID): GcpSku[] {
    return this.skuTexts(serviceId).map((t) => JSON.parse(t) as GcpSku);
  }

  service(serviceId = COMPUTE_ENGINE_ID): GcpService {
    const s = this.services.find((x) => x.serviceId === serviceId);
    if (!s) throw new Error(`no service ${serviceId}`);
    return s;
  }

  /** Pages a full walk of a service's SKUs takes at `pageSize`, as served (short pages included). */
  pageCount(serviceId = COMPUTE_ENGINE_ID, pageSize = MAX_PAGE_SIZE): number {
    const total = this.skuTexts(serviceId).length;
    let pages = 0;
    for (let at = 0; at < total || pages === 0; pages++) at += this.take(pages + 1, pageSize);
    return pages;
  }

  /** The next `times` requests (of one list only, if given) get 429 RESOURCE_EXHAUSTED. */
  throttle(times: number, only?: "services" | "skus"): void {
    this.throttles.push({ times, ...(only ? { only } : {}) });
  }

  /** Back to a well-behaved catalogue: no throttling, quota, short or empty pages, and the API enabled. */
  clearFaults(): void {
    this.throttles = [];
    this.quota = undefined;
    this.shortPages.clear();
    this.emptyPages.clear();
    this.emptyFinalToken = false;
    this.apiDisabled = false;
    this.loopAtPage = undefined;
  }

  private take(page: number, asked: number): number {
    if (this.emptyPages.has(page)) return 0;
    const size = Math.min(asked, this.servedPageSize);
    return this.shortPages.has(page) ? Math.max(1, Math.floor(size / 2)) : size;
  }

  private async list(req: LoggedRequest, url: URL, member: "services" | "skus"): Promise<Reply> {
    const pretty = url.searchParams.get("prettyPrint") !== "false";
    const key = url.searchParams.get("key") ?? (req.headers["x-goog-api-key"] as string | undefined);
    if (!key) return status(403, "PERMISSION_DENIED", "The request is missing a valid API key.", pretty);
    if (key !== this.apiKey)
      return status(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        pretty,
        "API_KEY_INVALID",
      );
    if (this.apiDisabled)
      return status(
        403,
        "PERMISSION_DENIED",
        "Cloud Billing API has not been used in project 123456789012 before or it is disabled.",
        pretty,
        "SERVICE_DISABLED",
      );
    if (this.overQuota(member)) {
      this.throttled++;
      return status(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service " +
          "'cloudbilling.googleapis.com' for consumer 'project_number:123456789012'.",
        pretty,
        "RATE_LIMIT_EXCEEDED",
      );
    }
    const sizeRaw = url.searchParams.get("pageSize") ?? String(MAX_PAGE_SIZE);
    if (!/^\d+$/.test(sizeRaw))
      return status(
        400,
        "INVALID_ARGUMENT",
        `Invalid value at 'page_size' (TYPE_INT32), "${sizeRaw}"`,
        pretty,
      );
    const asked = Number(sizeRaw) === 0 ? MAX_PAGE_SIZE : Math.min(Number(sizeRaw), MAX_PAGE_SIZE);
    let texts: string[];
    if (member === "services") texts = this.services.map((s) => JSON.stringify(s));
    else {
      const id = /^\/v1\/services\/([^/]+)\/skus$/.exec(url.pathname)![1]!;
      const found = this.texts.get(id);
      if (!found) return status(404, "NOT_FOUND", `Service not found: services/${id}`, pretty);
      texts = found;
    }
    const token = url.searchParams.get("pageToken") ?? "";
    const where = token === "" ? { at: 0, page: 1 } : this.tokens.get(token);
    if (where === undefined) return status(400, "INVALID_ARGUMENT", "Invalid page token.", pretty);
    const { at, page } = where;
    const n = this.take(page, asked);
    const items = texts.slice(at, at + n);
    const next =
      page === this.loopAtPage && token !== ""
        ? token
        : at + n < texts.length
          ? this.token(at + n, page + 1)
          : undefined;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (member === "skus") this.servedTokens.push(token);
    const tail = next !== undefined ? next : this.emptyFinalToken ? "" : undefined;
    return { status: 200, headers: { "content-type": JSON_TYPE }, body: render(member, items, tail, pretty) };
  }

  private token(at: number, page: number): string {
    const t = randomBytes(18).toString("base64url");
    this.tokens.set(t, { at, page });
    return t;
  }

  private overQuota(member: "services" | "skus"): boolean {
    const th = this.throttles.find((t) => !t.only || t.only === member);
    if (th) {
      if (--th.times <= 0) this.throttles.splice(this.throttles.indexOf(th), 1);
      return true;
    }
    const q = this.quota;
    if (!q) return false;
    const now = Date.now();
    if (!this.window || now - this.window.start >= q.windowMs) this.window = { start: now, used: 0 };
    return ++this.window.used > q.requests;
  }
}

/** A list page as Google writes it: pretty (2 spaces, `"key": value`) unless prettyPrint=false. */
function render(member: string, items: string[], next: string | undefined, pretty: boolean): string {
  if (!pretty) {
    const list = items.length ? `"${member}":[${items.join(",")}]` : "";
    const token = next !== undefined ? `"nextPageToken":${JSON.stringify(next)}` : "";
    return `{${[list, token].filter(Boolean).join(",")}}`;
  }
  const doc: Record<string, unknown> = {};
  if (items.length) doc[member] = items.map((t) => JSON.parse(t) as unknown);
  if (next !== undefined) doc.nextPageToken = next;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Google's error envelope (`google.rpc.Status` as JSON), with an ErrorInfo when there is a reason. */
function status(code: number, state: string, message: string, pretty: boolean, reason?: string): Reply {
  const error = {
    error: {
      code,
      message,
      status: state,
      ...(reason
        ? {
            details: [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                reason,
                domain: "googleapis.com",
                metadata: { service: "cloudbilling.googleapis.com" },
              },
            ],
          }
        : {}),
    },
  };
  return {
    status: code,
    headers: { "content-type": JSON_TYPE },
    body: pretty ? `${JSON.stringify(error, null, 2)}\n` : JSON.stringify(error),
  };
}
