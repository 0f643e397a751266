// AmazonEC2 offers (wire-formats §1.5): one row per price dimension and currency of every OnDemand and Reserved term.
// `products` and `terms` are both maps keyed by SKU and may come in either order, so each goes to its own staging
// table and DuckDB joins them at the end (spilling to disk when they outgrow its memory limit).
//
// JavaScript only cuts the values out (one product; one SKU's terms of a type) and stages them as JSON lines with
// their keys from the path: DuckDB parses them with explicit types, which is most of the work for a GB-sized offer.
// Both are split into buckets by the SKU they are keyed by, so a large offer is joined a bucket at a time.
//
// The rows' order in the file: a product's rows together, products of an instance type (then operating system,
// pre-installed software, tenancy, licence model, capacity status, usage type) next to each other. Neighbouring
// rows then share most of their values, which is what Parquet's dictionaries and ZSTD feed on: a GB offer's file
// took 23.3 MB in the offer's own order, 10.0 MB in this one (when the fake still priced each SKU apart; 6.5 MB with
// its prices now). JavaScript ranks the products (it sees them all
// before the first term, and reads those attributes from their bytes); the buckets are ranges of ranks; DuckDB
// sorts each bucket's term rows, which are narrow, by rank before joining them to their products, which are wide.
import type { JsonPath } from "../scan.js";
import { bucketOf, HELD, type Stage } from "../staging.js";
import { sqlString } from "../tables.js";
import { decimalSql, parse, text, type Extractor } from "./extractor.js";
import { SkuIndex, Words } from "./sku-index.js";

const TERM_TYPES = new Set(["OnDemand", "Reserved"]);

// Product attribute → column, for the attributes a person filters on (every attribute is also kept as JSON).
const ATTRIBUTE_COLUMNS = [
  ["instanceType", "instance_type"],
  ["vcpu", "vcpu"],
  ["memory", "memory"],
  ["operatingSystem", "operating_system"],
  ["tenancy", "tenancy"],
  ["preInstalledSw", "pre_installed_sw"],
  ["licenseModel", "license_model"],
  ["capacitystatus", "capacity_status"],
  ["usagetype", "usage_type"],
  ["operation", "operation"],
  ["location", "location"],
] as const;

// The shapes DuckDB reads the staged values with. Fields not named here are ignored; a missing one is NULL.
const PRODUCT = "STRUCT(sku VARCHAR, productFamily VARCHAR, attributes JSON)";
const DIMENSION =
  "STRUCT(rateCode VARCHAR, description VARCHAR, beginRange VARCHAR, endRange VARCHAR, unit VARCHAR, pricePerUnit MAP(VARCHAR, VARCHAR))";
const TERM = `STRUCT(offerTermCode VARCHAR, sku VARCHAR, effectiveDate VARCHAR, priceDimensions MAP(VARCHAR, ${DIMENSION}), termAttributes MAP(VARCHAR, VARCHAR))`;

// The product attributes the products are ranked by, in that order (then by SKU).
const ORDER_ATTRIBUTES = [
  "instanceType", "operatingSystem", "preInstalledSw", "tenancy", "licenseModel", "capacitystatus", "usagetype",
].map((name) => Buffer.from(`"${name}":"`)); // prettier-ignore

/**
 * A product's rank key, read from its compact JSON bytes without parsing them: each of ORDER_ATTRIBUTES (U+FFFF, last,
 * when missing) joined by U+0000, so that the keys compare attribute by attribute.
 */
export function orderKeyOf(json: Buffer): string {
  let key = "";
  for (const name of ORDER_ATTRIBUTES) {
    const at = json.indexOf(name);
    const start = at + name.length;
    const end = at < 0 ? -1 : json.indexOf(0x22, start);
    // A value with an escape (none of these has one) is left out of the order, which only costs compression.
    key +=
      (end < 0 || json.subarray(start, end).includes(0x5c) ? "\uffff" : json.toString("utf8", start, end)) +
      "\0";
  }
  return key;
}

/** The SKU of a staged product line, `{"k":"<sku>",…`. */
function skuOfLine(line: Buffer): string {
  return JSON.parse(line.toString("utf8", 5, line.indexOf('","v":') + 1)) as string;
}

/**
 * Which bucket each SKU's product and terms go to, and each product's rank. Buckets are sorted and joined one at a
 * time, then written one after another: so that the whole file is in rank order, the buckets are ranges of ranks.
 * - Products before terms (as in real offers): the products are held until the first term. By then every product's
 *   rank key is known, so the products, ranked, are cut into as many buckets (of even bytes) as hashing would use, the
 *   held products are moved to their buckets, and each term follows its SKU, carrying its rank.
 * - Terms first: there is nothing to rank by yet, so both go by a hash of the SKU, in the offer's order.
 * Either way a SKU's product and terms share a bucket, which is all the join needs.
 */
class Ec2Buckets {
  // The held products, numbered by the index: each one's rank key (interned: many products share one) and bytes.
  private index = new SkuIndex();
  private keyOf = new Words();
  private bytesOf = new Words();
  private readonly interned = new Map<string, number>();
  private keys: string[] = [];
  private productBytes = 0;
  // Once cut: each product's rank, and the first rank of each bucket.
  private ranks: Uint32Array | undefined;
  private readonly starts: number[] = [];
  private state: "start" | "holding" | "cut" | "hashed" = "start";

  /** Whether the terms carry their product's rank (products came first). */
  get ranked(): boolean {
    return this.state === "cut";
  }

  constructor(private readonly stage: Stage) {}

  product(sku: string, json: Buffer): number {
    if (this.state === "start") this.state = "holding";
    if (this.state !== "holding") return this.bucketOfSku(sku);
    const key = orderKeyOf(json);
    let k = this.interned.get(key);
    if (k === undefined) {
      this.interned.set(key, (k = this.keys.length));
      this.keys.push(key);
    }
    const n = this.index.add(sku);
    if (n === this.keyOf.length) {
      this.keyOf.push(k);
      this.bytesOf.push(json.length);
    } else {
      // The same SKU again (not in a valid offer): the last one's place counts, as in a JSON object.
      this.keyOf.set(n, k);
      this.bytesOf.set(n, json.length);
    }
    this.productBytes += json.length;
    return HELD;
  }

  /** Where a SKU's terms go, and its product's rank when the products came first (one lookup for both). */
  terms(sku: string): { bucket: number; rank: number | undefined } {
    if (this.state === "start") this.state = "hashed";
    if (this.state === "holding") this.cut();
    const rank = this.rank(sku);
    return { bucket: this.bucketFor(sku, rank), rank };
  }

  /** A SKU's rank, when its product came before the terms. */
  private rank(sku: string): number | undefined {
    if (this.ranks === undefined) return undefined;
    const n = this.index.get(sku);
    return n === undefined ? undefined : this.ranks[n];
  }

  private bucketOfSku(sku: string): number {
    return this.bucketFor(sku, this.rank(sku));
  }

  /** A ranked SKU's bucket is the range of ranks it falls in; any other's, a hash of the SKU. */
  private bucketFor(sku: string, v: number | undefined): number {
    if (v === undefined) return bucketOf(sku, this.stage.hashBuckets);
    // The last bucket that starts at or before the rank.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= v) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Gives the held products their buckets (called after the scan too: an offer may have no terms). */
  async finish(): Promise<void> {
    if (this.state === "holding") this.cut();
    await this.stage.split("products", (line) => this.bucketOfSku(skuOfLine(line)));
    // Every product and term is in its bucket: the index is not needed for DuckDB's part.
    this.index = new SkuIndex();
    this.ranks = undefined;
  }

  private cut(): void {
    this.state = "cut";
    const cap = this.productBytes / this.stage.hashBuckets;
    const { index, keyOf, bytesOf } = this;
    // The rank keys' own order, then the products by key, then by SKU.
    const keyRank = new Uint32Array(this.keys.length);
    this.keys
      .map((key, k) => [key, k] as const)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .forEach(([, k], rank) => (keyRank[k] = rank));
    const order = new Uint32Array(index.size).map((_, n) => n);
    order.sort((a, b) => keyRank[keyOf.get(a)]! - keyRank[keyOf.get(b)]! || index.compare(a, b));
    const ranks = new Uint32Array(index.size);
    let used = 0;
    this.starts.push(0);
    order.forEach((n, rank) => {
      if (used > 0 && used + bytesOf.get(n) > cap) {
        this.starts.push(rank);
        used = 0;
      }
      used += bytesOf.get(n);
      ranks[n] = rank;
    });
    this.ranks = ranks;
    this.keyOf = this.bytesOf = new Words(0);
    this.keys = [];
    this.interned.clear();
  }
}

export function ec2Extractor(): Extractor {
  let version: string | undefined;
  let buckets: Ec2Buckets | undefined;
  return {
    staging: {
      // k: the SKU the value is keyed by (the fallback when a product or term lacks its own `sku`).
      products: { json: { k: "VARCHAR", v: PRODUCT } },
      // t: the term type; v: the SKU's terms of that type, keyed by `<sku>.<offerTermCode>`.
      terms: { json: { t: "VARCHAR", r: "INTEGER", k: "VARCHAR", v: `MAP(VARCHAR, ${TERM})` } },
    },
    choose(path: JsonPath) {
      if (path.length === 0) return "descend";
      const [top, type] = path;
      if (path.length === 1) {
        if (top === "version") return "take";
        return top === "products" || top === "terms" ? "descend" : "skip";
      }
      if (top === "products") return path.length === 2 ? "take" : "skip";
      if (top === "terms") {
        if (!TERM_TYPES.has(type!)) return "skip";
        return path.length === 2 ? "descend" : "take";
      }
      return "skip";
    },
    value(path, json, stage) {
      if (path.length === 1) return void (version = text(parse(json)));
      buckets ??= new Ec2Buckets(stage);
      if (path[0] === "products") {
        const sku = path[1]!;
        stage.json("products", `"k":${JSON.stringify(sku)},`, json, buckets.product(sku, json));
      } else {
        const sku = path[2]!;
        const { bucket, rank } = buckets.terms(sku);
        const head = `"t":${JSON.stringify(path[1])},"r":${rank ?? null},"k":${JSON.stringify(sku)},`;
        stage.json("terms", head, json, bucket);
      }
    },
    finish: async () => buckets?.finish(),
    select(capturedAt) {
      const attribute = (i: number) => `p.a[${i + 1}]`;
      const attributes = ATTRIBUTE_COLUMNS.map(([, column], i) =>
        column === "vcpu" ? `TRY_CAST(${attribute(i)} AS INTEGER) AS vcpu` : `${attribute(i)} AS ${column}`,
      );
      const paths = ATTRIBUTE_COLUMNS.map(([name]) => sqlString(`$.${JSON.stringify(name)}`)).join(", ");
      return `WITH
      term AS (SELECT t AS term_type, r, k AS key_sku, unnest(map_values(v)) AS term FROM terms),
      dimension AS (SELECT term_type, r, COALESCE(term.sku, key_sku) AS sku, term.offerTermCode AS offer_term_code,
          term.effectiveDate AS effective_date, term.termAttributes AS ta,
          unnest(map_values(term.priceDimensions)) AS d FROM term),
      rate AS (SELECT *, unnest(map_entries(d.pricePerUnit)) AS pp FROM dimension),
      sorted AS (SELECT * FROM rate ${buckets?.ranked ? "ORDER BY r, term_type, offer_term_code, d.rateCode, pp.key" : ""}),
      product AS (SELECT COALESCE(v.sku, k) AS sku, v.productFamily AS product_family,
          COALESCE(v.attributes, '{}')::VARCHAR AS attributes,
          json_extract_string(v.attributes, [${paths}]) AS a FROM products)
      SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        ${version === undefined ? "NULL" : sqlString(version)}::VARCHAR AS offer_version,
        r.sku, r.term_type, r.offer_term_code, r.d.rateCode AS rate_code, r.d.unit AS unit,
        ${decimalSql("r.pp.value")} AS price, r.pp.key AS currency,
        CAST(r.d.beginRange AS DOUBLE) AS begin_range, CAST(r.d.endRange AS DOUBLE) AS end_range,
        r.d.description AS description, CAST(r.effective_date AS TIMESTAMPTZ) AS effective_date,
        r.ta['LeaseContractLength'] AS lease_contract_length, r.ta['PurchaseOption'] AS purchase_option,
        r.ta['OfferingClass'] AS offering_class,
        p.product_family, ${attributes.join(", ")}, p.attributes
      FROM sorted r LEFT JOIN product p ON p.sku = r.sku`;
    },
  };
}
