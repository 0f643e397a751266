// Seeded test data for the Azure fakes: RateCard meters, Compute resource SKUs, Retail Prices items.
import { hashSeed, prng } from "./ec2-history.js";

export { prng };

/** A RateCard meter (PascalCase, as the RateCard API serves it). */
export interface RateCardMeter {
  EffectiveDate: string;
  IncludedQuantity: number;
  MeterCategory: string;
  MeterId: string;
  MeterName: string;
  MeterRates: Record<string, number>;
  MeterRegion: string;
  MeterStatus: string;
  MeterSubCategory: string;
  MeterTags: string[];
  Unit: string;
}

export interface RateCard {
  OfferTerms: unknown[];
  Meters: RateCardMeter[];
  Currency: string;
  Locale: string;
  IsTaxIncluded: boolean;
}

export interface ResourceSku {
  resourceType: string;
  name: string;
  tier?: string;
  size?: string;
  family?: string;
  kind?: string | null;
  locations: string[];
  locationInfo: {
    location: string;
    zones: string[];
    zoneDetails: { name: string[]; capabilities: { name: string; value: string }[] }[];
  }[];
  capabilities?: { name: string; value: string }[];
  restrictions: unknown[];
  [k: string]: unknown;
}

/** A Retail Prices item (camelCase, prices as numbers). */
export type RetailItem = Record<string, unknown> & {
  retailPrice: number;
  unitPrice: number;
  type: string;
  meterId: string;
};

function uuid(rnd: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${"89ab"[Math.floor(rnd() * 4)]}${h.slice(17, 20)}-${h.slice(20)}`;
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function money(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

const REGIONS = [
  ["eastus", "US East"],
  ["westus2", "US West 2"],
  ["centralus", "US Central"],
  ["westeurope", "EU West"],
  ["northeurope", "EU North"],
  ["eastasia", "AP East"],
  ["southeastasia", "AP Southeast"],
  ["koreasouth", "KR South"],
] as const;

const VM_SIZES = [
  ["Standard_A1", "A1", "standardA0_A7Family", 1, 1.75],
  ["Standard_F2", "F2", "standardFFamily", 2, 4],
  ["Standard_F2s", "F2s", "standardFSFamily", 2, 4],
  ["Standard_F2s_v2", "F2s_v2", "standardFSv2Family", 2, 4],
  ["Standard_D2s_v3", "D2s_v3", "standardDSv3Family", 2, 8],
  ["Standard_D4s_v3", "D4s_v3", "standardDSv3Family", 4, 16],
  ["Standard_D32_v3", "D32_v3", "standardDv3Family", 32, 128],
  ["Standard_E8s_v3", "E8s_v3", "standardESv3Family", 8, 64],
  ["Standard_M32s", "M32s", "standardMSFamily", 32, 875],
  ["Standard_NC6", "NC6", "standardNCFamily", 6, 56],
  ["Standard_B1ms", "B1ms", "standardBSFamily", 1, 2],
  ["Standard_L8s_v2", "L8s_v2", "standardLSv2Family", 8, 64],
] as const;

const METER_KINDS = [
  ["Virtual Machines", "1 Hour"],
  ["Storage", "1 GB/Month"],
  ["SQL Database", "1/Day"],
  ["Networking", "1 GB"],
  ["Bandwidth", "1 GB"],
] as const;

/** `n` RateCard meters, deterministic for a seed. Some have tiered MeterRates. */
export function generateMeters(n: number, seed = 1): RateCardMeter[] {
  const rnd = prng(seed ^ 0x5eed);
  return Array.from({ length: n }, (_, i) => {
    const [category, unit] = METER_KINDS[i % METER_KINDS.length]!;
    const vm = pick(rnd, VM_SIZES);
    const name =
      category === "Virtual Machines"
        ? `${vm[1].replace("_", " ")}${rnd() < 0.3 ? " Low Priority" : ""}`
        : `${category} meter ${i}`;
    const price = money(rnd() * 5);
    const rates: Record<string, number> =
      rnd() < 0.2 ? { "0": price, "100": money(price * 0.8), "1000": money(price * 0.6) } : { "0": price };
    const month = String(1 + Math.floor(rnd() * 12)).padStart(2, "0");
    return {
      EffectiveDate: `${2014 + Math.floor(rnd() * 6)}-${month}-01T00:00:00Z`,
      IncludedQuantity: rnd() < 0.1 ? 5.0 : 0.0,
      MeterCategory: category,
      MeterId: uuid(rnd),
      MeterName: name,
      MeterRates: rates,
      MeterRegion: pick(rnd, REGIONS)[1],
      MeterStatus: rnd() < 0.05 ? "Deprecated" : "Active",
      MeterSubCategory:
        category === "Virtual Machines" ? `${vm[2]} ${rnd() < 0.5 ? "Windows" : ""}`.trim() : "",
      MeterTags: [],
      Unit: unit,
    };
  });
}

export function generateRateCard(meters: RateCardMeter[]): RateCard {
  return {
    OfferTerms: [
      {
        Name: "Monetary Credit",
        Credit: 0.0,
        TieredDiscount: {},
        ExcludedMeterIds: [],
        EffectiveDate: "2019-01-01T00:00:00Z",
      },
    ],
    Meters: meters,
    Currency: "USD",
    Locale: "en-US",
    IsTaxIncluded: false,
  };
}

function vmCapabilities(rnd: () => number, vcpus: number, mem: number): { name: string; value: string }[] {
  return [
    { name: "MaxResourceVolumeMB", value: String(vcpus * 16384) },
    { name: "OSVhdSizeMB", value: "1047552" },
    { name: "vCPUs", value: String(vcpus) },
    { name: "HyperVGenerations", value: rnd() < 0.5 ? "V1" : "V1,V2" },
    { name: "MemoryGB", value: String(mem) },
    { name: "MaxDataDiskCount", value: String(Math.min(64, vcpus * 4)) },
    { name: "LowPriorityCapable", value: "True" },
    { name: "PremiumIO", value: rnd() < 0.5 ? "True" : "False" },
    { name: "vCPUsAvailable", value: String(vcpus) },
    { name: "ACUs", value: String(100 + Math.floor(rnd() * 200)) },
    { name: "vCPUsPerCore", value: rnd() < 0.5 ? "1" : "2" },
    { name: "EphemeralOSDiskSupported", value: "False" },
  ];
}

/**
 * `n` resource SKU entries, deterministic for a seed: mostly virtualMachines (each size repeated for up to three
 * locations, with identical capabilities), some disks and availabilitySets. Capability values are strings.
 */
export function generateSkus(n: number, seed = 1): ResourceSku[] {
  const rnd = prng(seed ^ 0x5c05);
  const caps = new Map(VM_SIZES.map((s) => [s[0], vmCapabilities(prng(hashSeed(s[0]) ^ seed), s[3], s[4])]));
  const out: ResourceSku[] = [];
  let vm = 0;
  while (out.length < n) {
    const i = out.length;
    const loc = REGIONS[i % REGIONS.length]![0];
    const locationInfo = [{ location: loc, zones: rnd() < 0.5 ? ["1", "2", "3"] : [], zoneDetails: [] }];
    if (i % 7 === 5) {
      out.push({
        resourceType: "disks",
        name: pick(rnd, ["Premium_LRS", "Standard_LRS", "StandardSSD_LRS"]),
        tier: "Premium",
        size: "P10",
        family: "PremiumDisk",
        locations: [loc],
        locationInfo,
        capabilities: [
          { name: "MaxSizeGiB", value: "128" },
          { name: "MaxIOps", value: "500" },
        ],
        restrictions: [],
      });
    } else if (i % 7 === 6) {
      out.push({
        resourceType: "availabilitySets",
        name: pick(rnd, ["Aligned", "Classic"]),
        locations: [loc],
        locationInfo,
        capabilities: [{ name: "MaximumPlatformFaultDomainCount", value: "3" }],
        restrictions: [],
      });
    } else {
      const s = VM_SIZES[Math.floor(vm / 3) % VM_SIZES.length]!;
      const location = REGIONS[(Math.floor(vm / 3) + (vm % 3)) % REGIONS.length]![0];
      vm++;
      out.push({
        resourceType: "virtualMachines",
        name: s[0],
        tier: "Standard",
        size: s[1],
        family: s[2],
        locations: [location],
        locationInfo: [
          {
            location,
            zones: ["1", "2", "3"],
            zoneDetails: [{ name: ["2"], capabilities: [{ name: "UltraSSDAvailable", value: "True" }] }],
          },
        ],
        capabilities: caps.get(s[0])!,
        restrictions:
          rnd() < 0.1
            ? [
                {
                  type: "Location",
                  values: [location],
                  restrictionInfo: { locations: [location], zones: [] },
                  reasonCode: "NotAvailableForSubscription",
                },
              ]
            : [],
      });
    }
  }
  return out;
}

/** The `Capabilities` object Contrail adds to a RateCard capture for these SKUs (virtualMachines only). */
export function expectedCapabilities(skus: ResourceSku[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const s of skus) {
    if (s.resourceType !== "virtualMachines" || !s.size) continue;
    out[s.size.replace(/_/g, " ")] = Object.fromEntries((s.capabilities ?? []).map((c) => [c.name, c.value]));
  }
  return out;
}

const SERVICES = [
  ["Virtual Machines", "DZH313Z7MMC8", "Compute", "1 Hour"],
  ["Storage", "DZH317F1HKN0", "Storage", "1 GB/Month"],
  ["SQL Database", "DZH313Z7MMC9", "Databases", "1/Day"],
  ["Bandwidth", "DZH316TN3FNM", "Networking", "1 GB"],
] as const;

/** `n` Retail Prices items, deterministic for a seed (Consumption, Reservation, DevTestConsumption mixed). */
export function generateRetailItems(n: number, seed = 1, currency = "USD"): RetailItem[] {
  const rnd = prng(seed ^ 0x4e7a);
  return Array.from({ length: n }, (_, i) => {
    const [serviceName, serviceId, serviceFamily, unit] = SERVICES[i % SERVICES.length]!;
    const [arm, location] = pick(rnd, REGIONS);
    const vm = pick(rnd, VM_SIZES);
    const r = rnd();
    const type = r < 0.75 ? "Consumption" : r < 0.9 ? "Reservation" : "DevTestConsumption";
    const price = money(type === "Reservation" ? rnd() * 20_000 : rnd() * 3);
    const productId = `DZH318Z0${String(i % 997).padStart(4, "0")}`;
    const isVm = serviceName === "Virtual Machines";
    const skuName = isVm ? `${vm[1].replace("_", " ")}${rnd() < 0.15 ? " Spot" : ""}` : `Standard ${i}`;
    const item: RetailItem = {
      currencyCode: currency,
      tierMinimumUnits: 0.0,
      ...(type === "Reservation" ? { reservationTerm: rnd() < 0.5 ? "1 Year" : "3 Years" } : {}),
      retailPrice: price,
      unitPrice: price,
      armRegionName: arm,
      location,
      effectiveStartDate: `20${18 + Math.floor(rnd() * 6)}-0${1 + Math.floor(rnd() * 9)}-01T00:00:00Z`,
      ...(rnd() < 0.03 ? { effectiveEndDate: "2024-06-30T00:00:00Z" } : {}),
      meterId: uuid(rnd),
      meterName: isVm ? skuName : `${serviceName} ${i}`,
      productId,
      skuId: `${productId}/${String(i % 100).padStart(4, "0")}`,
      availabilityId: null,
      productName: isVm ? `Virtual Machines ${vm[2]} Series${rnd() < 0.3 ? " Windows" : ""}` : serviceName,
      skuName,
      serviceName,
      serviceId,
      serviceFamily,
      unitOfMeasure: type === "Reservation" ? "1 Hour" : unit,
      type,
      isPrimaryMeterRegion: rnd() < 0.9,
      armSkuName: isVm ? vm[0] : "",
    };
    if (isVm && type === "Consumption" && rnd() < 0.3) {
      item.savingsPlan = [
        { unitPrice: money(price * 0.7), retailPrice: money(price * 0.7), term: "1 Year" },
        { unitPrice: money(price * 0.5), retailPrice: money(price * 0.5), term: "3 Years" },
      ];
    }
    return item;
  });
}
