// Fake EC2 Query API (DescribeSpotPriceHistory, DescribeRegions), one endpoint for every region: the region is read
// from the SigV4 credential scope. Point the crawler at it with AWS_ENDPOINT_URL_EC2. See wire-formats.md §2.
// The account has the aws partition's 34 Regions (ec2-regions.ts); a name that is not one of them (a Local Zone, a
// Wavelength Zone, another partition's region) has no EC2 endpoint, so its calls get no answer at all.
import { randomBytes, randomUUID } from "node:crypto";
import { FakeApi, FakeServer, type LoggedRequest, type Reply } from "./server.js";
import { KNOWN_FILTERS, selectHistory, type SpotQuery, type SpotRecord } from "./ec2-history.js";
import { accountRegions, type OptInStatus } from "./ec2-regions.js";

export {
  generateHistory,
  selectHistory,
  type GenerateHistoryOptions,
  type SpotQuery,
  type SpotRecord,
} from "./ec2-history.js";

export interface Ec2Call {
  region: string;
  action: string;
  /** Raw form parameters as sent. */
  raw: Record<string, string>;
  /** Parsed DescribeSpotPriceHistory parameters (empty lists when absent). */
  params: SpotQuery;
  status: number;
  /** Error code when the call failed. */
  error?: string;
  /** Records returned in this page. */
  returned: number;
  /** The nextToken sent back, if any. */
  nextToken?: string;
  at: Date;
}

export interface FakeEc2Options {
  /** How the last page ends: no `<nextToken>` element (default) or an empty one. */
  lastToken?: "absent" | "empty";
  /** The clock for a missing EndTime. Default: the real clock. */
  now?: () => Date;
  /** When set, calls signed with another access key id fail with AuthFailure. */
  accessKeyId?: string;
  /** Simulated network latency: every call is answered this many ms late (benchmarks). */
  latencyMs?: number;
}

export type Ec2ErrorSpec = { status: number; code: string; message: string };

/**
 * How a region the account has not enabled refuses a call: `AuthFailure` with long-term keys, `OptInRequired` on
 * some services, and with credentials from STS (roles, IRSA, SSO) `InvalidClientTokenId` or
 * `RegionDisabledException`. Statuses and messages as AWS sends them.
 */
export type DisabledVariant =
  "AuthFailure" | "OptInRequired" | "InvalidClientTokenId" | "RegionDisabledException";

const DISABLED: Record<DisabledVariant, (region: string) => Ec2ErrorSpec> = {
  AuthFailure: () => ({
    status: 401,
    code: "AuthFailure",
    message: "AWS was not able to validate the provided access credentials",
  }),
  OptInRequired: () => ({
    status: 401,
    code: "OptInRequired",
    message: "You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.",
  }),
  InvalidClientTokenId: () => ({
    status: 403,
    code: "InvalidClientTokenId",
    message: "The security token included in the request is invalid.",
  }),
  RegionDisabledException: (region) => ({
    status: 403,
    code: "RegionDisabledException",
    message: `STS is not activated in this region for account:123456789012. Your account administrator can activate STS in this region using the IAM Console. (${region})`,
  }),
};

/** `UnauthorizedOperation` as IAM or an SCP answers a denied action. */
function unauthorized(action: string, why: string): Ec2ErrorSpec {
  return {
    status: 403,
    code: "UnauthorizedOperation",
    message:
      `You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/contrail ` +
      `is not authorized to perform: ec2:${action} ${why}`,
  };
}

const NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
const XML_TYPE = "text/xml;charset=UTF-8";

export class FakeEc2 extends FakeApi {
  /** Every call, all regions, in arrival order. */
  readonly calls: Ec2Call[] = [];
  lastToken: "absent" | "empty";
  now: () => Date;
  accessKeyId?: string;
  /** Simulated latency per call, in ms (0: answer at once). */
  latencyMs: number;
  private readonly histories = new Map<string, SpotRecord[]>();
  private readonly faults = new Map<string, { spec: Ec2ErrorSpec; times: number }[]>();
  private readonly disabled = new Map<string, Ec2ErrorSpec>();
  /** Regions an SCP denies: enabled, yet every call fails with UnauthorizedOperation. */
  private readonly denied = new Set<string>();
  /** The account's EC2 Regions and their opt-in status, as DescribeRegions reports them. */
  regionStatus: Map<string, OptInStatus> = accountRegions();
  /** When true, DescribeRegions is not allowed (no `ec2:DescribeRegions` in the policy). */
  denyDescribeRegions = false;
  /** Pagination snapshots: token → remaining result of the query that issued it. */
  private readonly tokens = new Map<string, { region: string; rest: SpotRecord[] }>();

  constructor(opts: FakeEc2Options = {}) {
    super(new FakeServer());
    this.lastToken = opts.lastToken ?? "absent";
    this.now = opts.now ?? (() => new Date());
    this.accessKeyId = opts.accessKeyId;
    this.latencyMs = opts.latencyMs ?? 0;
    this.server.route("POST", "/", (req) =>
      this.latencyMs > 0
        ? new Promise<Reply>((resolve) => setTimeout(() => resolve(this.handle(req)), this.latencyMs))
        : this.handle(req),
    );
  }

  get endpoint(): string {
    return this.server.baseUrl;
  }

  /** Replaces a region's history (any order; kept as given). */
  setHistory(region: string, records: SpotRecord[]): void {
    this.histories.set(region, [...records]);
  }

  /** Appends price changes to a region's history (e.g. "time passed"). */
  addHistory(region: string, records: SpotRecord[]): void {
    this.histories.set(region, [...(this.histories.get(region) ?? []), ...records]);
  }

  history(region: string): SpotRecord[] {
    return this.histories.get(region) ?? [];
  }

  /** What a complete, paginated query would return, for assertions. */
  expected(region: string, query: Partial<SpotQuery> = {}): SpotRecord[] {
    return selectHistory(
      this.history(region),
      { instanceTypes: [], productDescriptions: [], filters: [], ...query },
      this.now(),
    );
  }

  /** The next `times` calls in `region` fail with 503 RequestLimitExceeded. */
  throttle(region: string, times: number): void {
    this.fail(region, times, {
      status: 503,
      code: "RequestLimitExceeded",
      message: "Request limit exceeded.",
    });
  }

  /** The next `times` calls in `region` fail with this error (e.g. 500 InternalError, 503 Unavailable). */
  fail(region: string, times: number, spec: Ec2ErrorSpec): void {
    const list = this.faults.get(region) ?? [];
    list.push({ spec, times });
    this.faults.set(region, list);
  }

  /**
   * The account has not enabled `region` (DescribeRegions: not-opted-in); every call there fails as `variant`
   * says. A region the account does not have at all is added as an opt-in region.
   */
  disableRegion(region: string, variant: DisabledVariant = "AuthFailure"): void {
    this.regionStatus.set(region, "not-opted-in");
    this.disabled.set(region, DISABLED[variant](region));
  }

  /** The account opts in to `region` again. */
  enableRegion(region: string): void {
    this.disabled.delete(region);
    if (this.regionStatus.get(region) === "not-opted-in") this.regionStatus.set(region, "opted-in");
  }

  /** An SCP denies every action in `region`: it stays enabled, yet calls fail with UnauthorizedOperation. */
  denyRegion(region: string): void {
    this.denied.add(region);
  }

  /** Back to a fresh account: every fault, disabled or denied region and DescribeRegions denial cleared. */
  clearFaults(): void {
    this.faults.clear();
    this.disabled.clear();
    this.denied.clear();
    this.regionStatus = accountRegions();
    this.denyDescribeRegions = false;
  }

  callsFor(region: string): Ec2Call[] {
    return this.calls.filter((c) => c.region === region);
  }

  private handle(req: LoggedRequest): Reply {
    const region = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1];
    // No endpoint: ec2.<name>.amazonaws.com does not resolve. On one loopback port the nearest a client can see is
    // a connection that closes without an answer (a network error, as ENOTFOUND is).
    if (region !== undefined && !this.regionStatus.has(region)) {
      this.calls.push({ ...this.emptyCall(req, region), status: 0, error: "NoEndpoint" });
      return { drop: true };
    }
    return this.answer(req);
  }

  private emptyCall(req: LoggedRequest, region: string): Ec2Call {
    const raw = Object.fromEntries(new URLSearchParams(req.body));
    return {
      region,
      action: raw.Action ?? "",
      raw,
      params: parseQuery(raw),
      status: 200,
      returned: 0,
      at: new Date(),
    };
  }

  private answer(req: LoggedRequest): Reply {
    const raw = Object.fromEntries(new URLSearchParams(req.body));
    const params = parseQuery(raw);
    const auth = String(req.headers.authorization ?? "");
    const scope = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
    const region = scope?.[3] ?? "";
    const call: Ec2Call = {
      region,
      action: raw.Action ?? "",
      raw,
      params,
      status: 200,
      returned: 0,
      at: new Date(),
    };
    this.calls.push(call);
    const fail = (spec: Ec2ErrorSpec): Reply => {
      call.status = spec.status;
      call.error = spec.code;
      return errorReply(spec);
    };

    if (!scope) {
      return fail({
        status: 401,
        code: "MissingAuthenticationToken",
        message: "Request is missing Authentication Token",
      });
    }
    if (scope[4] !== "ec2") {
      return fail({
        status: 401,
        code: "AuthFailure",
        message: `Credential should be scoped to correct service: 'ec2'.`,
      });
    }
    if (this.accessKeyId !== undefined && scope[1] !== this.accessKeyId) {
      return fail({
        status: 401,
        code: "AuthFailure",
        message: "AWS was not able to validate the provided access credentials",
      });
    }
    if (this.denied.has(region)) {
      return fail(unauthorized(raw.Action ?? "", "with an explicit deny in a service control policy"));
    }
    const disabled =
      this.disabled.get(region) ??
      (this.regionStatus.get(region) === "not-opted-in" ? DISABLED.AuthFailure(region) : undefined);
    if (disabled) return fail(disabled);
    const queued = this.faults.get(region);
    if (queued && queued.length > 0) {
      const f = queued[0]!;
      f.times -= 1;
      if (f.times <= 0) queued.shift();
      return fail(f.spec);
    }
    if (raw.Action === "DescribeRegions") {
      if (this.denyDescribeRegions) {
        return fail(
          unauthorized(
            "DescribeRegions",
            "because no identity-based policy allows the ec2:DescribeRegions action",
          ),
        );
      }
      return { status: 200, headers: { "content-type": XML_TYPE }, body: this.regionsXml(raw) };
    }
    if (raw.Action !== "DescribeSpotPriceHistory") {
      return fail({
        status: 400,
        code: "InvalidAction",
        message: `The action ${raw.Action ?? "(none)"} is not valid for this web service.`,
      });
    }
    if (params.dryRun) {
      return fail({
        status: 412,
        code: "DryRunOperation",
        message: "Request would have succeeded, but DryRun flag is set.",
      });
    }
    const invalid = validate(raw, params);
    if (invalid) return fail(invalid);

    let result: SpotRecord[];
    if (params.nextToken !== undefined && params.nextToken !== "") {
      const snap = this.tokens.get(params.nextToken);
      if (!snap || snap.region !== region) {
        return fail({
          status: 400,
          code: "InvalidPaginationToken",
          message: "The specified pagination token is not valid or is expired.",
        });
      }
      this.tokens.delete(params.nextToken);
      result = snap.rest;
    } else {
      result = selectHistory(this.history(region), params, this.now());
    }
    const max = Math.min(params.maxResults ?? 1000, 1000);
    const page = result.slice(0, max);
    const rest = result.slice(max);
    let token: string | undefined;
    if (rest.length > 0) {
      token = randomBytes(36).toString("base64");
      this.tokens.set(token, { region, rest });
    }
    call.returned = page.length;
    call.nextToken = token;
    return { status: 200, headers: { "content-type": XML_TYPE }, body: this.successXml(page, token) };
  }

  /** DescribeRegions: enabled regions only, or with AllRegions=true every region and its opt-in status. */
  private regionsXml(raw: Record<string, string>): string {
    const all = raw.AllRegions === "true";
    const items = [...this.regionStatus]
      .filter(([, status]) => all || status !== "not-opted-in")
      .map(
        ([name, status]) =>
          "\n        <item>" +
          `\n            <regionName>${esc(name)}</regionName>` +
          `\n            <regionEndpoint>ec2.${esc(name)}.amazonaws.com</regionEndpoint>` +
          `\n            <optInStatus>${status}</optInStatus>` +
          "\n        </item>",
      )
      .join("");
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<DescribeRegionsResponse xmlns="${NS}">\n` +
      `    <requestId>${randomUUID()}</requestId>\n` +
      `    <regionInfo>${items}\n    </regionInfo>\n` +
      "</DescribeRegionsResponse>"
    );
  }

  /**
   * Renders every record of the histories now: later pages are joined from the cache, so a benchmark measures
   * the crawler, not this fake building XML (records are not changed in place; a changed one is a new object).
   */
  prerender(): void {
    for (const records of this.histories.values()) for (const r of records) itemXml(r);
  }

  /** The page as bytes: the records' cached `<item>`s copied between the head and the tail. */
  private successXml(page: SpotRecord[], token: string | undefined): Buffer {
    const items = page.map(itemXml);
    const next =
      token !== undefined
        ? `\n    <nextToken>${esc(token)}</nextToken>`
        : this.lastToken === "empty"
          ? "\n    <nextToken></nextToken>"
          : "";
    const head =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<DescribeSpotPriceHistoryResponse xmlns="${NS}">\n` +
      `    <requestId>${randomUUID()}</requestId>\n    `;
    const tail = `${next}\n</DescribeSpotPriceHistoryResponse>`;
    if (page.length === 0) return Buffer.from(`${head}<spotPriceHistorySet/>${tail}`);
    return Buffer.concat([
      Buffer.from(`${head}<spotPriceHistorySet>`),
      ...items,
      Buffer.from(`\n    </spotPriceHistorySet>${tail}`),
    ]);
  }
}

/** Each record's `<item>` as EC2 writes it, rendered once (UTF-8). */
const ITEMS = new WeakMap<SpotRecord, Buffer>();

function itemXml(r: SpotRecord): Buffer {
  let xml = ITEMS.get(r);
  if (xml === undefined) {
    const text =
      "\n        <item>" +
      `\n            <availabilityZone>${esc(r.availabilityZone)}</availabilityZone>` +
      (r.availabilityZoneId
        ? `\n            <availabilityZoneId>${esc(r.availabilityZoneId)}</availabilityZoneId>`
        : "") +
      `\n            <instanceType>${esc(r.instanceType)}</instanceType>` +
      `\n            <productDescription>${esc(r.productDescription)}</productDescription>` +
      `\n            <spotPrice>${esc(r.spotPrice)}</spotPrice>` +
      `\n            <timestamp>${r.timestamp.toISOString()}</timestamp>` +
      "\n        </item>";
    xml = Buffer.from(text);
    ITEMS.set(r, xml);
  }
  return xml;
}

/** Parses the EC2 form parameters of DescribeSpotPriceHistory (lists flattened with 1-based `.N`). */
export function parseQuery(raw: Record<string, string>): SpotQuery {
  const list = (prefix: string): string[] => {
    const out: [number, string][] = [];
    for (const [k, v] of Object.entries(raw)) {
      const m = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)$`).exec(k);
      if (m) out.push([Number(m[1]), v]);
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  };
  const filters: { name: string; values: string[] }[] = [];
  for (const [k, name] of Object.entries(raw)) {
    const m = /^Filter\.(\d+)\.Name$/.exec(k);
    if (m) filters.push({ name, values: list(`Filter.${m[1]}.Value`) });
  }
  const date = (v: string | undefined) => (v === undefined ? undefined : new Date(v));
  return {
    startTime: date(raw.StartTime),
    endTime: date(raw.EndTime),
    instanceTypes: list("InstanceType"),
    productDescriptions: list("ProductDescription"),
    availabilityZone: raw.AvailabilityZone,
    availabilityZoneId: raw.AvailabilityZoneId,
    filters,
    maxResults: raw.MaxResults === undefined ? undefined : Number(raw.MaxResults),
    nextToken: raw.NextToken,
    dryRun: raw.DryRun === "true",
  };
}

function validate(raw: Record<string, string>, q: SpotQuery): Ec2ErrorSpec | undefined {
  const bad = (message: string): Ec2ErrorSpec => ({ status: 400, code: "InvalidParameterValue", message });
  if (q.startTime && Number.isNaN(q.startTime.getTime()))
    return bad(`Invalid value '${raw.StartTime}' for startTime.`);
  if (q.endTime && Number.isNaN(q.endTime.getTime()))
    return bad(`Invalid value '${raw.EndTime}' for endTime.`);
  if (q.startTime && q.endTime && q.endTime < q.startTime) {
    return {
      status: 400,
      code: "InvalidParameterCombination",
      message: "The end time must be after the start time.",
    };
  }
  if (q.maxResults !== undefined && (!Number.isInteger(q.maxResults) || q.maxResults < 1)) {
    return bad(`Invalid value '${raw.MaxResults}' for maxResults.`);
  }
  if (q.availabilityZone !== undefined && q.availabilityZoneId !== undefined) {
    return {
      status: 400,
      code: "InvalidParameterCombination",
      message: "AvailabilityZone and AvailabilityZoneId are mutually exclusive.",
    };
  }
  for (const f of q.filters) {
    if (!KNOWN_FILTERS.includes(f.name)) return bad(`The filter '${f.name}' is invalid`);
  }
  return undefined;
}

function errorReply(spec: Ec2ErrorSpec): Reply {
  return {
    status: spec.status,
    headers: { "content-type": XML_TYPE },
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Response><Errors><Error><Code>${esc(spec.code)}</Code><Message>${esc(spec.message)}</Message></Error></Errors>` +
      `<RequestID>${randomUUID()}</RequestID></Response>`,
  };
}

function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}
