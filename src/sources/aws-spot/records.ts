// Spot records in the original crawler's shape (SPEC §5, samples/aws-ec2-spot-2019-limited.json).
import type { SpotPrice } from "@aws-sdk/client-ec2";

/** One price change as DescribeSpotPriceHistory returns it, with the fields the lake keeps. */
export interface SpotRow {
  availabilityZone: string;
  instanceType: string;
  productDescription: string;
  /** The string AWS sent, e.g. "0.952300". */
  spotPrice: string;
  timestamp: Date;
}

/** The five fields every record has; enrichment attributes of the same name are never written over them. */
export const BASE_KEYS = ["AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp"];

export function rowOf(p: SpotPrice): SpotRow | undefined {
  if (!p.AvailabilityZone || !p.InstanceType || !p.ProductDescription || p.SpotPrice === undefined)
    return undefined;
  if (!(p.Timestamp instanceof Date) || Number.isNaN(p.Timestamp.getTime())) return undefined;
  return {
    availabilityZone: p.AvailabilityZone,
    instanceType: p.InstanceType,
    productDescription: p.ProductDescription,
    spotPrice: p.SpotPrice,
    timestamp: p.Timestamp,
  };
}

/**
 * Python's `datetime.isoformat()` of an aware UTC time, as the original crawler wrote it: `2019-04-28T22:29:01+00:00`
 * (whole seconds), or with microseconds (`…01.250000+00:00`) when the time has a fraction, as Python would.
 */
export function pythonIso(d: Date): string {
  const seconds = d.toISOString().slice(0, 19); // 2019-04-28T22:29:01 of 2019-04-28T22:29:01.000Z
  const ms = d.getUTCMilliseconds();
  return ms === 0 ? `${seconds}+00:00` : `${seconds}.${String(ms).padStart(3, "0")}000+00:00`;
}

function identity(r: SpotRow): string {
  return `${r.availabilityZone}\u0000${r.instanceType}\u0000${r.productDescription}\u0000${r.timestamp.getTime()}`;
}

/** Oldest first; ties by AZ, type, product (code-unit order, so the same on every machine). */
export function compareRows(a: SpotRow, b: SpotRow): number {
  return (
    a.timestamp.getTime() - b.timestamp.getTime() ||
    cmp(a.availabilityZone, b.availabilityZone) ||
    cmp(a.instanceType, b.instanceType) ||
    cmp(a.productDescription, b.productDescription)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Drops repeats of (AZ, type, product, timestamp), keeping the first; then sorts. */
export function dedupeAndSort(rows: SpotRow[]): SpotRow[] {
  const seen = new Set<string>();
  const out: SpotRow[] = [];
  for (const r of rows) {
    const id = identity(r);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(r);
  }
  return out.sort(compareRows);
}

/**
 * One record as JSON text: the five AWS fields, then the instance type's attributes. `attributes` is the pre-built
 * JSON fragment (`"vcpu":"2","memory":"8 GiB"`) of the enrichment index, or undefined for an unknown type.
 */
export function recordJson(r: SpotRow, attributes: string | undefined): string {
  const base =
    `{"AvailabilityZone":${JSON.stringify(r.availabilityZone)},"InstanceType":${JSON.stringify(r.instanceType)}` +
    `,"ProductDescription":${JSON.stringify(r.productDescription)},"SpotPrice":${JSON.stringify(r.spotPrice)}` +
    `,"Timestamp":"${pythonIso(r.timestamp)}"`;
  return attributes ? `${base},${attributes}}` : `${base}}`;
}
