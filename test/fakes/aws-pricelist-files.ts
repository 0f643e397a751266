// The Price List files besides EC2's offers, for the fake Price List API (aws-pricing.ts): other services' offer
// files (wire-formats §1.5, the same shape as EC2's) and Compute Savings Plans rate files ("More of the market":
// `{version, publicationDate, regionCode, products: [], terms: {savingsPlan: [{…, rates: []}]}}`), each region's
// files kept by version like S3 keeps them, pretty-printed like AWS's (`"key" : value`, `[ {`).
import { createHash } from "node:crypto";
import {
  DEFAULT_VERSION,
  DISCLAIMER,
  dateVersion,
  prettyJson,
  publicationDate,
  versionDate,
} from "./aws-offer.js";

const SKU_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A deterministic SKU-like code (16 characters of AWS's alphabet) for a seed. */
export function skuOf(seed: string): string {
  const h = createHash("sha256").update(seed).digest();
  let s = "";
  for (let i = 0; i < 16; i++) s += SKU_ALPHABET[h[i]! % 32];
  return s;
}
/** A deterministic price with `digits` decimals in [lo, hi), as text. */
function priceOf(seed: string, lo: number, hi: number, digits: number): string {
  const x = createHash("sha256").update(seed).digest().readUInt32BE(0) / 2 ** 32;
  return (lo + x * (hi - lo)).toFixed(digits);
}

/** Makes one region's file of a version with `count` items (prices change with the version). */
export type FileMaker = (region: string, version: string, count: number) => unknown;

interface Region {
  current: string;
  count: number;
  versions: Map<string, Buffer | undefined>;
}

/** Every region's files by version, the path they are served at, and their bytes (made on first request). */
export class VersionedFiles {
  private readonly state = new Map<string, Region>();

  constructor(
    /** `/offers/v1.0/aws/AmazonRDS` or `/savingsPlan/v1.0/aws/AWSComputeSavingsPlan`. */
    readonly prefix: string,
    private readonly make: FileMaker,
  ) {}

  /** Adds or replaces a region whose current version is `version`, with `count` items. */
  set(region: string, opts: { version?: string; count?: number } = {}): this {
    const version = opts.version ?? DEFAULT_VERSION;
    versionDate(version);
    const st = this.state.get(region) ?? { current: version, count: opts.count ?? 4, versions: new Map() };
    st.current = version;
    if (opts.count !== undefined) st.count = opts.count;
    st.versions.set(version, undefined);
    this.state.set(region, st);
    return this;
  }
  remove(region: string): this {
    this.state.delete(region);
    return this;
  }
  /** Publishes the region's next version (one day later, new prices); returns it. */
  bump(region: string): string {
    const st = this.region(region);
    const version = dateVersion(new Date(versionDate(st.current).getTime() + 86_400_000));
    st.versions.set(version, undefined);
    st.current = version;
    return version;
  }
  regions(): string[] {
    return [...this.state.keys()];
  }
  version(region: string): string {
    return this.region(region).current;
  }
  /** The newest current version of any region (the indexes' publication date). */
  latest(): string {
    return [...this.state.values()].reduce((a, r) => (r.current > a ? r.current : a), DEFAULT_VERSION);
  }
  path(region: string, version = this.version(region)): string {
    return `${this.prefix}/${version}/${region}/index.json`;
  }
  bytes(region: string, version = this.version(region)): Buffer {
    const st = this.region(region);
    if (!st.versions.has(version)) throw new Error(`fake Price List: ${region} has no version ${version}`);
    let b = st.versions.get(version);
    if (!b) {
      b = Buffer.from(prettyJson(this.make(region, version, st.count)));
      st.versions.set(version, b);
    }
    return b;
  }
  /** The file a path names, if it is one of these (any version). */
  match(path: string): { region: string; version: string } | undefined {
    if (!path.startsWith(`${this.prefix}/`)) return undefined;
    const m = /^(\d{14})\/([a-z0-9-]+)\/index\.json$/.exec(path.slice(this.prefix.length + 1));
    if (!m || !this.state.get(m[2]!)?.versions.has(m[1]!)) return undefined;
    return { region: m[2]!, version: m[1]! };
  }
  private region(code: string): Region {
    const st = this.state.get(code);
    if (!st) throw new Error(`fake Price List: unknown region ${code} under ${this.prefix}`);
    return st;
  }
}

/** A service's offer file: `count` products, each with one OnDemand hourly price (EC2's file shape). */
export function serviceOffer(code: string): FileMaker {
  return (region, version, count) => {
    const products: Record<string, unknown> = {};
    const onDemand: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const sku = skuOf(`${code}/${region}/${i}`);
      products[sku] = {
        sku,
        productFamily: "Database Instance",
        attributes: {
          servicecode: code,
          location: region,
          locationType: "AWS Region",
          instanceType: `db.m5.${["large", "xlarge", "2xlarge", "4xlarge"][i % 4]}`,
          usagetype: `InstanceUsage:db.m5.${i}`,
          operation: `CreateDBInstance:000${i % 10}`,
          regionCode: region,
          servicename: code,
        },
      };
      const term = `${sku}.JRTCKXETXF`;
      const rate = `${term}.6YS6EN2CT7`;
      const price = priceOf(`${code}/${region}/${i}/${version}`, 0.01, 4, 10);
      onDemand[sku] = {
        [term]: {
          offerTermCode: "JRTCKXETXF",
          sku,
          effectiveDate: publicationDate(version),
          priceDimensions: {
            [rate]: {
              rateCode: rate,
              description: `$${price} per hour`,
              beginRange: "0",
              endRange: "Inf",
              unit: "Hrs",
              pricePerUnit: { USD: price },
              appliesTo: [],
            },
          },
          termAttributes: {},
        },
      };
    }
    return {
      formatVersion: "v1.0",
      disclaimer: DISCLAIMER,
      offerCode: code,
      version,
      publicationDate: publicationDate(version),
      products,
      terms: { OnDemand: onDemand },
    };
  };
}

/** The six Compute Savings Plans: term (years) and purchase option. */
export const PLANS: readonly (readonly [number, string])[] = [1, 3].flatMap((y) =>
  ["No Upfront", "Partial Upfront", "All Upfront"].map((p) => [y, p] as const),
);
const TYPES = ["m5.large", "c5.xlarge", "r5.2xlarge", "t3.micro", "m6g.large", "c6i.4xlarge"];

/**
 * A Compute Savings Plans rate file: the six plans as products, and per plan `count` rates of EC2 usage in the
 * region (`discountedRate.price` as text with AWS's varying decimals; Local Zones' rates name the zone).
 */
export const savingsPlanFile: FileMaker = (region, version, count) => {
  const plans = PLANS.map(([years, option]) => {
    const compact = `${years}yr${option.replace(/ /g, "")}`;
    return { years, option, sku: skuOf(`ComputeSP/${compact}`), usageType: `ComputeSP:${compact}` };
  });
  return {
    version,
    publicationDate: publicationDate(version),
    regionCode: region,
    products: plans.map((p) => ({
      sku: p.sku,
      productFamily: "ComputeSavingsPlans",
      serviceCode: "ComputeSavingsPlans",
      usageType: p.usageType,
      operation: "",
      attributes: {
        purchaseOption: p.option,
        granularity: "hourly",
        instanceType: "",
        purchaseTerm: `${p.years}yr`,
        locationType: "AWS Region",
        location: "Any",
      },
    })),
    terms: {
      savingsPlan: plans.map((p) => ({
        sku: p.sku,
        description: `${p.years} year ${p.option} Compute Savings Plan`,
        effectiveDate: publicationDate(version),
        leaseContractLength: { duration: p.years, unit: "year" },
        rates: Array.from({ length: count }, (_, i) => {
          const type = TYPES[i % TYPES.length]!;
          const discountedSku = skuOf(`EC2/${region}/${i}`);
          const digits = 2 + (i % 5);
          return {
            discountedSku,
            discountedUsageType: `${region.toUpperCase().slice(0, 4)}-BoxUsage:${type}`,
            discountedOperation: `RunInstances${i % 2 ? ":0002" : ""}`,
            discountedServiceCode: "AmazonEC2",
            rateCode: `${p.sku}.${discountedSku}`,
            unit: "Hrs",
            discountedRate: {
              price: priceOf(`${p.sku}/${region}/${i}/${version}`, 0.001, 3, digits),
              currency: "USD",
            },
            discountedRegionCode: region,
            discountedInstanceType: type,
          };
        }),
      })),
    },
  };
};
