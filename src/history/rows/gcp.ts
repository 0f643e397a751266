// GoogleCloud captures (`{"service", "skus"}`, SPEC §5): one row per tiered rate of every pricing of every SKU.
// Google sends a price as google.type.Money: `units` (an int64, as a string) and `nanos` (an int32, billionths, of
// the same sign); the price is their sum, computed here in integers and staged as decimal text, so no float ever
// touches it. Other numbers (`startUsageAmount`, conversion factors) are re-read as the text served.
import { numbersAsStrings } from "../scan.js";
import { TABLES } from "../tables.js";
import { decimalSql, text, type Extractor } from "./extractor.js";

/** The table's columns after `captured_at`, in order: the staged CSV's (tables.ts declares them once). */
const COLUMNS = TABLES.gcp_sku_prices.columns.slice(1).map(([name]) => name);

interface Money {
  currencyCode?: string;
  units?: string;
  nanos?: string;
}

interface Sku {
  name?: string;
  skuId?: string;
  description?: string;
  category?: Record<string, string | undefined>;
  serviceRegions?: string[];
  geoTaxonomy?: { type?: string };
  pricingInfo?: {
    summary?: string;
    effectiveTime?: string;
    currencyConversionRate?: string;
    aggregationInfo?: { aggregationLevel?: string; aggregationInterval?: string };
    pricingExpression?: {
      usageUnit?: string;
      usageUnitDescription?: string;
      baseUnit?: string;
      baseUnitConversionFactor?: string;
      displayQuantity?: string;
      tieredRates?: { startUsageAmount?: string; unitPrice?: Money }[];
    };
  }[];
}

const BILLION = 1_000_000_000n;

/**
 * `units` + `nanos` / 10⁹ as exact decimal text (`"-1"`, `-500000000` → `-1.500000000`; `"0"`, `-7370235` →
 * `-0.007370235`). Both absent: no price. proto3 JSON leaves zero fields out: a missing one is 0.
 */
export function moneyText(units: string | undefined, nanos: string | undefined): string | undefined {
  if (units === undefined && nanos === undefined) return undefined;
  const total = BigInt(units ?? "0") * BILLION + BigInt(nanos ?? "0");
  const abs = total < 0n ? -total : total;
  const frac = (abs % BILLION).toString().padStart(9, "0");
  return `${total < 0n ? "-" : ""}${abs / BILLION}.${frac}`;
}

function rows(sku: Sku, serviceId: string | undefined): (string | undefined)[][] {
  const out: (string | undefined)[][] = [];
  const c = sku.category ?? {};
  for (const p of sku.pricingInfo ?? []) {
    const e = p.pricingExpression ?? {};
    for (const t of e.tieredRates ?? []) {
      const money = t.unitPrice ?? {};
      out.push([
        serviceId,
        sku.skuId,
        sku.description,
        c.serviceDisplayName,
        c.resourceFamily,
        c.resourceGroup,
        c.usageType,
        JSON.stringify(sku.serviceRegions ?? []),
        sku.geoTaxonomy?.type,
        e.usageUnit,
        e.usageUnitDescription,
        e.baseUnit,
        e.baseUnitConversionFactor,
        e.displayQuantity,
        // proto3 JSON leaves a zero out: the first tier may have no startUsageAmount.
        t.startUsageAmount ?? "0",
        moneyText(money.units, money.nanos),
        money.currencyCode,
        p.currencyConversionRate,
        p.aggregationInfo?.aggregationLevel,
        p.aggregationInfo?.aggregationInterval,
        p.effectiveTime,
        p.summary,
      ]);
    }
  }
  return out;
}

export function gcpExtractor(): Extractor {
  let serviceId: string | undefined;
  return {
    staging: { rates: { csv: COLUMNS } },
    choose(path) {
      if (path.length === 0) return "descend";
      if (path.length === 1) return path[0] === "service" ? "take" : path[0] === "skus" ? "descend" : "skip";
      return path[0] === "skus" && path.length === 2 ? "take" : "skip";
    },
    value(path, json, stage) {
      if (path.length === 1) {
        serviceId = text((JSON.parse(json.toString("utf8")) as { serviceId?: unknown }).serviceId);
        return;
      }
      const sku = JSON.parse(numbersAsStrings(json.toString("utf8"))) as Sku;
      // A SKU's name says its service (`services/<id>/skus/<skuId>`), whatever the order of the capture's keys.
      const id = /^services\/([^/]+)\/skus\//.exec(sku.name ?? "")?.[1] ?? serviceId;
      for (const row of rows(sku, id)) stage.row("rates", row);
    },
    select: (capturedAt) => `SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        service_id, sku_id, description, service_display_name, resource_family, resource_group, usage_type,
        from_json(regions, '["VARCHAR"]') AS regions, geo_taxonomy_type, unit, unit_description, base_unit,
        CAST(base_unit_conversion_factor AS DOUBLE) AS base_unit_conversion_factor,
        CAST(display_quantity AS DOUBLE) AS display_quantity,
        ${decimalSql("tier_start")} AS tier_start, ${decimalSql("price")} AS price, currency,
        CAST(currency_conversion_rate AS DOUBLE) AS currency_conversion_rate,
        aggregation_level, aggregation_interval, CAST(effective_time AS TIMESTAMPTZ) AS effective_time, summary
      FROM rates`,
  };
}
