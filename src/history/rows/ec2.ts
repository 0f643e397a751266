// AmazonEC2 offers (wire-formats §1.5): one row per price dimension and currency of every OnDemand and Reserved term.
// `products` and `terms` are both maps keyed by SKU and may come in either order, so each goes to its own staging
// table and DuckDB joins them at the end (spilling to disk when they outgrow its memory limit).
//
// JavaScript only cuts the values out (one product; one SKU's terms of a type) and stages them as JSON lines with
// their keys from the path: DuckDB parses them with explicit types, which is most of the work for a GB-sized offer.
// Both are bucketed by the SKU they are keyed by, so a large offer is joined a bucket at a time.
import type { JsonPath } from "../scan.js";
import { sqlString } from "../tables.js";
import { decimalSql, parse, text, type Extractor } from "./extractor.js";

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

export function ec2Extractor(): Extractor {
  let version: string | undefined;
  return {
    staging: {
      // k: the SKU the value is keyed by (the fallback when a product or term lacks its own `sku`).
      products: { json: { k: "VARCHAR", v: PRODUCT } },
      // t: the term type; v: the SKU's terms of that type, keyed by `<sku>.<offerTermCode>`.
      terms: { json: { t: "VARCHAR", k: "VARCHAR", v: `MAP(VARCHAR, ${TERM})` } },
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
      if (path.length === 1) version = text(parse(json));
      else if (path[0] === "products")
        stage.json("products", `"k":${JSON.stringify(path[1])},`, json, path[1]!);
      else
        stage.json("terms", `"t":${JSON.stringify(path[1])},"k":${JSON.stringify(path[2])},`, json, path[2]!);
    },
    select(capturedAt) {
      const attribute = (i: number) => `p.a[${i + 1}]`;
      const attributes = ATTRIBUTE_COLUMNS.map(([, column], i) =>
        column === "vcpu" ? `TRY_CAST(${attribute(i)} AS INTEGER) AS vcpu` : `${attribute(i)} AS ${column}`,
      );
      const paths = ATTRIBUTE_COLUMNS.map(([name]) => sqlString(`$.${JSON.stringify(name)}`)).join(", ");
      return `WITH
      term AS (SELECT t AS term_type, k AS key_sku, unnest(map_values(v)) AS term FROM terms),
      dimension AS (SELECT term_type, COALESCE(term.sku, key_sku) AS sku, term.offerTermCode AS offer_term_code,
          term.effectiveDate AS effective_date, term.termAttributes AS ta,
          unnest(map_values(term.priceDimensions)) AS d FROM term),
      rate AS (SELECT *, unnest(map_entries(d.pricePerUnit)) AS pp FROM dimension),
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
      FROM rate r LEFT JOIN product p ON p.sku = r.sku`;
    },
  };
}
