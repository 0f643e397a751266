// Fake Azure Resource Manager: the RateCard (302 to a SAS blob on FakeBlob) and the Compute resource SKUs,
// behind bearer tokens issued by a FakeEntra (wire-formats §5, §6).
import { randomUUID } from "node:crypto";
import { FakeServer, type LoggedRequest, type Reply } from "./server.js";
import { FakeBlob } from "./azure-blob.js";
import type { FakeEntra } from "./azure-entra.js";
import {
  generateMeters,
  generateRateCard,
  generateSkus,
  type RateCard,
  type RateCardMeter,
  type ResourceSku,
} from "./azure-data.js";

export interface FakeArmOptions {
  subscriptionId?: string;
  /** Blob host for the RateCard redirect; default: a new FakeBlob, started and closed with this fake. */
  blob?: FakeBlob;
  /** Seed of the generated meters and SKUs. */
  seed?: number;
  /** Initial sizes of the generated data (default 200 meters, 40 SKUs). */
  meters?: number;
  skus?: number;
  /** Pages of the SKU list (default 2). */
  skuPages?: number;
  /** The last SKU page's nextLink: absent (default, as ARM usually does) or null. */
  lastNextLink?: "absent" | "null";
}

/** The RateCard filter the crawler must send (SPEC §4). */
export const RATECARD_FILTER = {
  OfferDurableId: "MS-AZR-0003P",
  Currency: "USD",
  Locale: "en-US",
  RegionInfo: "US",
} as const;
export const RATECARD_API_VERSIONS = ["2016-08-31-preview", "2015-06-01-preview"];
export const SKUS_API_VERSIONS = ["2021-07-01", "2019-04-01", "2017-09-01"];
const MANAGEMENT_AUDIENCES = ["https://management.azure.com", "https://management.core.windows.net"];

const JSON_TYPE = "application/json; charset=utf-8";

export class FakeArm {
  readonly server = new FakeServer({ tls: true });
  readonly blob: FakeBlob;
  readonly subscriptionId: string;
  skuPages: number;
  lastNextLink: "absent" | "null";
  /**
   * How Resource Manager refuses the RateCard, if it does: the resource type gone (404 InvalidResourceType),
   * the principal lacking `Microsoft.Commerce/RateCard/read` (403 AuthorizationFailed), retired (410), or an
   * offer that may not use it (400 DisallowedProvider, as CSP subscriptions get).
   */
  rateCardRefusal: "InvalidResourceType" | "AuthorizationFailed" | "Gone" | "DisallowedProvider" | undefined;
  /** Remaining subscription reads reported in `x-ms-ratelimit-remaining-subscription-reads`. */
  remainingReads = 11999;
  private readonly ownsBlob: boolean;
  private readonly seed: number;
  private card: RateCard;
  private skuList: ResourceSku[];
  private cardBytes: Buffer;
  private throttles: { times: number; retryAfter: number; only?: "ratecard" | "skus" }[] = [];

  constructor(
    readonly entra: FakeEntra,
    opts: FakeArmOptions = {},
  ) {
    this.subscriptionId = opts.subscriptionId ?? "3b2e8a4c-1d6f-4e7a-9c0b-5f8d2e1a7c43";
    this.blob = opts.blob ?? new FakeBlob();
    this.ownsBlob = opts.blob === undefined;
    this.seed = opts.seed ?? 1;
    this.skuPages = opts.skuPages ?? 2;
    this.lastNextLink = opts.lastNextLink ?? "absent";
    this.card = generateRateCard(generateMeters(opts.meters ?? 200, this.seed));
    this.cardBytes = Buffer.from(JSON.stringify(this.card));
    this.skuList = generateSkus(opts.skus ?? 40, this.seed);
    this.server.route(
      "GET",
      /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Commerce\/RateCard$/i,
      (req, url) => this.guard(req, url, "ratecard", RATECARD_API_VERSIONS, () => this.rateCardReply(url)),
    );
    this.server.route("GET", /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Compute\/skus$/i, (req, url) =>
      this.guard(req, url, "skus", SKUS_API_VERSIONS, () => this.skusReply(url)),
    );
  }

  /** Starts ARM (and its blob host when it owns it); returns ARM's base URL. */
  async start(): Promise<string> {
    if (!this.blob.started) await this.blob.start();
    return this.server.listen();
  }

  get baseUrl(): string {
    return this.server.baseUrl;
  }

  async close(): Promise<void> {
    await this.server.close();
    if (this.ownsBlob) await this.blob.close();
  }

  /** Generates and installs `n` meters (seeded); returns them. */
  meters(n: number, seed = this.seed): RateCardMeter[] {
    const m = generateMeters(n, seed);
    this.setMeters(m);
    return m;
  }

  /** Generates and installs `n` SKU entries (seeded); returns them. */
  skus(n: number, seed = this.seed): ResourceSku[] {
    const s = generateSkus(n, seed);
    this.setSkus(s);
    return s;
  }

  setMeters(meters: RateCardMeter[]): void {
    this.setRateCard({ ...this.card, Meters: meters });
  }

  /** Replaces the whole RateCard document. */
  setRateCard(card: RateCard | Record<string, unknown>): void {
    this.card = card as RateCard;
    this.cardBytes = Buffer.from(JSON.stringify(card));
  }

  setSkus(skus: ResourceSku[]): void {
    this.skuList = skus;
  }

  /** The RateCard document as served. */
  rateCard(): RateCard {
    return this.card;
  }

  private refusal(): Reply | undefined {
    const sub = this.subscriptionId;
    switch (this.rateCardRefusal) {
      case undefined:
        return undefined;
      case "InvalidResourceType":
        return this.error(
          404,
          "InvalidResourceType",
          "The resource type 'RateCard' could not be found in the namespace 'Microsoft.Commerce' for api version '2016-08-31-preview'.",
        );
      case "AuthorizationFailed":
        return this.error(
          403,
          "AuthorizationFailed",
          `The client '${this.entra.clientId}' with object id '${this.entra.clientId}' does not have authorization to perform action 'Microsoft.Commerce/RateCard/read' over scope '/subscriptions/${sub}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        );
      case "Gone":
        return this.error(410, "Gone", "The requested API has been retired.");
      case "DisallowedProvider":
        return this.error(
          400,
          "DisallowedProvider",
          "The operation is not permitted for namespace 'Microsoft.Commerce'. List of permitted provider namespaces is 'Microsoft.Compute,Microsoft.Storage'.",
        );
    }
  }

  private rateCardReply(url: URL): Reply {
    const refused = this.refusal();
    if (refused) return refused;
    const filter = parseRateCardFilter(url.searchParams.get("$filter") ?? "");
    const ok =
      filter &&
      Object.entries(RATECARD_FILTER).every(([k, v]) => filter[k] === v) &&
      Object.keys(filter).length === 4;
    if (!ok) {
      return jsonReply(400, {
        Message:
          "Invalid query specified. Please specify valid values for OfferDurableId, Currency, Locale and RegionInfo.",
      });
    }
    const path = `/ratecard/${this.subscriptionId}/MS-AZR-0003P_USD_en-US_US.json`;
    this.blob.put(path, this.cardBytes);
    return {
      status: 302,
      headers: { ...this.armHeaders(), location: this.blob.sasUrl(path), "content-length": 0 },
      body: "",
    };
  }

  /** The exact bytes the blob host serves for the RateCard. */
  rateCardBytes(): Buffer {
    return this.cardBytes;
  }

  allSkus(): ResourceSku[] {
    return this.skuList;
  }

  /** The next `times` ARM calls (optionally only RateCard or only SKUs) get 429 with `Retry-After: retryAfter`. */
  throttle(times: number, opts: { retryAfter?: number; only?: "ratecard" | "skus" } = {}): void {
    this.throttles.push({ times, retryAfter: opts.retryAfter ?? 1, only: opts.only });
  }

  private armHeaders(): Record<string, string> {
    const id = randomUUID();
    return {
      "cache-control": "no-cache",
      "x-ms-request-id": id,
      "x-ms-correlation-request-id": id,
      "x-ms-ratelimit-remaining-subscription-reads": String(this.remainingReads),
    };
  }

  private error(status: number, code: string, message: string, extra: Record<string, string> = {}): Reply {
    return {
      status,
      headers: { "content-type": JSON_TYPE, ...this.armHeaders(), ...extra },
      body: JSON.stringify({ error: { code, message } }),
    };
  }

  private guard(
    req: LoggedRequest,
    url: URL,
    kind: "ratecard" | "skus",
    versions: string[],
    next: () => Reply,
  ): Reply {
    const auth = req.headers.authorization;
    const challenge = {
      "www-authenticate": `Bearer authorization_uri="${this.entra.baseUrl}/${this.entra.tenantId}", error="invalid_token"`,
    };
    if (auth === undefined) {
      return this.error(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
        challenge,
      );
    }
    const m = /^Bearer (\S+)$/.exec(auth);
    const issued = m && this.entra.issuedTokens.find((t) => t.token === m[1]);
    if (!m || !issued)
      return this.error(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge);
    if (issued.expiresAt <= new Date()) {
      return this.error(
        401,
        "ExpiredAuthenticationToken",
        "The access token expiry UTC time is earlier than current UTC time.",
        challenge,
      );
    }
    const aud = issued.audience.replace(/\/\.default$/, "").replace(/\/$/, "");
    if (!MANAGEMENT_AUDIENCES.includes(aud)) {
      return this.error(
        401,
        "InvalidAuthenticationTokenAudience",
        `The access token has been obtained for wrong audience or resource '${issued.audience}'.`,
        challenge,
      );
    }
    const th = this.throttles.find((t) => !t.only || t.only === kind);
    if (th) {
      if (--th.times <= 0) this.throttles.splice(this.throttles.indexOf(th), 1);
      const saved = this.remainingReads;
      this.remainingReads = 0;
      const reply = this.error(
        429,
        "SubscriptionRequestsThrottled",
        `Number of 'read' requests for subscription '${this.subscriptionId}' actually exceeded the limit of '12000' for time interval '01:00:00'. Please try again after '${th.retryAfter}' seconds.`,
        { "retry-after": String(th.retryAfter) },
      );
      this.remainingReads = saved;
      return reply;
    }
    const version = url.searchParams.get("api-version");
    if (!version)
      return this.error(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    if (!versions.includes(version)) {
      return this.error(
        400,
        "NoRegisteredProviderFound",
        `No registered resource provider found for location 'global' and API version '${version}'. The supported api-versions are '${versions.join(", ")}'.`,
      );
    }
    const sub = req.path.split("/")[2]!;
    if (sub.toLowerCase() !== this.subscriptionId.toLowerCase()) {
      return this.error(404, "SubscriptionNotFound", `The subscription '${sub}' could not be found.`);
    }
    this.remainingReads = Math.max(0, this.remainingReads - 1);
    return next();
  }

  private skusReply(url: URL): Reply {
    const loc = /^location eq '([^']+)'$/.exec(url.searchParams.get("$filter") ?? "")?.[1];
    const all = loc
      ? this.skuList.filter((s) => s.locations.some((l) => l.toLowerCase() === loc.toLowerCase()))
      : this.skuList;
    const pages = Math.max(1, this.skuPages);
    const per = Math.ceil(all.length / pages) || 1;
    const tokenParam = url.searchParams.get("$skiptoken");
    const page = tokenParam ? Number(Buffer.from(tokenParam, "base64url").toString()) : 0;
    if (!Number.isInteger(page) || page < 0 || page >= pages)
      return this.error(400, "InvalidSkipToken", "The skip token is invalid.");
    const value = all.slice(page * per, (page + 1) * per);
    const body: Record<string, unknown> = { value };
    if (page + 1 < pages) {
      const q = new URLSearchParams(url.searchParams);
      q.set("$skiptoken", Buffer.from(String(page + 1)).toString("base64url"));
      body.nextLink = `${this.baseUrl}${url.pathname}?${q.toString().replace(/%24/g, "$")}`;
    } else if (this.lastNextLink === "null") {
      body.nextLink = null;
    }
    return {
      status: 200,
      headers: { "content-type": JSON_TYPE, ...this.armHeaders() },
      body: JSON.stringify(body),
    };
  }
}

/** Parses `A eq 'x' and B eq 'y' ...` (only eq/and, as the RateCard accepts); undefined when malformed. */
export function parseRateCardFilter(filter: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const term of filter.trim().split(/\s+and\s+/i)) {
    const m = /^(\w+)\s+eq\s+'([^']*)'$/i.exec(term.trim());
    if (!m) return undefined;
    out[m[1]!] = m[2]!;
  }
  if (out.OfferDurableId !== undefined && !/^MS-AZR-\d{4}P(-\d{4}P)*$/.test(out.OfferDurableId))
    return undefined;
  return out;
}

function jsonReply(status: number, body: unknown): Reply {
  return { status, headers: { "content-type": JSON_TYPE }, body: JSON.stringify(body) };
}
