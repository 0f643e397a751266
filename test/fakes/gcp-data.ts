// Generated Cloud Billing Catalog data in Google's real shapes (wire-formats §8): services as `/v1/services` lists
// them, SKUs with `category`, `serviceRegions`, `pricingInfo[].pricingExpression.tieredRates[].unitPrice` (`units` an
// int64 as a string, `nanos` an int, both negative for a discount), `geoTaxonomy`. Deterministic for a seed.
import { prng } from "./ec2-history.js";

export interface GcpService {
  name: string;
  serviceId: string;
  displayName: string;
  businessEntityName: string;
}

export interface GcpMoney {
  currencyCode: string;
  units: string;
  nanos: number;
}

export interface GcpSku {
  name: string;
  skuId: string;
  description: string;
  category: { serviceDisplayName: string; resourceFamily: string; resourceGroup: string; usageType: string };
  serviceRegions: string[];
  pricingInfo: {
    summary: string;
    pricingExpression: {
      usageUnit: string;
      usageUnitDescription: string;
      baseUnit: string;
      baseUnitDescription: string;
      baseUnitConversionFactor: number;
      displayQuantity: number;
      tieredRates: { startUsageAmount: number; unitPrice: GcpMoney }[];
    };
    aggregationInfo?: { aggregationLevel: string; aggregationInterval: string; aggregationCount: number };
    currencyConversionRate: number;
    effectiveTime: string;
  }[];
  serviceProviderName: string;
  geoTaxonomy?: { type: string; regions?: string[] };
}

export const COMPUTE_ENGINE_ID = "6F81-5844-456A";

const SERVICES: [string, string][] = [
  ["6F81-5844-456A", "Compute Engine"],
  ["95FF-2EF5-5EA1", "Cloud Storage"],
  ["9662-B51E-5089", "Cloud SQL"],
  ["152E-C115-5142", "Cloud Run"],
  ["CCD8-9BF1-090E", "Kubernetes Engine"],
];

export function generateServices(): GcpService[] {
  return SERVICES.map(([serviceId, displayName]) => ({
    name: `services/${serviceId}`,
    serviceId,
    displayName,
    businessEntityName: "businessEntities/GCP",
  }));
}

const REGIONS: [string, string][] = [
  ["us-east4", "Virginia"],
  ["us-central1", "Iowa"],
  ["europe-west1", "Belgium"],
  ["asia-northeast1", "Tokyo"],
  ["southamerica-east1", "Sao Paulo"],
];
const FAMILIES = ["N1", "N2", "E2", "C3", "T2D"];
const USAGE = ["OnDemand", "Preemptible", "Commit1Yr", "Commit3Yr"];

const hex = (r: () => number) =>
  Math.floor(r() * 0x10000)
    .toString(16)
    .toUpperCase()
    .padStart(4, "0");

/** `n` SKUs of service `serviceId`: cores, RAM, a two-tier network price and sustained-use discounts (negative). */
export function generateSkus(serviceId: string, n: number, seed = 1): GcpSku[] {
  const r = prng(seed);
  const display = SERVICES.find(([id]) => id === serviceId)?.[1] ?? "Some Service";
  const out: GcpSku[] = [];
  for (let i = 0; i < n; i++) {
    const skuId = `${hex(r)}-${hex(r)}-${hex(r)}`;
    const [region, city] = REGIONS[i % REGIONS.length]!;
    const family = FAMILIES[Math.floor(r() * FAMILIES.length)]!;
    const kind = i % 4;
    const usageType = kind === 3 ? "OnDemand" : USAGE[Math.floor(r() * USAGE.length)]!;
    const ram = kind === 1;
    const network = kind === 2;
    const discount = kind === 3;
    const nanos = Math.floor(r() * 1e9);
    const units = ram || network ? "0" : String(Math.floor(r() * 3));
    const tiers = network
      ? [
          { startUsageAmount: 0, unitPrice: { currencyCode: "USD", units: "0", nanos: 0 } },
          { startUsageAmount: 1024, unitPrice: { currencyCode: "USD", units, nanos } },
        ]
      : [
          {
            startUsageAmount: 0,
            unitPrice: discount
              ? // A discount: units and nanos share their sign (google.type.Money).
                { currencyCode: "USD", units: units === "0" ? "0" : `-${units}`, nanos: -nanos }
              : { currencyCode: "USD", units, nanos },
          },
        ];
    out.push({
      name: `services/${serviceId}/skus/${skuId}`,
      skuId,
      description: discount
        ? `Sustained Usage Discount for ${family} Core running in ${city}`
        : network
          ? `Network Internet Egress from ${city} to Americas`
          : `${family} Predefined Instance ${ram ? "Ram" : "Core"} running in ${city}`,
      category: {
        serviceDisplayName: display,
        resourceFamily: network ? "Network" : "Compute",
        resourceGroup: network ? "PremiumInternetEgress" : ram ? "RAM" : "CPU",
        usageType,
      },
      serviceRegions: network ? [region, "global"] : [region],
      pricingInfo: [
        {
          summary: "",
          pricingExpression: {
            usageUnit: network ? "GiBy" : ram ? "GiBy.h" : "h",
            usageUnitDescription: network ? "gibibyte" : ram ? "gibibyte hour" : "hour",
            baseUnit: network ? "By" : ram ? "By.s" : "s",
            baseUnitDescription: network ? "byte" : ram ? "byte second" : "second",
            baseUnitConversionFactor: network ? 1073741824 : ram ? 3865470566400 : 3600,
            displayQuantity: 1,
            tieredRates: tiers,
          },
          ...(discount
            ? {
                aggregationInfo: {
                  aggregationLevel: "ACCOUNT",
                  aggregationInterval: "MONTHLY",
                  aggregationCount: 1,
                },
              }
            : {}),
          currencyConversionRate: 1,
          effectiveTime: `2026-11-${String(1 + (i % 28)).padStart(2, "0")}T10:18:44.165Z`,
        },
      ],
      serviceProviderName: "Google",
      geoTaxonomy: network
        ? { type: "MULTI_REGIONAL", regions: [region] }
        : { type: "REGIONAL", regions: [region] },
    });
  }
  return out;
}
