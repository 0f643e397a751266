// The history tables of SPEC §8: names, columns and DuckDB types. This is the public interface of the history:
// the derivation writes exactly these columns (a test reads them back with another Parquet reader), `contrail query`
// creates empty tables of this shape when a table has no file yet, and docs/history.md lists them.
import { ContrailError } from "../errors.js";
import type { SourceName } from "../types.js";

export const PRICE = "DECIMAL(38,10)";
export const TIME = "TIMESTAMPTZ";

export type Column = readonly [name: string, type: string];

const EC2: readonly Column[] = [
  ["captured_at", TIME],
  ["offer_version", "VARCHAR"],
  ["sku", "VARCHAR"],
  ["term_type", "VARCHAR"],
  ["offer_term_code", "VARCHAR"],
  ["rate_code", "VARCHAR"],
  ["unit", "VARCHAR"],
  ["price", PRICE],
  ["currency", "VARCHAR"],
  ["begin_range", "DOUBLE"],
  ["end_range", "DOUBLE"],
  ["description", "VARCHAR"],
  ["effective_date", TIME],
  ["lease_contract_length", "VARCHAR"],
  ["purchase_option", "VARCHAR"],
  ["offering_class", "VARCHAR"],
  ["product_family", "VARCHAR"],
  ["instance_type", "VARCHAR"],
  ["vcpu", "INTEGER"],
  ["memory", "VARCHAR"],
  ["operating_system", "VARCHAR"],
  ["tenancy", "VARCHAR"],
  ["pre_installed_sw", "VARCHAR"],
  ["license_model", "VARCHAR"],
  ["capacity_status", "VARCHAR"],
  ["usage_type", "VARCHAR"],
  ["operation", "VARCHAR"],
  ["location", "VARCHAR"],
  ["attributes", "VARCHAR"],
];

const SPOT: readonly Column[] = [
  ["captured_at", TIME],
  ["availability_zone", "VARCHAR"],
  ["instance_type", "VARCHAR"],
  ["product_description", "VARCHAR"],
  ["price", PRICE],
  ["timestamp", TIME],
  ["attributes", "VARCHAR"],
];

const RETAIL: readonly Column[] = [
  ["captured_at", TIME],
  ["currency_code", "VARCHAR"],
  ["tier_minimum_units", PRICE],
  ["retail_price", PRICE],
  ["unit_price", PRICE],
  ["arm_region_name", "VARCHAR"],
  ["location", "VARCHAR"],
  ["effective_start_date", TIME],
  ["effective_end_date", TIME],
  ["meter_id", "VARCHAR"],
  ["meter_name", "VARCHAR"],
  ["product_id", "VARCHAR"],
  ["sku_id", "VARCHAR"],
  ["availability_id", "VARCHAR"],
  ["product_name", "VARCHAR"],
  ["sku_name", "VARCHAR"],
  ["service_name", "VARCHAR"],
  ["service_id", "VARCHAR"],
  ["service_family", "VARCHAR"],
  ["unit_of_measure", "VARCHAR"],
  ["type", "VARCHAR"],
  ["is_primary_meter_region", "BOOLEAN"],
  ["arm_sku_name", "VARCHAR"],
  ["reservation_term", "VARCHAR"],
  ["savings_plan", "VARCHAR"],
];

const RATECARD: readonly Column[] = [
  ["captured_at", TIME],
  ["meter_id", "VARCHAR"],
  ["meter_name", "VARCHAR"],
  ["meter_category", "VARCHAR"],
  ["meter_sub_category", "VARCHAR"],
  ["meter_region", "VARCHAR"],
  ["meter_status", "VARCHAR"],
  ["unit", "VARCHAR"],
  ["included_quantity", PRICE],
  ["effective_date", TIME],
  ["tier_minimum", PRICE],
  ["rate", PRICE],
  ["currency", "VARCHAR"],
];

const SAVINGS_PLAN: readonly Column[] = [
  ["captured_at", TIME],
  ["version", "VARCHAR"],
  ["sku", "VARCHAR"],
  ["savings_plan_offering", "VARCHAR"],
  ["lease_contract_length", "VARCHAR"],
  ["purchase_option", "VARCHAR"],
  ["usage_type", "VARCHAR"],
  ["operation", "VARCHAR"],
  ["rate", PRICE],
  ["currency", "VARCHAR"],
  ["unit", "VARCHAR"],
  ["rate_code", "VARCHAR"],
  ["discounted_sku", "VARCHAR"],
  ["discounted_service_code", "VARCHAR"],
  ["discounted_instance_type", "VARCHAR"],
  ["discounted_region_code", "VARCHAR"],
  ["plan_usage_type", "VARCHAR"],
  ["effective_date", TIME],
];

const GCP: readonly Column[] = [
  ["captured_at", TIME],
  ["service_id", "VARCHAR"],
  ["sku_id", "VARCHAR"],
  ["description", "VARCHAR"],
  ["service_display_name", "VARCHAR"],
  ["resource_family", "VARCHAR"],
  ["resource_group", "VARCHAR"],
  ["usage_type", "VARCHAR"],
  ["regions", "VARCHAR[]"],
  ["geo_taxonomy_type", "VARCHAR"],
  ["unit", "VARCHAR"],
  ["unit_description", "VARCHAR"],
  ["base_unit", "VARCHAR"],
  ["base_unit_conversion_factor", "DOUBLE"],
  ["display_quantity", "DOUBLE"],
  ["tier_start", PRICE],
  ["price", PRICE],
  ["currency", "VARCHAR"],
  ["currency_conversion_rate", "DOUBLE"],
  ["aggregation_level", "VARCHAR"],
  ["aggregation_interval", "VARCHAR"],
  ["effective_time", TIME],
  ["summary", "VARCHAR"],
];

export const TABLES = {
  aws_ec2_prices: { source: "AmazonEC2", columns: EC2 },
  aws_spot_prices: { source: "AmazonEC2Spot", columns: SPOT },
  azure_retail_prices: { source: "AzureRetail", columns: RETAIL },
  azure_ratecard_prices: { source: "Azure", columns: RATECARD },
  aws_savings_plan_rates: { source: "AWSComputeSavingsPlan", columns: SAVINGS_PLAN },
  gcp_sku_prices: { source: "GoogleCloud", columns: GCP },
} as const satisfies Record<string, { source: SourceName; columns: readonly Column[] }>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

export function tableOf(source: SourceName): TableName {
  const table = TABLE_NAMES.find((t) => TABLES[t].source === source);
  if (!table) throw new ContrailError("HISTORY", `${source} has no history table`);
  return table;
}

/** Whether a source's captures are derived into a history table (a source without one is left alone). */
export function hasTable(source: SourceName): boolean {
  return TABLE_NAMES.some((t) => TABLES[t].source === source);
}

/** `history/<table>/region=<region>/<capturedAt>.parquet` (SPEC §8: Hive-style, so readers see `region`). */
export function historyKey(table: TableName, region: string, capturedAt: string): string {
  return `${historyPrefix(table)}region=${region}/${capturedAt}.parquet`;
}

export function historyPrefix(table?: TableName): string {
  return table ? `history/${table}/` : "history/";
}

/** Quotes a value as an SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
