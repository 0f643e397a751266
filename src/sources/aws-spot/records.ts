// Spot records in the original crawler's shape (SPEC §5, samples/aws-ec2-spot-2019-limited.json).
//
// Why the shapes below: a sweep of every Region handles ~140 000 records in one Node thread, so per-record work is
// what bounds it (bench/spot.ts). A record is a price, a time in ms and its series (AZ, type, product), interned
// once per region: sorting compares numbers, duplicates are neighbours after a stable sort, and the JSON text of a
// series' names (and of its type's attributes) is built once, not per record.
import type { SpotPrice } from "@aws-sdk/client-ec2";

/** One (AZ, instance type, product) of a region, shared by all its records. */
export interface SpotSeries {
  readonly availabilityZone: string;
  readonly instanceType: string;
  readonly productDescription: string;
  /** Position among the series of the rows being sorted (equal names, equal rank); set by `sortUnique`. */
  rank: number;
  /** `sortUnique`'s pass that last ranked it. */
  pass: number;
  /** `{"AvailabilityZone":…,"InstanceType":…,"ProductDescription":…,"SpotPrice":` (UTF-8) */
  readonly head: Buffer;
  /** What follows the timestamp: its closing quote, the type's attributes if any, `}`. Set by `RecordWriter`. */
  tail?: Buffer;
  /** The writer `tail` was built for (its enrichment index). */
  tailBy?: object;
}

/** One price change as DescribeSpotPriceHistory returns it, with the fields the lake keeps. */
export interface SpotRow {
  series: SpotSeries;
  /** The string AWS sent, e.g. "0.952300". */
  spotPrice: string;
  /** The timestamp, ms since the epoch. */
  time: number;
}

/** The five fields every record has; enrichment attributes of the same name are never written over them. */
export const BASE_KEYS = ["AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp"];

/** Values kept by their bytes' hash before a table starts over: names and recent prices, not a day's history. */
const MAX_TEXTS = 20_000;

/** The series of one region, interned: one object per (AZ, type, product); and its values' texts. */
export class SeriesTable {
  private readonly byZone = new Map<string, Map<string, Map<string, SpotSeries>>>();
  private readonly texts = new Map<number, { bytes: Buffer; text: string }>();

  /**
   * The UTF-8 text of bytes [from, to) of `page`, whose hash is `hash`: the same string as the last time these
   * bytes were seen (names and prices repeat on every page), made only when they are new.
   */
  text(page: Buffer, from: number, to: number, hash: number): string {
    const len = to - from;
    const known = this.texts.get(hash);
    if (known && known.bytes.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (known.bytes[i] !== page[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return known.text;
    }
    if (this.texts.size >= MAX_TEXTS) this.texts.clear();
    const bytes = Buffer.from(page.subarray(from, to)); // a copy: the page is not kept
    const text = bytes.toString("utf8");
    this.texts.set(hash, { bytes, text });
    return text;
  }

  of(availabilityZone: string, instanceType: string, productDescription: string): SpotSeries {
    let types = this.byZone.get(availabilityZone);
    if (!types) this.byZone.set(availabilityZone, (types = new Map()));
    let products = types.get(instanceType);
    if (!products) types.set(instanceType, (products = new Map()));
    let series = products.get(productDescription);
    if (!series) {
      series = {
        availabilityZone,
        instanceType,
        productDescription,
        rank: 0,
        pass: 0,
        head: Buffer.from(
          `{"AvailabilityZone":${JSON.stringify(availabilityZone)},"InstanceType":${JSON.stringify(instanceType)}` +
            `,"ProductDescription":${JSON.stringify(productDescription)},"SpotPrice":`,
        ),
      };
      products.set(productDescription, series);
    }
    return series;
  }
}

/** A row of the SDK's own deserialization (a page the fast reader left to it); undefined when a field is missing. */
export function rowOf(p: SpotPrice, table: SeriesTable): SpotRow | undefined {
  if (!p.AvailabilityZone || !p.InstanceType || !p.ProductDescription || p.SpotPrice === undefined)
    return undefined;
  if (!(p.Timestamp instanceof Date) || Number.isNaN(p.Timestamp.getTime())) return undefined;
  return {
    series: table.of(p.AvailabilityZone, p.InstanceType, p.ProductDescription),
    spotPrice: p.SpotPrice,
    time: p.Timestamp.getTime(),
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

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** AZ, then type, then product (code-unit order, so the same on every machine). */
function compareSeries(a: SpotSeries, b: SpotSeries): number {
  return (
    cmp(a.availabilityZone, b.availabilityZone) ||
    cmp(a.instanceType, b.instanceType) ||
    cmp(a.productDescription, b.productDescription)
  );
}

/** Oldest first; ties by AZ, type, product. Ranks must be current (`sortUnique` sets them). */
export function compareRows(a: SpotRow, b: SpotRow): number {
  return a.time - b.time || a.series.rank - b.series.rank;
}

let passes = 0;

/**
 * Sorts `rows` in place (oldest first, then AZ, type, product) and drops repeats of (AZ, type, product,
 * timestamp), keeping the first as received: the sort is stable, so repeats end up side by side in arrival order.
 */
export function sortUnique(rows: SpotRow[]): SpotRow[] {
  const pass = ++passes;
  const series: SpotSeries[] = [];
  for (const r of rows) {
    if (r.series.pass !== pass) {
      r.series.pass = pass;
      series.push(r.series);
    }
  }
  series.sort(compareSeries);
  for (let i = 0; i < series.length; i++) {
    // The same names in two tables (an SDK-read page among fast ones) are one series.
    const same = i > 0 && compareSeries(series[i - 1]!, series[i]!) === 0;
    series[i]!.rank = same ? series[i - 1]!.rank : i;
  }
  rows.sort(compareRows);
  let n = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (n > 0 && compareRows(rows[n - 1]!, r) === 0) continue;
    rows[n++] = r;
  }
  rows.length = n;
  return rows;
}

const HOUR = 3_600_000;
/** Years 0000–9999: toISOString's four-digit form, which the hour cache below slices. */
const ISO_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const TIMESTAMP_KEY = Buffer.from(',"Timestamp":"');
const UTC = Buffer.from("+00:00");
/** Room past the chunk size for the record that crosses it (a larger record grows the buffer). */
const SLACK = 4096;

/**
 * Writes records as UTF-8 JSON text, `,\n` between them, straight into buffers of about `chunkSize` bytes: the five
 * AWS fields, then the instance type's attributes. `fragments` maps a type to the pre-built JSON fragment
 * (`"vcpu":"2","memory":"8 GiB"`) of the enrichment index; an unknown type's records are written unenriched.
 * Bytes, not strings: a sweep's ~90 MB of record text would otherwise be built, flattened, encoded and collected.
 */
export class RecordWriter {
  private buf: Buffer;
  private pos = 0;
  private first = true;
  /** The hour last formatted and its `2019-04-28T22:` (records come oldest first: one hour after another). */
  private hour = NaN;
  private readonly hourText = Buffer.alloc(14);

  constructor(
    private readonly fragments: ReadonlyMap<string, string> | undefined,
    private readonly chunkSize = 64 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(chunkSize + SLACK);
  }

  /** Bytes written since the last `take`. */
  get size(): number {
    return this.pos;
  }

  /** The bytes written since the last `take`; later records go to a new buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.chunkSize + SLACK);
    this.pos = 0;
    return out;
  }

  add(r: SpotRow): void {
    const s = r.series;
    const tail = this.tailOf(s);
    const price = r.spotPrice;
    // ≤ 6 bytes per UTF-16 unit of the price (`\u0000`), ≤ 32 for the timestamp (or its long form).
    this.ensure(2 + s.head.length + 6 * price.length + 2 + TIMESTAMP_KEY.length + 40 + tail.length);
    const buf = this.buf;
    let pos = this.pos;
    if (!this.first) {
      buf[pos++] = 0x2c; // ,
      buf[pos++] = 0x0a; // \n
    }
    this.first = false;
    buf.set(s.head, pos);
    pos = this.writePrice(price, pos + s.head.length);
    buf.set(TIMESTAMP_KEY, pos);
    pos = this.writeTime(r.time, pos + TIMESTAMP_KEY.length);
    buf.set(tail, pos);
    this.pos = pos + tail.length;
  }

  /** The series' tail, looked up in the enrichment index once per series and writer. */
  private tailOf(s: SpotSeries): Buffer {
    if (s.tailBy !== this || s.tail === undefined) {
      const fragment = this.fragments?.get(s.instanceType);
      s.tail = Buffer.from(fragment ? `",${fragment}}` : `"}`);
      s.tailBy = this;
    }
    return s.tail;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + bytes));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  /** The price as a JSON string: AWS's decimals byte by byte, anything else through JSON.stringify. */
  private writePrice(price: string, at: number): number {
    const buf = this.buf;
    let pos = at;
    buf[pos++] = 0x22; // "
    for (let i = 0; i < price.length; i++) {
      const c = price.charCodeAt(i);
      if ((c < 0x30 || c > 0x39) && c !== 0x2e) return at + buf.write(JSON.stringify(price), at, "utf8");
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    return pos;
  }

  /** `pythonIso` of `time`, without its quotes, written at `at`; returns the end. */
  private writeTime(time: number, at: number): number {
    const buf = this.buf;
    if (time < 0 || time > ISO_MAX) return at + buf.write(pythonIso(new Date(time)), at, "latin1");
    const hour = Math.floor(time / HOUR);
    if (hour !== this.hour) {
      this.hour = hour;
      this.hourText.write(new Date(hour * HOUR).toISOString().slice(0, 14), "latin1"); // 2019-04-28T22:
    }
    buf.set(this.hourText, at);
    let pos = at + 14;
    const inHour = time - hour * HOUR;
    const second = Math.floor(inHour / 1000);
    const ms = inHour - second * 1000;
    pos = digits(buf, pos, Math.floor(second / 60), 2);
    buf[pos++] = 0x3a; // :
    pos = digits(buf, pos, second % 60, 2);
    if (ms !== 0) {
      buf[pos++] = 0x2e; // .
      pos = digits(buf, pos, ms, 3);
      buf[pos++] = 0x30;
      buf[pos++] = 0x30;
      buf[pos++] = 0x30;
    }
    buf.set(UTC, pos);
    return pos + UTC.length;
  }
}

/** `n` as `width` decimal digits (zero-padded) at `at`; returns the end. */
function digits(buf: Buffer, at: number, n: number, width: number): number {
  for (let i = width - 1; i >= 0; i--) {
    buf[at + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + width;
}
