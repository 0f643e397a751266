// Spot price history data for the fake EC2 API: records, a seeded generator and AWS's query semantics.

/** One spot price change, as EC2 stores it. `spotPrice` is the string EC2 sends (6 decimals). */
export interface SpotRecord {
  availabilityZone: string;
  instanceType: string;
  productDescription: string;
  spotPrice: string;
  timestamp: Date;
  /** Newer optional field; emitted in the XML only when set. */
  availabilityZoneId?: string;
}

/** DescribeSpotPriceHistory parameters, parsed from the form body. */
export interface SpotQuery {
  startTime?: Date;
  endTime?: Date;
  instanceTypes: string[];
  productDescriptions: string[];
  availabilityZone?: string;
  availabilityZoneId?: string;
  filters: { name: string; values: string[] }[];
  maxResults?: number;
  nextToken?: string;
  dryRun?: boolean;
}

export interface GenerateHistoryOptions {
  region: string;
  from: Date;
  to: Date;
  types: string[];
  products: string[];
  /** Zones; default `${region}a`, `${region}b`. */
  azs?: string[];
  /** Each series changes price about this often (jittered ±50%). */
  everyMinutes: number;
  /** PRNG seed; default derived from the region name. */
  seed?: number;
}

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const SIZE_FACTOR: Record<string, number> = {
  nano: 0.0625,
  micro: 0.125,
  small: 0.25,
  medium: 0.5,
  large: 1,
  xlarge: 2,
  metal: 96,
};

function basePrice(type: string): number {
  const size = type.split(".")[1] ?? "large";
  const m = /^(\d+)xlarge$/.exec(size);
  const factor = m ? 2 * Number(m[1]) : (SIZE_FACTOR[size] ?? 1);
  return 0.025 * factor * (1 + (hashSeed(type) % 100) / 100);
}

/**
 * Seeded, deterministic spot history: for every (AZ, type, product) one record at or before `from` (so a window
 * starting at `from` has a price in effect) and then a change roughly every `everyMinutes` up to `to`.
 * Timestamps have whole seconds. Returned oldest first.
 */
export function generateHistory(opts: GenerateHistoryOptions): SpotRecord[] {
  const rnd = prng(opts.seed ?? hashSeed(opts.region));
  const azs = opts.azs ?? [`${opts.region}a`, `${opts.region}b`];
  const step = opts.everyMinutes * 60_000;
  const out: SpotRecord[] = [];
  for (const az of azs) {
    for (const type of opts.types) {
      for (const product of opts.products) {
        const base = basePrice(type) * (product.startsWith("Windows") ? 1.8 : 1);
        let t = Math.floor((opts.from.getTime() - rnd() * step) / 1000) * 1000;
        while (t <= opts.to.getTime()) {
          const price = base * (0.7 + 0.6 * rnd());
          out.push({
            availabilityZone: az,
            instanceType: type,
            productDescription: product,
            spotPrice: price.toFixed(6),
            timestamp: new Date(t),
          });
          t += Math.max(1000, Math.floor((step * (0.5 + rnd())) / 1000) * 1000);
        }
      }
    }
  }
  return out.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
}

/** EC2 filter wildcards: `*` any run, `?` one character. */
function glob(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`);
}

function iso(d: Date): string {
  return d.toISOString();
}

/** Value of a record for a filter name, or undefined for a name EC2 does not know for this call. */
function filterValue(r: SpotRecord, name: string): string | undefined {
  switch (name) {
    case "availability-zone":
      return r.availabilityZone;
    case "availability-zone-id":
      return r.availabilityZoneId ?? "";
    case "instance-type":
      return r.instanceType;
    case "product-description":
      return r.productDescription;
    case "spot-price":
      return r.spotPrice;
    case "timestamp":
      return iso(r.timestamp);
    default:
      return undefined;
  }
}

export const KNOWN_FILTERS = [
  "availability-zone",
  "availability-zone-id",
  "instance-type",
  "product-description",
  "spot-price",
  "timestamp",
];

function matchesQuery(r: SpotRecord, q: SpotQuery): boolean {
  if (q.instanceTypes.length > 0 && !q.instanceTypes.includes(r.instanceType)) return false;
  if (q.productDescriptions.length > 0 && !q.productDescriptions.includes(r.productDescription)) return false;
  if (q.availabilityZone !== undefined && r.availabilityZone !== q.availabilityZone) return false;
  if (q.availabilityZoneId !== undefined && r.availabilityZoneId !== q.availabilityZoneId) return false;
  for (const f of q.filters) {
    const v = filterValue(r, f.name);
    if (v === undefined) continue;
    if (!f.values.some((p) => glob(p).test(v))) return false;
  }
  return true;
}

function seriesKey(r: SpotRecord): string {
  return `${r.availabilityZone}\u0000${r.instanceType}\u0000${r.productDescription}`;
}

/**
 * What EC2 answers for a query, before paging: every matching record with StartTime <= timestamp <= EndTime, plus
 * for each (AZ, type, product) the last matching record strictly before StartTime (the price in effect at the
 * window's start). No StartTime: no lower bound. Most recent first; ties by AZ, type, product.
 */
export function selectHistory(records: readonly SpotRecord[], q: SpotQuery, now: Date): SpotRecord[] {
  const end = (q.endTime ?? now).getTime();
  const start = q.startTime?.getTime();
  const inWindow: SpotRecord[] = [];
  const before = new Map<string, SpotRecord>();
  for (const r of records) {
    if (!matchesQuery(r, q)) continue;
    const t = r.timestamp.getTime();
    if (t > end) continue;
    if (start === undefined || t >= start) {
      inWindow.push(r);
    } else {
      const k = seriesKey(r);
      const prev = before.get(k);
      if (!prev || prev.timestamp.getTime() < t) before.set(k, r);
    }
  }
  return [...inWindow, ...before.values()].sort(
    (a, b) =>
      b.timestamp.getTime() - a.timestamp.getTime() ||
      a.availabilityZone.localeCompare(b.availabilityZone) ||
      a.instanceType.localeCompare(b.instanceType) ||
      a.productDescription.localeCompare(b.productDescription),
  );
}
