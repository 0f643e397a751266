// A fast reader of DescribeSpotPriceHistory's success pages, plugged into the EC2 client's middleware stack.
//
// Why: the SDK's generic XML deserializer costs ~45 µs of CPU per price record (measured in bench/spot.ts): a sweep of
// every Region is then bound by one core, not by the network, and regions in parallel gain little. This reader walks
// the page's bytes once (~1 µs per record) and gives rows of interned series (records.ts), not the SDK's SpotPrice
// objects. Only a 200 answer whose root is `DescribeSpotPriceHistoryResponse` with a `spotPriceHistorySet` is read
// here; anything else (errors, an HTML page, a shape this reader does not know) goes to the SDK untouched, so its
// error handling and retries are unchanged. The SDK still deserializes the page: a stub with the same `nextToken` and
// an empty set, so pagination is its own; the rows travel on its output (`fastRows`).
import type { EC2Client } from "@aws-sdk/client-ec2";
import { SeriesTable, type SpotRow } from "./records.js";

export interface SpotPage {
  /** The page's complete records (one missing a field is dropped, as the SDK-read path drops it). */
  rows: SpotRow[];
  /** The `<nextToken>` element as sent (XML-escaped), or undefined when absent. */
  nextTokenXml?: string;
}

const ROOT = "<DescribeSpotPriceHistoryResponse";
const SET = Buffer.from("<spotPriceHistorySet");
const SET_END = Buffer.from("</spotPriceHistorySet>");
const EMPTY_END = Buffer.from("/>");
const ITEM = Buffer.from("<item>");
const ITEM_END = Buffer.from("</item>");

// The fields kept: their index in an item's values and their element names.
const AZ = 0;
const TYPE = 1;
const PRODUCT = 2;
const PRICE = 3;
const TIME = 4;
const NAMES = ["availabilityZone", "instanceType", "productDescription", "spotPrice", "timestamp"].map((n) =>
  Buffer.from(n),
);

/**
 * The records and next token of a success page, their series interned in `table`; undefined when the text is not
 * one this reader knows (the SDK then reads it).
 *
 * Bytes, not text: a sweep of every Region reads ~140 000 records, and this reader is its largest cost per record.
 * It walks the bytes once, makes no string for a value it has seen before (names and prices repeat: they are
 * interned by their bytes), reads EC2's timestamps digit by digit, and runs no regular expression per record.
 */
export function readSpotPage(
  page: Buffer | string,
  table: SeriesTable = new SeriesTable(),
): SpotPage | undefined {
  const bytes = typeof page === "string" ? Buffer.from(page) : page;
  if (!bytes.subarray(0, 200).includes(ROOT)) return undefined;
  const set = bytes.indexOf(SET);
  if (set < 0) return undefined;
  const rows: SpotRow[] = [];
  let rest = set + SET.length;
  if (startsWith(bytes, rest, EMPTY_END)) {
    rest += EMPTY_END.length; // an empty answer
  } else if (bytes[rest] === 0x3e) {
    rest = new PageReader(bytes, table).items(rest + 1, rows);
    if (rest < 0) return undefined;
  } else {
    return undefined;
  }
  const token = /<nextToken>([^<]*)<\/nextToken>/.exec(bytes.toString("utf8", rest));
  return { rows, ...(token ? { nextTokenXml: token[1]! } : {}) };
}

/** Whether `want` is at `at` in `bytes`. */
function startsWith(bytes: Buffer, at: number, want: Buffer): boolean {
  if (at + want.length > bytes.length) return false;
  for (let i = 0; i < want.length; i++) if (bytes[at + i] !== want[i]) return false;
  return true;
}

/** Whether bytes [a, a + len) equal [b, b + len). */
function sameBytes(x: Buffer, a: number, y: Buffer, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (x[a + i] !== y[b + i]) return false;
  return true;
}

/** Skips XML whitespace. */
function skipSpace(bytes: Buffer, at: number): number {
  let c = bytes[at];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = bytes[++at];
  return at;
}

/** Which kept field's start tag (name and ">") begins at `at`, just after its "<"; -1 for any other element. */
function fieldAt(bytes: Buffer, at: number): number {
  const first = bytes[at];
  for (let f = 0; f < NAMES.length; f++) {
    const name = NAMES[f]!;
    if (name[0] === first && bytes[at + name.length] === 0x3e && sameBytes(name, 0, bytes, at, name.length))
      return f;
  }
  return -1;
}

class PageReader {
  // One item's values; `time` is NaN when absent or invalid.
  private az: string | undefined;
  private type: string | undefined;
  private product: string | undefined;
  private price: string | undefined;
  private time = NaN;

  constructor(
    private readonly bytes: Buffer,
    private readonly table: SeriesTable,
  ) {}

  /** The `<item>`s of the set into `rows`; where the set ends, or -1 for a shape this reader does not know. */
  items(from: number, rows: SpotRow[]): number {
    const { bytes } = this;
    let at = skipSpace(bytes, from);
    while (at < bytes.length) {
      if (startsWith(bytes, at, SET_END)) return at + SET_END.length;
      if (!startsWith(bytes, at, ITEM)) return -1;
      at = this.item(at + ITEM.length);
      if (at < 0) return -1;
      // Every field, as the SDK-read path requires (rowOf): a record that lacks one is dropped.
      const { az, type, product, price, time } = this;
      if (az && type && product && price !== undefined && !Number.isNaN(time))
        rows.push({ series: this.table.of(az, type, product), spotPrice: price, time });
      at = skipSpace(bytes, at);
    }
    return -1;
  }

  /**
   * One `<item>`'s children: leaf elements only, unknown ones skipped as the SDK does. Returns where the item
   * ends, or -1 when an element is nested or its end tag does not match: not a shape this reader knows.
   */
  private item(from: number): number {
    const { bytes } = this;
    this.az = this.type = this.product = this.price = undefined;
    this.time = NaN;
    let at = skipSpace(bytes, from);
    while (bytes[at] === 0x3c) {
      if (bytes[at + 1] === 0x2f) return startsWith(bytes, at, ITEM_END) ? at + ITEM_END.length : -1;
      const name = at + 1;
      const field = fieldAt(bytes, name);
      let end = field >= 0 ? name + NAMES[field]!.length : name;
      if (field < 0) {
        while (end < bytes.length && bytes[end] !== 0x3e) end++;
        if (end >= bytes.length) return -1;
        if (bytes[end - 1] === 0x2f) {
          at = skipSpace(bytes, end + 1); // an empty element: no value
          continue;
        }
      }
      const len = end - name;
      // The value, up to the next "<", hashed on the way for the intern table.
      const value = end + 1;
      let hash = 0x811c9dc5;
      let amp = false;
      let v = value;
      for (; v < bytes.length; v++) {
        const c = bytes[v]!;
        if (c === 0x3c) break;
        if (c === 0x26) amp = true;
        hash = Math.imul(hash ^ c, 0x01000193);
      }
      // "</" name ">"
      if (bytes[v + 1] !== 0x2f || bytes[v + 2 + len] !== 0x3e || !sameBytes(bytes, v + 2, bytes, name, len))
        return -1; // nested or malformed
      this.keep(field, value, v, hash, amp);
      at = skipSpace(bytes, v + 3 + len);
    }
    return -1;
  }

  private keep(field: number, from: number, to: number, hash: number, amp: boolean): void {
    if (field < 0) return;
    const { bytes } = this;
    if (field === TIME) {
      this.time = amp ? Date.parse(decode(bytes.toString("utf8", from, to))) : time(bytes, from, to);
      return;
    }
    const text = amp ? decode(bytes.toString("utf8", from, to)) : this.table.text(bytes, from, to, hash);
    if (field === AZ) this.az = text;
    else if (field === TYPE) this.type = text;
    else if (field === PRODUCT) this.product = text;
    else if (field === PRICE) this.price = text;
  }
}

const digit = (b: Buffer, i: number) => b[i]! - 0x30;
const two = (b: Buffer, i: number) => digit(b, i) * 10 + digit(b, i + 1);
const isDigit = (b: Buffer, i: number) => b[i]! >= 0x30 && b[i]! <= 0x39;

/** The last hour read (`2026-11-29T22`, validated) and its time: records of a page share a few hours. */
const lastHour = { text: Buffer.alloc(13), time: NaN };

/**
 * `Date.parse` of the timestamp at [from, to) (as the reader always parsed it; its test checks that against the
 * SDK's own parse), with EC2's form `2026-11-29T22:08:37.000Z` read digit by digit, without making a string.
 */
export function time(bytes: Buffer, from: number, to: number): number {
  if (to - from !== 24 || !sameBytes(bytes, from, lastHour.text, 0, 13)) {
    const hour = hourOf(bytes, from, to);
    if (Number.isNaN(hour)) return Date.parse(bytes.toString("utf8", from, to));
    bytes.copy(lastHour.text, 0, from, from + 13);
    lastHour.time = hour;
  }
  // :MM:SS.sssZ
  const ok =
    bytes[from + 13] === 0x3a &&
    isDigit(bytes, from + 14) &&
    isDigit(bytes, from + 15) &&
    bytes[from + 16] === 0x3a &&
    isDigit(bytes, from + 17) &&
    isDigit(bytes, from + 18) &&
    bytes[from + 19] === 0x2e &&
    isDigit(bytes, from + 20) &&
    isDigit(bytes, from + 21) &&
    isDigit(bytes, from + 22) &&
    bytes[from + 23] === 0x5a;
  const minute = two(bytes, from + 14);
  const second = two(bytes, from + 17);
  // Outside these, Date.parse decides (NaN for 60 minutes or seconds).
  if (!ok || minute > 59 || second > 59) return Date.parse(bytes.toString("utf8", from, to));
  return (
    lastHour.time + minute * 60_000 + second * 1000 + digit(bytes, from + 20) * 100 + two(bytes, from + 21)
  );
}

/** The time of the hour `YYYY-MM-DDTHH` at `from` in a 24-byte timestamp; NaN when Date.parse should decide. */
function hourOf(bytes: Buffer, from: number, to: number): number {
  if (to - from !== 24) return NaN;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12]) if (!isDigit(bytes, from + i)) return NaN;
  if (bytes[from + 4] !== 0x2d || bytes[from + 7] !== 0x2d || bytes[from + 10] !== 0x54) return NaN;
  const year = two(bytes, from) * 100 + two(bytes, from + 2);
  const month = two(bytes, from + 5);
  const day = two(bytes, from + 8);
  const hour = two(bytes, from + 11);
  // Outside these ranges Date.parse decides (NaN, 24:00, years that Date.UTC would read as 19xx); days past a
  // month's end roll over in both.
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23) return NaN;
  return Date.UTC(year, month - 1, day, hour);
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(?:#x([0-9a-fA-F]+)|#(\d+)|(amp|lt|gt|quot|apos));/g, (m, hex, dec, named) =>
    hex
      ? String.fromCodePoint(parseInt(hex, 16))
      : dec
        ? String.fromCodePoint(Number(dec))
        : ENTITIES[named]!,
  );
}

const PAGE = Symbol("contrail.spotPage");
/** Where a fast-read page's rows are on the SDK's output (its `SpotPriceHistory` is then empty). */
const ROWS = Symbol("contrail.spotRows");
type Ctx = { commandName?: string; [PAGE]?: SpotPage };

/** The rows the fast reader read for this page of the paginator, or undefined when the SDK read it. */
export function fastRows(output: object): SpotRow[] | undefined {
  return (output as { [ROWS]?: SpotRow[] })[ROWS];
}

/** Each client's series (one client per region): the fast reader and the SDK-read pages share them. */
const TABLES = new WeakMap<EC2Client, SeriesTable>();

export function seriesTable(client: EC2Client): SeriesTable {
  let table = TABLES.get(client);
  if (!table) TABLES.set(client, (table = new SeriesTable()));
  return table;
}

/**
 * Reads DescribeSpotPriceHistory success pages with `readSpotPage` instead of the SDK's XML deserializer: the rows
 * are on the output under `fastRows`. Returns how many pages it has read so far (and how many it left to the SDK).
 */
export function useFastSpotPages(client: EC2Client): { read: number; passed: number } {
  const stats = { read: 0, passed: 0 };
  const table = seriesTable(client);
  const stack = client.middlewareStack as unknown as MiddlewareStack;
  // Innermost in the deserialize step: sees the raw response before the SDK's deserializer does.
  stack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName !== "DescribeSpotPriceHistoryCommand") return out;
      const res = out.response as { statusCode?: number; body?: unknown };
      if (res.statusCode !== 200 || !isStream(res.body)) return out;
      const bytes = await collect(res.body);
      const page = readSpotPage(bytes, table);
      if (!page) {
        stats.passed++;
        res.body = bytes; // not a page this reader knows: the SDK reads it, as it would have
        return out;
      }
      stats.read++;
      context[PAGE] = page;
      res.body = Buffer.from(stub(page));
      return out;
    },
    { step: "deserialize", priority: "low", name: "contrailSpotPageReader" },
  );
  // Outermost: the SDK's output, with the rows read above.
  stack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const page = context[PAGE];
      if (page) (out.output as { [ROWS]?: SpotRow[] })[ROWS] = page.rows;
      return out;
    },
    { step: "initialize", priority: "high", name: "contrailSpotPageOutput" },
  );
  return stats;
}

function stub(page: SpotPage): string {
  const token = page.nextTokenXml === undefined ? "" : `<nextToken>${page.nextTokenXml}</nextToken>`;
  return `<DescribeSpotPriceHistoryResponse><spotPriceHistorySet/>${token}</DescribeSpotPriceHistoryResponse>`;
}

function isStream(body: unknown): body is AsyncIterable<Buffer> {
  return typeof (body as AsyncIterable<Buffer> | undefined)?.[Symbol.asyncIterator] === "function";
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

// The slice of the SDK's middleware types used here (the @smithy/types package is not a direct dependency).
type Handler = (args: unknown) => Promise<{ response: unknown; output: unknown }>;
interface MiddlewareStack {
  add(
    mw: (next: Handler, context: Ctx) => Handler,
    opts: { step: "initialize" | "deserialize"; priority: "high" | "low"; name: string },
  ): void;
}
