// The views of SPEC §8 over the history tables: one row per period in which a price held.
//
// A period of a key (e.g. an EC2 rate) starts at the first capture of its region that shows a price and lasts while
// every next capture of that region shows the same price (compared as numbers: 0.0960 = 0.096). It ends at the
// region's next capture in which the price differs or the rate is gone (`valid_to`), or is still current (NULL).
import { TABLES, type TableName } from "./tables.js";

interface PeriodView {
  name: string;
  table: TableName;
  keys: string[];
  prices: string[];
  carried: string[];
  /**
   * Carried columns that the key determines (an EC2 SKU is AWS's hash of its product's attributes: another
   * instance type is another SKU). They join the windows' partitions and the grouping, which gives the same periods
   * but lets DuckDB apply a filter on them before the windows instead of after (`WHERE instance_type = 'm5.large'`
   * then reads that type's rows, not every rate of every capture).
   */
  fixed?: string[];
}

const EC2: PeriodView = {
  name: "aws_ec2_price_history",
  table: "aws_ec2_prices",
  keys: ["sku", "term_type", "rate_code", "currency"],
  prices: ["price"],
  fixed: ["instance_type"],
  carried: [
    "unit",
    "offer_term_code",
    "begin_range",
    "end_range",
    "description",
    "effective_date",
    "lease_contract_length",
    "purchase_option",
    "offering_class",
    "product_family",
    "instance_type",
    "vcpu",
    "memory",
    "operating_system",
    "tenancy",
    "pre_installed_sw",
    "license_model",
    "capacity_status",
    "usage_type",
    "operation",
    "location",
    "offer_version",
    "attributes",
  ],
};

const RETAIL: PeriodView = {
  name: "azure_retail_price_history",
  table: "azure_retail_prices",
  keys: ["meter_id", "sku_id", "type", "reservation_term", "tier_minimum_units", "currency_code"],
  prices: ["retail_price", "unit_price"],
  carried: [
    "arm_region_name",
    "location",
    "effective_start_date",
    "effective_end_date",
    "meter_name",
    "product_id",
    "availability_id",
    "product_name",
    "sku_name",
    "service_name",
    "service_id",
    "service_family",
    "unit_of_measure",
    "is_primary_meter_region",
    "arm_sku_name",
    "savings_plan",
  ],
};

const SAVINGS_PLAN: PeriodView = {
  name: "aws_savings_plan_rate_history",
  table: "aws_savings_plan_rates",
  keys: ["rate_code", "currency"],
  prices: ["rate"],
  carried: [
    "sku",
    "savings_plan_offering",
    "lease_contract_length",
    "purchase_option",
    "usage_type",
    "operation",
    "unit",
    "discounted_sku",
    "discounted_service_code",
    "discounted_instance_type",
    "discounted_region_code",
    "plan_usage_type",
    "effective_date",
    "version",
  ],
};

const GCP_KEYS = ["sku_id", "tier_start", "currency"];
const GCP: PeriodView = {
  name: "gcp_sku_price_history",
  table: "gcp_sku_prices",
  keys: GCP_KEYS,
  prices: ["price"],
  // Every other column of the table, from its one declaration.
  carried: TABLES.gcp_sku_prices.columns
    .map(([name]) => name)
    .filter((c) => c !== "captured_at" && c !== "price" && !GCP_KEYS.includes(c)),
};

function periodView(v: PeriodView): string {
  const fixed = new Set(v.fixed);
  const key = ["region", ...v.keys, ...fixed].map((c) => `"${c}"`).join(", ");
  const same = v.prices.map((p) => `prev_${p} IS NOT DISTINCT FROM "${p}"`).join(" AND ");
  const latest = (c: string) => (fixed.has(c) ? `"${c}"` : `arg_max_null("${c}", captured_at) AS "${c}"`);
  return `CREATE VIEW ${v.name} AS
WITH captures AS (
  SELECT region, captured_at, lead(captured_at) OVER (PARTITION BY region ORDER BY captured_at) AS next_capture
  FROM (SELECT DISTINCT region, captured_at FROM ${v.table})
),
seen AS (
  SELECT t.*, c.next_capture,
    ${v.prices.map((p) => `lag("${p}") OVER k AS prev_${p}`).join(", ")},
    lag(c.next_capture) OVER k AS prev_next_capture
  FROM ${v.table} t JOIN captures c USING (region, captured_at)
  WINDOW k AS (PARTITION BY ${key} ORDER BY captured_at)
),
numbered AS (
  SELECT *, sum(CASE WHEN prev_next_capture = captured_at AND ${same} THEN 0 ELSE 1 END)
    OVER (PARTITION BY ${key} ORDER BY captured_at ROWS UNBOUNDED PRECEDING) AS period
  FROM seen
)
SELECT ${["region", ...v.keys].map((c) => `"${c}"`).join(", ")},
  ${v.prices.map(latest).join(", ")},
  min(captured_at) AS valid_from,
  arg_max_null(next_capture, captured_at) AS valid_to,
  ${v.carried.map(latest).join(",\n  ")}
FROM numbered
GROUP BY ${key}, period`;
}

// A spot record is its own period, until the series' next record; one seen in several captures counts once.
const SPOT = `CREATE VIEW aws_spot_price_history AS
WITH records AS (
  SELECT region, availability_zone, instance_type, product_description, "timestamp", price,
    min(captured_at) AS first_captured_at
  FROM aws_spot_prices
  GROUP BY ALL
)
SELECT region, availability_zone, instance_type, product_description, price,
  "timestamp" AS valid_from,
  lead("timestamp") OVER (
    PARTITION BY region, availability_zone, instance_type, product_description ORDER BY "timestamp", price
  ) AS valid_to,
  first_captured_at
FROM records`;

/** Each view's name, the table it reads, and its CREATE VIEW statement. */
export const VIEWS: readonly { name: string; table: TableName; sql: string }[] = [
  period(EC2),
  { name: "aws_spot_price_history", table: "aws_spot_prices", sql: SPOT },
  ...[RETAIL, SAVINGS_PLAN, GCP].map(period),
];

function period(v: PeriodView) {
  return { name: v.name, table: v.table, sql: periodView(v) };
}
