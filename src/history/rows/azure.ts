// Azure captures: the Retail Prices API's items (one row each) and the RateCard's meters (one row per rate tier).
// Both send prices as JSON numbers; the scanner's text is re-read with numbers as strings, so 0.192 stays 0.192.
import { numbersAsStrings } from "../scan.js";
import { sqlString } from "../tables.js";
import { decimalSql, parse, text, type Extractor } from "./extractor.js";

// Item field → column (SPEC §8: every item field in snake_case).
const RETAIL_FIELDS = [
  ["currencyCode", "currency_code"],
  ["tierMinimumUnits", "tier_minimum_units"],
  ["retailPrice", "retail_price"],
  ["unitPrice", "unit_price"],
  ["armRegionName", "arm_region_name"],
  ["location", "location"],
  ["effectiveStartDate", "effective_start_date"],
  ["effectiveEndDate", "effective_end_date"],
  ["meterId", "meter_id"],
  ["meterName", "meter_name"],
  ["productId", "product_id"],
  ["skuId", "sku_id"],
  ["availabilityId", "availability_id"],
  ["productName", "product_name"],
  ["skuName", "sku_name"],
  ["serviceName", "service_name"],
  ["serviceId", "service_id"],
  ["serviceFamily", "service_family"],
  ["unitOfMeasure", "unit_of_measure"],
  ["type", "type"],
  ["isPrimaryMeterRegion", "is_primary_meter_region"],
  ["armSkuName", "arm_sku_name"],
  ["reservationTerm", "reservation_term"],
  ["savingsPlan", "savings_plan"],
] as const;
const DECIMALS = new Set(["tier_minimum_units", "retail_price", "unit_price"]);
const TIMES = new Set(["effective_start_date", "effective_end_date"]);

export function retailExtractor(): Extractor {
  return {
    staging: { items: { csv: RETAIL_FIELDS.map((f) => f[1]) } },
    choose: (path) =>
      path.length === 0 || (path.length === 1 && path[0] === "Items")
        ? "descend"
        : path.length === 2
          ? "take"
          : "skip",
    value(_path, bytes, stage) {
      const json = bytes.toString("utf8");
      const item = JSON.parse(numbersAsStrings(json)) as Record<string, unknown>;
      // savingsPlan stays JSON with numbers (its rates are nested, not columns of their own).
      if (item.savingsPlan !== undefined)
        item.savingsPlan = (JSON.parse(json) as Record<string, unknown>).savingsPlan;
      stage.row(
        "items",
        RETAIL_FIELDS.map(([field]) => text(item[field])),
      );
    },
    select: (capturedAt) => {
      const cols = RETAIL_FIELDS.map(([, c]) => {
        if (DECIMALS.has(c)) return `${decimalSql(c)} AS ${c}`;
        if (TIMES.has(c)) return `CAST(${c} AS TIMESTAMPTZ) AS ${c}`;
        if (c === "is_primary_meter_region") return `CAST(${c} AS BOOLEAN) AS ${c}`;
        return c;
      });
      return `SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at, ${cols.join(", ")} FROM items`;
    },
  };
}

interface Meter {
  MeterId?: string;
  MeterName?: string;
  MeterCategory?: string;
  MeterSubCategory?: string;
  MeterRegion?: string;
  MeterStatus?: string;
  Unit?: string;
  IncludedQuantity?: string;
  EffectiveDate?: string;
  MeterRates?: Record<string, string>;
}

export function ratecardExtractor(): Extractor {
  let currency: string | undefined;
  return {
    staging: {
      rates: {
        csv: [
          "meter_id",
          "meter_name",
          "meter_category",
          "meter_sub_category",
          "meter_region",
          "meter_status",
          "unit",
          "included_quantity",
          "effective_date",
          "tier_minimum",
          "rate",
        ],
      },
    },
    choose(path) {
      if (path.length === 0) return "descend";
      if (path.length === 1)
        return path[0] === "Currency" ? "take" : path[0] === "Meters" ? "descend" : "skip";
      return path[0] === "Meters" && path.length === 2 ? "take" : "skip";
    },
    value(path, json, stage) {
      if (path.length === 1) {
        currency = text(parse(json));
        return;
      }
      const m = JSON.parse(numbersAsStrings(json.toString("utf8"))) as Meter;
      // MeterRates: tier threshold (a string key) → rate; one row per tier.
      for (const [tier, rate] of Object.entries(m.MeterRates ?? {})) {
        stage.row("rates", [
          m.MeterId,
          m.MeterName,
          m.MeterCategory,
          m.MeterSubCategory,
          m.MeterRegion,
          m.MeterStatus,
          m.Unit,
          text(m.IncludedQuantity),
          m.EffectiveDate,
          tier,
          text(rate),
        ]);
      }
    },
    // The currency is a top-level field that may come after the meters: it is known only now, at the end.
    select: (capturedAt) => `SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        meter_id, meter_name, meter_category, meter_sub_category, meter_region, meter_status, unit,
        ${decimalSql("included_quantity")} AS included_quantity,
        CAST(effective_date AS TIMESTAMPTZ) AS effective_date,
        ${decimalSql("tier_minimum")} AS tier_minimum, ${decimalSql("rate")} AS rate,
        ${currency === undefined ? "NULL" : sqlString(currency)}::VARCHAR AS currency
      FROM rates`,
  };
}
