// AmazonEC2 offers (wire-formats §1.5): one row per price dimension and currency of every OnDemand and Reserved term.
// `products` and `terms` are both maps keyed by SKU and may come in either order, so each goes to its own staging
// table and DuckDB joins them at the end (spilling to disk when they outgrow its memory limit).
import type { JsonPath } from "../scan.js";
import { sqlString } from "../tables.js";
import { text, type Append, type Extractor } from "./extractor.js";

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

interface Product {
  sku?: string;
  productFamily?: string;
  attributes?: Record<string, unknown>;
}
interface Dimension {
  rateCode?: string;
  description?: string;
  beginRange?: string;
  endRange?: string;
  unit?: string;
  pricePerUnit?: Record<string, unknown>;
}
interface Term {
  offerTermCode?: string;
  sku?: string;
  effectiveDate?: string;
  priceDimensions?: Record<string, Dimension>;
  termAttributes?: Record<string, unknown>;
}

const TERM_COLUMNS = [
  "sku",
  "term_type",
  "offer_term_code",
  "effective_date",
  "lease_contract_length",
  "purchase_option",
  "offering_class",
  "rate_code",
  "description",
  "unit",
  "begin_range",
  "end_range",
  "currency",
  "price",
];

export function ec2Extractor(): Extractor {
  let version: string | undefined;
  return {
    staging: {
      products: ["sku", "product_family", ...ATTRIBUTE_COLUMNS.map((c) => c[1]), "attributes"],
      terms: TERM_COLUMNS,
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
    value(path, json, append) {
      if (path.length === 1) {
        version = text(JSON.parse(json));
      } else if (path[0] === "products") {
        appendProduct(path[1]!, JSON.parse(json) as Product, append);
      } else {
        const terms = JSON.parse(json) as Record<string, Term>;
        for (const term of Object.values(terms)) appendTerm(path[1]!, path[2]!, term, append);
      }
    },
    select(capturedAt) {
      return `SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        ${version === undefined ? "NULL" : sqlString(version)}::VARCHAR AS offer_version,
        t.sku, t.term_type, t.offer_term_code, t.rate_code, t.unit,
        CAST(t.price AS DECIMAL(38,10)) AS price, t.currency,
        CAST(t.begin_range AS DOUBLE) AS begin_range, CAST(t.end_range AS DOUBLE) AS end_range,
        t.description, CAST(t.effective_date AS TIMESTAMPTZ) AS effective_date,
        t.lease_contract_length, t.purchase_option, t.offering_class,
        p.product_family, p.instance_type, TRY_CAST(p.vcpu AS INTEGER) AS vcpu, p.memory, p.operating_system,
        p.tenancy, p.pre_installed_sw, p.license_model, p.capacity_status, p.usage_type, p.operation, p.location,
        p.attributes
      FROM terms t LEFT JOIN products p ON p.sku = t.sku`;
    },
  };
}

function appendProduct(key: string, p: Product, append: Append): void {
  const a = p.attributes ?? {};
  append("products", [
    p.sku ?? key,
    p.productFamily,
    ...ATTRIBUTE_COLUMNS.map(([attr]) => text(a[attr])),
    JSON.stringify(a),
  ]);
}

function appendTerm(termType: string, sku: string, t: Term, append: Append): void {
  const ta = t.termAttributes ?? {};
  const common = [
    t.sku ?? sku,
    termType,
    t.offerTermCode,
    t.effectiveDate,
    text(ta.LeaseContractLength),
    text(ta.PurchaseOption),
    text(ta.OfferingClass),
  ];
  for (const d of Object.values(t.priceDimensions ?? {})) {
    // One row per currency: the China regions' offers price in CNY, and a dimension may carry several.
    for (const [currency, price] of Object.entries(d.pricePerUnit ?? {})) {
      append("terms", [
        ...common,
        d.rateCode,
        d.description,
        d.unit,
        d.beginRange,
        d.endRange,
        currency,
        text(price),
      ]);
    }
  }
}
