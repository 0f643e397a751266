// AWSComputeSavingsPlan rate files ("More of the market"): one row per rate of every plan. A file lists its plans
// twice: as `products` (the purchase option and usage type) and as `terms.savingsPlan` (the lease length and the
// rates); DuckDB joins the two by the plan's SKU, so either may come first. Rates are many and small: each is parsed
// here and staged as CSV text exactly as served, and a plan's own fields as (plan, name, value) rows, since they
// may come after its rates. The plan a value belongs to is counted as the scan enters each element of the list.
import type { JsonPath } from "../scan.js";
import { sqlString } from "../tables.js";
import { decimalSql, parse, text, type Extractor } from "./extractor.js";

interface Rate {
  rateCode?: string;
  discountedSku?: string;
  discountedUsageType?: string;
  discountedOperation?: string;
  discountedServiceCode?: string;
  discountedInstanceType?: string;
  discountedRegionCode?: string;
  unit?: string;
  discountedRate?: { price?: unknown; currency?: unknown };
}
interface Product {
  sku?: string;
  usageType?: string;
  attributes?: { purchaseOption?: string; purchaseTerm?: string };
}
interface Lease {
  duration?: unknown;
  unit?: unknown;
}

const PLAN_FIELDS = new Set(["sku", "description", "effectiveDate", "leaseContractLength"]);

/** `{duration: 1, unit: "year"}` → `1yr`, as EC2's Reserved terms and the plans' `purchaseTerm` spell it. */
function leaseText(l: Lease): string | undefined {
  if (l.duration === undefined) return undefined;
  return l.unit === "year" ? `${text(l.duration)}yr` : `${text(l.duration)} ${text(l.unit) ?? ""}`.trim();
}

export function savingsPlanExtractor(): Extractor {
  let version: string | undefined;
  let plan = -1;
  return {
    staging: {
      products: { csv: ["sku", "plan_usage_type", "purchase_option", "purchase_term"] },
      plans: { csv: ["plan", "name", "value"] },
      rates: {
        csv: [
          "plan",
          "rate_code",
          "discounted_sku",
          "usage_type",
          "operation",
          "discounted_service_code",
          "discounted_instance_type",
          "discounted_region_code",
          "unit",
          "rate",
          "currency",
        ],
      },
    },
    choose(path: JsonPath) {
      const [top, sub, , field, item] = path;
      switch (path.length) {
        case 0:
          return "descend";
        case 1:
          return top === "version" ? "take" : top === "products" || top === "terms" ? "descend" : "skip";
        case 2:
          return top === "products" ? "take" : sub === "savingsPlan" ? "descend" : "skip";
      }
      if (top !== "terms") return "skip";
      if (path.length === 3) {
        plan++;
        return "descend";
      }
      if (path.length === 4) return field === "rates" ? "descend" : PLAN_FIELDS.has(field!) ? "take" : "skip";
      return path.length === 5 && item === "*" ? "take" : "skip";
    },
    value(path, json, stage) {
      if (path.length === 1) {
        version = text(parse(json));
      } else if (path[0] === "products") {
        const p = parse<Product>(json);
        const a = p.attributes ?? {};
        stage.row("products", [p.sku, p.usageType, a.purchaseOption, a.purchaseTerm]);
      } else if (path.length === 4) {
        const v = parse<unknown>(json);
        const value = path[3] === "leaseContractLength" ? leaseText(v as Lease) : text(v);
        stage.row("plans", [String(plan), path[3], value]);
      } else {
        const r = parse<Rate>(json);
        stage.row("rates", [
          String(plan),
          r.rateCode,
          r.discountedSku,
          r.discountedUsageType,
          r.discountedOperation,
          r.discountedServiceCode,
          r.discountedInstanceType,
          r.discountedRegionCode,
          r.unit,
          text(r.discountedRate?.price),
          text(r.discountedRate?.currency),
        ]);
      }
    },
    select(capturedAt) {
      const field = (name: string) => `max(value) FILTER (WHERE name = ${sqlString(name)})`;
      return `WITH
      plan AS (SELECT plan, ${field("sku")} AS sku, ${field("description")} AS description,
          ${field("effectiveDate")} AS effective_date, ${field("leaseContractLength")} AS lease
        FROM plans GROUP BY plan),
      product AS (SELECT * FROM products QUALIFY row_number() OVER (PARTITION BY sku) = 1)
      SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        ${version === undefined ? "NULL" : sqlString(version)}::VARCHAR AS version,
        p.sku, p.description AS savings_plan_offering, COALESCE(p.lease, d.purchase_term) AS lease_contract_length,
        d.purchase_option, r.usage_type, r.operation, ${decimalSql("r.rate")} AS rate, r.currency, r.unit,
        r.rate_code, r.discounted_sku, r.discounted_service_code, r.discounted_instance_type,
        r.discounted_region_code, d.plan_usage_type, CAST(p.effective_date AS TIMESTAMPTZ) AS effective_date
      FROM rates r JOIN plan p ON p.plan = r.plan LEFT JOIN product d ON d.sku = p.sku`;
    },
  };
}
