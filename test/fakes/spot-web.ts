// Fakes of AWS's two public spot documents (wire-formats §3 and "More of the market"), each on its own host as in
// reality, both HTTPS:
// - the Spot Instance Advisor's data, a public S3 object: `{"global_rate", "instance_types": {type: {"emr", "cores",
//   "ram_gb"}}, "ranges": [{"index", "label", "dots", "max"}], "spot_advisor": {region: {"Linux"|"Windows": {type:
//   {"s", "r"}}}}}` in Python `json.dumps` spacing (`ram_gb` as `8.0`), ETag = quoted MD5, Last-Modified, 304;
// - the spot price feed behind the pricing page: `/spot.json` plain JSON, `/spot.js` the JSONP form (`callback(…);`,
//   the name from `?callback=`), `/legacy/spot.js` the old form with JavaScript object keys (unquoted). Prices are
//   strings, `N/A*` and Java-style `9.0E-4` among them; empty groups kept; old region names (`us-east`,
//   `eu-ireland`, `apac-sin`) beside the current ones. ETag and 304 as CloudFront serves them.
import { prng as seeded } from "./ec2-history.js";
import { conditional, s3Etag, type Served } from "./public-doc.js";
import { FakeApi, FakeServer } from "./server.js";

export const ADVISOR_PATH = "/spot-advisor-data.json";
export const FEED_PATH = "/spot.json";
export const FEED_JSONP_PATH = "/spot.js";
export const FEED_LEGACY_PATH = "/legacy/spot.js";

const FAMILIES = ["m5", "c5", "r5", "t3", "m6i", "c6g", "r6g", "i3", "g4dn", "x2idn", "m7g", "c7i"];
const SIZES = [
  "large",
  "xlarge",
  "2xlarge",
  "4xlarge",
  "8xlarge",
  "12xlarge",
  "16xlarge",
  "24xlarge",
  "metal",
];
const RANGES = [
  { index: 0, label: "<5%", dots: 0, max: 5 },
  { index: 1, label: "5-10%", dots: 1, max: 11 },
  { index: 2, label: "10-15%", dots: 2, max: 16 },
  { index: 3, label: "15-20%", dots: 3, max: 22 },
  { index: 4, label: ">20%", dots: 4, max: 100 },
];

/** `n` instance types, family by family. */
export function instanceTypes(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++)
    out.push(
      `${FAMILIES[i % FAMILIES.length]}${i >= FAMILIES.length * SIZES.length ? Math.floor(i / 108) : ""}.${SIZES[Math.floor(i / FAMILIES.length) % SIZES.length]}`,
    );
  return out;
}

/** Python's `json.dumps` default spacing (", " and ": "); `float` values keep their `.0`. */
function pyDumps(v: unknown): string {
  if (v instanceof PyFloat) return Number.isInteger(v.n) ? v.n.toFixed(1) : String(v.n);
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(", ")}]`;
  if (v && typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pyDumps(x)}`)
      .join(", ")}}`;
  return JSON.stringify(v);
}

class PyFloat {
  constructor(readonly n: number) {}
}

export interface AdvisorOptions {
  regions?: string[];
  types?: number;
  seed?: number;
}

/** The advisor's document, as S3 serves it. */
export function advisorDocument(o: AdvisorOptions = {}): Buffer {
  const rnd = seeded(o.seed ?? 7);
  const types = instanceTypes(o.types ?? 24);
  const regions = o.regions ?? ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"];
  const instance_types = Object.fromEntries(
    types.map((t, i) => [
      t,
      {
        emr: i % 3 !== 0,
        cores: 2 << (i % 6),
        ram_gb: new PyFloat((4 << (i % 6)) * (i % 5 === 4 ? 1.5 : 1)),
      },
    ]),
  );
  const bands = (skip: number) =>
    Object.fromEntries(
      types
        .filter((_, i) => (i + skip) % 7 !== 0)
        .map((t) => [t, { s: Math.floor(rnd() * 90), r: Math.floor(rnd() * 5) }]),
    );
  // Windows is missing in some regions, as in the real file.
  const spot_advisor = Object.fromEntries(
    regions.map((r, i) => [
      r,
      i % 4 === 3 ? { Linux: bands(i) } : { Linux: bands(i), Windows: bands(i + 1) },
    ]),
  );
  return Buffer.from(pyDumps({ global_rate: "<10%", instance_types, ranges: RANGES, spot_advisor }));
}

export interface FeedOptions {
  /** Current region names; the old aliases are added beside them. */
  regions?: string[];
  types?: number;
  seed?: number;
}

const LEGACY_REGIONS = ["us-east", "eu-ireland", "apac-sin"];
const GROUPS = [
  "generalCurrentGen",
  "hiMemCurrentGen",
  "storagePreviousGen",
  "Memory Optimized - Previous Generation",
];

/** A price as the feed writes it: a decimal string, sometimes `N/A*` or Java's scientific form. */
function feedPrice(rnd: () => number, i: number): string {
  if (i % 11 === 5) return "N/A*";
  if (i % 13 === 7) return "9.0E-4";
  return (rnd() * 4).toFixed(4).replace(/0+$/, "").replace(/\.$/, ".0");
}

/** The feed's object (the JSON inside every form). */
export function feedObject(o: FeedOptions = {}): unknown {
  const rnd = seeded(o.seed ?? 11);
  const types = instanceTypes(o.types ?? 18);
  let n = 0;
  const regions = [...(o.regions ?? ["us-east-1", "eu-west-1", "ap-northeast-1"]), ...LEGACY_REGIONS].map(
    (region) => ({
      region,
      footnotes: { "*": "notAvailableForCCorCGPU" },
      instanceTypes: GROUPS.map((type, g) => ({
        type,
        // The last group is one of the many the feed keeps empty.
        sizes:
          g === GROUPS.length - 1
            ? []
            : types
                .filter((_, i) => i % (GROUPS.length - 1) === g)
                .map((size) => ({
                  size,
                  valueColumns: [
                    { name: "linux", prices: { USD: feedPrice(rnd, n++) } },
                    { name: "mswin", prices: { USD: feedPrice(rnd, n++) } },
                  ],
                })),
      })),
    }),
  );
  return {
    vers: 0.01,
    config: { rate: "perhr", valueColumns: ["linux", "mswin"], currencies: ["USD"], regions },
  };
}

/** Served `callback(…);` with whitespace around the JSON (`spaced`), or tight. */
export type JsonpStyle = "tight" | "spaced";

export class FakeSpotAdvisor extends FakeApi {
  private doc: Served;

  constructor(o: AdvisorOptions = {}) {
    super(new FakeServer({ tls: true }));
    this.doc = this.served(advisorDocument(o));
    this.server.route("GET", ADVISOR_PATH, (req) => conditional(req, this.doc));
  }

  /** The value for CONTRAIL_AWS_SPOT_ADVISOR_URL. */
  get url(): string {
    return `${this.server.baseUrl}${ADVISOR_PATH}`;
  }

  bytes(): Buffer {
    return this.doc.body;
  }

  etag(): string {
    return this.doc.etag;
  }

  /** AWS republishes the advisor: new bytes, new ETag. */
  publish(o: AdvisorOptions): void {
    this.doc = this.served(advisorDocument(o));
  }

  /** The same bytes uploaded again: S3 gives them the same MD5 ETag unless uploaded in parts; `etag` forces one. */
  reupload(etag: string): void {
    this.doc = { ...this.doc, etag, lastModified: new Date() };
  }

  private served(body: Buffer): Served {
    return {
      body,
      contentType: "application/json",
      etag: s3Etag(body),
      lastModified: new Date(),
      headers: { server: "AmazonS3" },
    };
  }
}

export class FakeSpotFeed extends FakeApi {
  jsonpStyle: JsonpStyle = "tight";
  private json: Buffer;
  /** The ETag of each path's current bytes. */
  private modified = new Date();
  private etagSuffix = "";

  constructor(o: FeedOptions = {}) {
    super(new FakeServer({ tls: true }));
    this.json = Buffer.from(JSON.stringify(feedObject(o)));
    this.server.route("GET", FEED_PATH, (req) =>
      conditional(req, this.served(this.json, "application/json")),
    );
    this.server.route("GET", FEED_JSONP_PATH, (req, url) =>
      conditional(
        req,
        this.served(this.jsonp(url.searchParams.get("callback") ?? "callback"), "application/javascript"),
      ),
    );
    this.server.route("GET", FEED_LEGACY_PATH, (req) =>
      conditional(req, this.served(this.legacy(), "application/javascript")),
    );
  }

  url(path: string = FEED_PATH): string {
    return `${this.server.baseUrl}${path}`;
  }

  /** The JSON inside every form: what a capture stores. */
  jsonBytes(): Buffer {
    return this.json;
  }

  /** `callback({…});` as served (tight or spaced). */
  jsonp(name = "callback"): Buffer {
    const [open, close] = this.jsonpStyle === "spaced" ? [`${name} (\n  `, "\n) ;\n"] : [`${name}(`, ");"];
    return Buffer.concat([Buffer.from(open), this.json, Buffer.from(close)]);
  }

  /** The old form: a JavaScript object literal, its keys unquoted (`{vers:0.01,config:{…}}`). */
  legacy(): Buffer {
    return Buffer.from(`callback(${this.json.toString("utf8").replace(/"([A-Za-z]\w*)":/g, "$1:")});`);
  }

  /** The hourly refresh: new prices, new ETag. */
  publish(o: FeedOptions): void {
    this.json = Buffer.from(JSON.stringify(feedObject(o)));
    this.modified = new Date();
  }

  /** The same bytes with a new ETag (CloudFront's edge, or a re-upload): only the content says it is unchanged. */
  newEtag(): void {
    this.etagSuffix += "x";
  }

  private served(body: Buffer, contentType: string): Served {
    const etag = this.etagSuffix ? s3Etag(Buffer.concat([body, Buffer.from(this.etagSuffix)])) : s3Etag(body);
    return { body, contentType, etag, lastModified: this.modified, headers: { server: "AmazonS3" } };
  }
}
