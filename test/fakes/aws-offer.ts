// AWS EC2 offer files (wire-formats §1.5) for the fake Price List API (aws-pricing.ts): products and OnDemand/Reserved
// terms generated deterministically from a seed, pretty-printed like AWS's (Jackson style: `"key" : value`, `{ }`,
// `[ ]`). `offerStream` produces GB-sized documents in ~64 KiB chunks without holding them.
// As in the real files: Reserved terms have several price dimensions (an upfront fee and an hourly rate), data
// transfer is priced in tiers (`beginRange`/`endRange` in GB), and the China regions price in CNY.
import { Readable } from "node:stream";

export interface OfferProduct {
  sku: string;
  productFamily: string;
  attributes: Record<string, string>;
}
/** A product a test wants; missing fields are filled from the instance type's catalog entry. `null` removes one. */
export interface ProductInput {
  sku?: string;
  productFamily?: string;
  attributes?: Record<string, string | null>;
  /** OnDemand hourly price in the region's currency (USD; CNY in China), e.g. "0.0960000000". */
  price?: string;
}
export interface OfferStreamOptions {
  targetBytes: number;
  seed?: string | number;
  region?: string;
  version?: string;
}

export const DEFAULT_VERSION = "20260116160258";
export const DISCLAIMER =
  "This pricing list is for informational purposes only. All prices are subject to the additional terms included in the pricing pages on http://aws.amazon.com. All Free Tier prices are also subject to the terms included at https://aws.amazon.com/free/";

// instanceType|vcpu|memory|storage|instanceFamily|physicalProcessor|clockSpeed|networkPerformance|Linux $/h
const TYPES = rows(`
t3.micro|2|1 GiB|EBS only|General purpose|Intel Skylake E5 2686 v5|3.1 GHz|Up to 5 Gigabit|0.0104
t3.large|2|8 GiB|EBS only|General purpose|Intel Skylake E5 2686 v5|3.1 GHz|Up to 5 Gigabit|0.0832
m5.large|2|8 GiB|EBS only|General purpose|Intel Xeon Platinum 8175|3.1 GHz|Up to 10 Gigabit|0.096
m5.xlarge|4|16 GiB|EBS only|General purpose|Intel Xeon Platinum 8175|3.1 GHz|Up to 10 Gigabit|0.192
m5.4xlarge|16|64 GiB|EBS only|General purpose|Intel Xeon Platinum 8175|3.1 GHz|Up to 10 Gigabit|0.768
c5.large|2|4 GiB|EBS only|Compute optimized|Intel Xeon Platinum 8124M|3.4 GHz|Up to 10 Gigabit|0.085
c5.2xlarge|8|16 GiB|EBS only|Compute optimized|Intel Xeon Platinum 8124M|3.4 GHz|Up to 10 Gigabit|0.34
c4.4xlarge|16|30 GiB|EBS only|Compute optimized|Intel Xeon E5-2666 v3 (Haswell)|2.9 GHz|High|0.796
r5.xlarge|4|32 GiB|EBS only|Memory optimized|Intel Xeon Platinum 8175|3.1 GHz|Up to 10 Gigabit|0.252
r5.8xlarge|32|256 GiB|EBS only|Memory optimized|Intel Xeon Platinum 8175|3.1 GHz|10 Gigabit|2.016
i3.2xlarge|8|61 GiB|1 x 1900 NVMe SSD|Storage optimized|Intel Xeon E5-2686 v4 (Broadwell)|2.3 GHz|Up to 10 Gigabit|0.624
p3.2xlarge|8|61 GiB|EBS only|GPU instance|Intel Xeon E5-2686 v4 (Broadwell)|2.3 GHz|Up to 10 Gigabit|3.06
m6g.large|2|8 GiB|EBS only|General purpose|AWS Graviton2 Processor|2.5 GHz|Up to 10 Gigabit|0.077
x1e.xlarge|4|122 GiB|1 x 120 SSD|Memory optimized|High Frequency Intel Xeon E7-8880 v3 (Haswell)|2.3 GHz|Up to 10 Gigabit|0.834`);
// regionCode|location|usagetype prefix
const LOCATIONS = new Map(
  rows(`us-east-1|US East (N. Virginia)|;us-east-2|US East (Ohio)|USE2-;us-west-1|US West (N. California)|USW1-
us-west-2|US West (Oregon)|USW2-;eu-west-1|EU (Ireland)|EU-;eu-west-2|EU (London)|EUW2-;eu-central-1|EU (Frankfurt)|EUC1-
ap-northeast-1|Asia Pacific (Tokyo)|APN1-;ap-southeast-1|Asia Pacific (Singapore)|APS1-;sa-east-1|South America (Sao Paulo)|SAE1-
ap-southeast-2|Asia Pacific (Sydney)|APS2-;ap-south-1|Asia Pacific (Mumbai)|APS3-;ca-central-1|Canada (Central)|CAN1-
cn-north-1|China (Beijing)|CNN1-;cn-northwest-1|China (Ningxia)|CNW1-`).map((r) => [r[0]!, r]),
);
// operatingSystem|operation|price factor; preInstalledSw; tenancy|usage; capacitystatus|usage (weighted by repetition)
const OS = rows(
  `Linux|RunInstances|1;Windows|RunInstances:0002|1.8;RHEL|RunInstances:0010|1.6;SUSE|RunInstances:000g|1.4`,
);
const SW = ["NA", "NA", "NA", "SQL Std", "SQL Web", "SQL Ent"];
const TENANCY = rows(`Shared|BoxUsage;Shared|BoxUsage;Dedicated|DedicatedUsage;Host|HostUsage`);
const CAPACITY = rows(
  `Used|;Used|;Used|;UnusedCapacityReservation|UnusedBox;AllocatedCapacityReservation|Reservation`,
);
// offerTermCode|LeaseContractLength|OfferingClass|PurchaseOption (observed codes)
const RESERVED = rows(`4NA7Y494T4|1yr|standard|No Upfront;HU7G6KETJZ|1yr|standard|Partial Upfront
6QCMYABX3D|1yr|standard|All Upfront;7NE97W5U4E|1yr|convertible|No Upfront;CUZHX8X6JH|1yr|convertible|Partial Upfront
VJWZNREJX2|1yr|convertible|All Upfront;BPH4J8HBKS|3yr|standard|No Upfront;38NPMPTW36|3yr|standard|Partial Upfront
NQ3QZPMQV9|3yr|standard|All Upfront;Z2E3P23VKM|3yr|convertible|No Upfront;R5XV2EPZQZ|3yr|convertible|Partial Upfront
MZU6U2429S|3yr|convertible|All Upfront`);
function rows(table: string): string[][] {
  return table
    .trim()
    .split(/\n|;/)
    .map((l) => l.split("|"));
}
const SKU_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// ---- deterministic randomness ----
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0; // a bijection on 32 bits
}
/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ---- Jackson-style pretty printing ----
const PADS: string[] = [];
const pad = (n: number): string => (PADS[n] ??= " ".repeat(n));
/** Serialises like the AWS offer files: `"key" : value`, two-space indent, `{ }` and `[ ]` when empty. */
export function prettyJson(v: unknown, ind = 0): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return v.length === 0 ? "[ ]" : `[ ${v.map((x) => prettyJson(x, ind)).join(", ")} ]`;
  const keys = Object.keys(v);
  if (keys.length === 0) return "{ }";
  const p = pad(ind + 2);
  let s = "{\n";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    s += `${p}${JSON.stringify(k)} : ${prettyJson((v as Record<string, unknown>)[k], ind + 2)}${i < keys.length - 1 ? ",\n" : "\n"}`;
  }
  return s + pad(ind) + "}";
}

// ---- product and term generation ----
export function versionDate(version: string): Date {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(version);
  if (!m) throw new Error(`bad offer version ${version}: expected yyyyMMddHHmmss`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
export function dateVersion(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
export const publicationDate = (version: string) =>
  versionDate(version)
    .toISOString()
    .replace(/\.\d+Z$/, "Z");

function regionAttrs(region: string): { location: string; prefix: string } {
  const known = LOCATIONS.get(region);
  if (known) return { location: known[1]!, prefix: known[2]! };
  return {
    location: region,
    prefix:
      region
        .replace(/[^a-z0-9]/gi, "")
        .toUpperCase()
        .slice(0, 5) + "-",
  };
}

type Row = string[];
type Row4 = [string, string, string, string];
// Attribute templates in AWS's order; `{name}` takes a value, `{0}`… a column of the instance type's row.
const COMPUTE_ATTRS =
  template(`servicecode=AmazonEC2|location={location}|locationType=AWS Region|instanceType={0}
currentGeneration={gen}|instanceFamily={4}|vcpu={1}|physicalProcessor={5}|clockSpeed={6}|memory={2}|storage={3}
networkPerformance={7}|processorArchitecture=64-bit|tenancy={tenancy}|operatingSystem={os}
licenseModel=No License required|usagetype={usagetype}|operation={operation}|capacitystatus={capacity}
normalizationSizeFactor={nsf}|preInstalledSw={sw}|regionCode={region}|servicename=Amazon Elastic Compute Cloud`);
const TRANSFER_ATTRS =
  template(`servicecode=AmazonEC2|transferType=AWS Outbound|fromLocation={location}|fromLocationType=AWS Region
toLocation=External|toLocationType=Other|usagetype={prefix}DataTransfer-Out-Bytes|operation=|fromRegionCode={region}
servicename=Amazon Elastic Compute Cloud`);
// Data transfer out, per GB and month: beginRange|endRange|USD|rate code (AWS's tiers: the first GB free, then
// 10 TB, 40 TB, 100 TB, and the rest).
const TRANSFER_TIERS =
  rows(`0|1|0.0000000000|4GDQ5ZJ9RW;1|10240|0.0900000000|3MKTKA4HR6;10240|51200|0.0850000000|QX2A4EVRT5
51200|153600|0.0700000000|D42MF2PVJS;153600|Inf|0.0500000000|WH4ZK2UA8B`);
const STORAGE_ATTRS =
  template(`servicecode=AmazonEC2|location={location}|locationType=AWS Region|storageMedia=SSD-backed
volumeType=General Purpose|maxVolumeSize=16 TiB|maxIopsvolume=16000|maxThroughputvolume=1000 MiB/s
usagetype={prefix}EBS:VolumeUsage.gp3|operation=|volumeApiName=gp3|regionCode={region}
servicename=Amazon Elastic Compute Cloud`);
function template(t: string): [string, string][] {
  return t.split(/\||\n/).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]);
}
function fill(tpl: [string, string][], vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of tpl)
    out[k] = v.includes("{") ? v.replace(/\{(\w+)\}/g, (_, n: string) => vars[n] ?? "") : v;
  return out;
}

function computeAttrs(
  region: string,
  [type, os, sw, ten, cap]: [Row, Row, string, Row, Row],
): Record<string, string> {
  const { location, prefix } = regionAttrs(region);
  const vars: Record<string, string> = Object.fromEntries(type.map((v, i) => [String(i), v]));
  Object.assign(vars, { location, region, sw, tenancy: ten[0]!, os: os[0]!, operation: os[1]! });
  vars.gen = type[0]!.startsWith("c4") ? "No" : "Yes";
  vars.usagetype = `${prefix}${cap[1] || ten[1]}:${type[0]}`;
  vars.capacity = cap[0]!;
  vars.nsf = String(Math.max(0.5, Number(type[1]) / 2));
  return fill(COMPUTE_ATTRS, vars);
}

function makeSku(r: () => number, index: number, salt: number): string {
  let s = "";
  for (let i = 0; i < 9; i++) s += SKU_ALPHABET[Math.floor(r() * 32)];
  let x = mix((index ^ salt) >>> 0); // a bijection of the index: unique within a catalogue
  for (let i = 0; i < 7; i++, x = Math.floor(x / 32)) s += SKU_ALPHABET[x % 32];
  return s;
}

/** Product `index` of a generated catalogue; random access, so a stream can walk it twice without storing it. */
export function generatedProduct(seed: string, region: string, index: number): OfferProduct {
  const salt = hash32(`${seed}|${region}`);
  const r = rng(mix(salt ^ mix(index + 1)));
  const sku = makeSku(r, index, salt);
  if (index % 16 === 7)
    return {
      sku,
      productFamily: "Data Transfer",
      attributes: shared(`${region}|transfer`, () =>
        fill(TRANSFER_ATTRS, { ...regionAttrs(region), region }),
      ),
    };
  if (index % 16 === 15)
    return {
      sku,
      productFamily: "Storage",
      attributes: shared(`${region}|storage`, () => fill(STORAGE_ATTRS, { ...regionAttrs(region), region })),
    };
  const choice = [pick(r, TYPES), pick(r, OS), pick(r, SW), pick(r, TENANCY), pick(r, CAPACITY)] as const;
  const byol = choice[1][0] === "Windows" && r() < 0.5;
  const attributes = shared(`${region}|${choice.join("|")}|${byol}`, () => {
    const a = computeAttrs(region, [...choice]);
    if (byol) a.licenseModel = "Bring your own license";
    return a;
  });
  return { sku, productFamily: "Compute Instance", attributes };
}

// Generated products share (frozen) attribute objects, and their rendered text, per distinct combination.
const SHARED = new Map<string, Record<string, string>>();
const shared = (key: string, make: () => Record<string, string>) => {
  let a = SHARED.get(key);
  if (!a) SHARED.set(key, (a = Object.freeze(make())));
  return a;
};
const ATTR_TEXT = new WeakMap<object, string>();

/** A test's product, completed from the instance type's catalogue entry. */
export function completeProduct(p: ProductInput, region: string, index: number): OfferProduct {
  const type = p.attributes?.instanceType ?? "m5.large";
  const row =
    TYPES.find((t) => t[0] === type) ??
    `${type}|2|8 GiB|EBS only|General purpose|Intel Xeon|2.5 GHz|-`.split("|");
  const attributes = computeAttrs(region, [row, OS[0]!, "NA", TENANCY[0]!, CAPACITY[0]!]);
  for (const [k, v] of Object.entries(p.attributes ?? {})) {
    if (v === null) delete attributes[k];
    else attributes[k] = v;
  }
  const sku = p.sku ?? makeSku(rng(hash32(`${region}|explicit|${index}`)), index, hash32(region));
  return { sku, productFamily: p.productFamily ?? "Compute Instance", attributes };
}

/** The China regions' offers price in CNY (at about this many CNY to the dollar); every other region in USD. */
const CNY_PER_USD = 7.2;
const inChina = (p: OfferProduct) =>
  (p.attributes.regionCode ?? p.attributes.fromRegionCode ?? "").startsWith("cn-");
const currencyOf = (p: OfferProduct) => (inChina(p) ? "CNY" : "USD");
const money = (p: OfferProduct, amount: string) => `${inChina(p) ? "CNY " : "$"}${amount}`;

function hourly(p: OfferProduct, version: string, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const rate = inChina(p) ? CNY_PER_USD : 1;
  if (p.productFamily !== "Compute Instance") return (0.08 * rate).toFixed(10);
  const base = Number(TYPES.find((t) => t[0] === p.attributes.instanceType)?.[8] ?? 0.1);
  const os = Number(OS.find((o) => o[0] === p.attributes.operatingSystem)?.[2] ?? 1);
  // As in the real files, a price belongs to what is sold (region, type, OS, software, tenancy, licence), not to a
  // SKU: the capacity-status variants of a product share it. It moves a little now and then, holding for one to four
  // days' versions (a combination's own period), so that consecutive versions share most prices.
  const a = p.attributes;
  const sold = `${a.regionCode}|${a.instanceType}|${a.operatingSystem}|${a.preInstalledSw}|${a.tenancy}|${a.licenseModel}`;
  const period = 1 + (hash32(sold) % 4);
  const day = /^\d{14}$/.test(version) ? Math.floor(versionDate(version).getTime() / 86_400_000) : undefined;
  const epoch = day === undefined ? version : String(Math.floor(day / period));
  const jitter = 1 + (mix(hash32(`${sold}|${epoch}`)) % 1000) / 20000;
  return (base * os * (p.attributes.preInstalledSw === "NA" ? 1 : 2.5) * jitter * rate).toFixed(10);
}

// Text builders at the offer file's fixed depths; prettyJson(JSON.parse(doc)) === doc holds (the tests check it).
const q = JSON.stringify;
function productText(p: OfferProduct): string {
  let attrs = ATTR_TEXT.get(p.attributes);
  if (attrs === undefined) {
    const a = Object.entries(p.attributes).map(([k, v]) => `${pad(8)}${q(k)} : ${q(v)}`);
    attrs = a.length ? `{\n${a.join(",\n")}\n${pad(6)}}` : "{ }";
    if (Object.isFrozen(p.attributes)) ATTR_TEXT.set(p.attributes, attrs);
  }
  return `{\n${pad(6)}"sku" : ${q(p.sku)},\n${pad(6)}"productFamily" : ${q(p.productFamily)},\n${pad(6)}"attributes" : ${attrs}\n${pad(4)}}`;
}
interface Dim {
  rc: string;
  desc: string;
  unit: string;
  currency: string;
  price: string;
  /** [beginRange, endRange]; none for a one-off fee. */
  range?: readonly [string, string];
}
function dimText({ rc, desc, unit, currency, price, range }: Dim): string {
  const r = range ? `${pad(14)}"beginRange" : "${range[0]}",\n${pad(14)}"endRange" : "${range[1]}",\n` : "";
  return (
    `${pad(12)}${q(rc)} : {\n${pad(14)}"rateCode" : ${q(rc)},\n${pad(14)}"description" : ${q(desc)},\n${r}` +
    `${pad(14)}"unit" : "${unit}",\n${pad(14)}"pricePerUnit" : {\n${pad(16)}"${currency}" : "${price}"\n${pad(14)}},\n${pad(14)}"appliesTo" : [ ]\n${pad(12)}}`
  );
}
function termText(sku: string, code: string, eff: string, dims: string[], attrs: string[][]): string {
  const ta = attrs.length
    ? `{\n${attrs.map(([k, v]) => `${pad(12)}"${k}" : "${v}"`).join(",\n")}\n${pad(10)}}`
    : "{ }";
  return (
    `${pad(8)}${q(`${sku}.${code}`)} : {\n${pad(10)}"offerTermCode" : "${code}",\n${pad(10)}"sku" : ${q(sku)},\n` +
    `${pad(10)}"effectiveDate" : "${eff}",\n${pad(10)}"priceDimensions" : {\n${dims.join(",\n")}\n${pad(10)}},\n` +
    `${pad(10)}"termAttributes" : ${ta}\n${pad(8)}}`
  );
}
const effective = (version: string) => `${version.slice(0, 4)}-${version.slice(4, 6)}-01T00:00:00Z`;
const describe = (p: OfferProduct) => {
  const sw = p.attributes.preInstalledSw;
  return `${p.attributes.operatingSystem ?? "Linux"}${sw && sw !== "NA" ? ` with ${sw}` : ""}`;
};

function onDemandText(p: OfferProduct, version: string, price?: string): string {
  const dims = p.productFamily === "Data Transfer" ? transferDims(p, price) : [hourlyDim(p, version, price)];
  return `{\n${termText(p.sku, "JRTCKXETXF", effective(version), dims.map(dimText), [])}\n${pad(6)}}`;
}

function hourlyDim(p: OfferProduct, version: string, price?: string): Dim {
  const amount = hourly(p, version, price);
  const compute = p.productFamily === "Compute Instance";
  const desc = compute
    ? `${money(p, Number(amount).toFixed(3))} per On Demand ${describe(p)} ${p.attributes.instanceType} Instance Hour`
    : `${money(p, Number(amount).toFixed(2))} per GB-month of General Purpose (gp3) provisioned storage - ${p.attributes.location}`;
  const unit = compute ? "Hrs" : "GB-Mo";
  return {
    rc: `${p.sku}.JRTCKXETXF.6YS6EN2CT7`,
    desc,
    unit,
    currency: currencyOf(p),
    price: amount,
    range: ["0", "Inf"],
  };
}

/** One dimension per tier; `price`, when given, is the second tier's (the first GB stays free). */
function transferDims(p: OfferProduct, price?: string): Dim[] {
  const rate = inChina(p) ? CNY_PER_USD : 1;
  const scale = price === undefined ? 1 : Number(price) / Number(TRANSFER_TIERS[1]![2]);
  return TRANSFER_TIERS.map(([begin, end, usd, code]) => {
    const amount = (Number(usd) * rate * scale).toFixed(10);
    const upTo = end === "Inf" ? `greater than ${Number(begin) / 1024} TB` : `up to ${Number(end) / 1024} TB`;
    return {
      rc: `${p.sku}.JRTCKXETXF.${code}`,
      desc: `${money(p, Number(amount).toFixed(3))} per GB - ${upTo} / month data transfer out to the internet`,
      unit: "GB",
      currency: currencyOf(p),
      price: amount,
      range: [begin!, end!],
    };
  });
}

function reservedText(p: OfferProduct, version: string, price?: string): string | undefined {
  if (p.productFamily !== "Compute Instance") return undefined;
  const hourlyPrice = Number(hourly(p, version, price));
  const currency = currencyOf(p);
  const r = rng(hash32(`${p.sku}|reserved`));
  const start = Math.floor(r() * RESERVED.length);
  const terms: string[] = [];
  for (let i = 0; i < 4; i++) {
    const [code, lease, cls, purchase] = RESERVED[(start + i * 3) % RESERVED.length] as Row4;
    const years = lease === "1yr" ? 1 : 3;
    const total = hourlyPrice * ((cls === "standard" ? 0.6 : 0.7) - (years - 1) * 0.1) * 8760 * years;
    const upfront = purchase === "All Upfront" ? 1 : purchase === "Partial Upfront" ? 0.5 : 0;
    const rc = `${p.sku}.${code}`;
    const dims =
      upfront > 0
        ? [
            dimText({
              rc: `${rc}.2TG2D8R56U`,
              desc: "Upfront Fee",
              unit: "Quantity",
              currency,
              price: String(Math.round(total * upfront)),
            }),
          ]
        : [];
    const desc = `${describe(p)} (Amazon VPC), ${p.attributes.instanceType} reserved instance applied`;
    const perHour = ((total * (1 - upfront)) / (8760 * years)).toFixed(10);
    dims.push(
      dimText({ rc: `${rc}.6YS6EN2CT7`, desc, unit: "Hrs", currency, price: perHour, range: ["0", "Inf"] }),
    );
    const attrs = { LeaseContractLength: lease, OfferingClass: cls, PurchaseOption: purchase };
    terms.push(termText(p.sku, code, effective(version), dims, Object.entries(attrs)));
  }
  return `{\n${terms.join(",\n")}\n${pad(6)}}`;
}

// ---- whole documents, as a sequence of text fragments ----
export interface DocSpec {
  version: string;
  count: number;
  product(i: number): OfferProduct;
  price?(i: number): string | undefined;
}

export function* offerFragments(d: DocSpec): Generator<string> {
  yield (
    `{\n  "formatVersion" : "v1.0",\n  "disclaimer" : ${q(DISCLAIMER)},\n  "offerCode" : "AmazonEC2",\n` +
    `  "version" : "${d.version}",\n  "publicationDate" : "${publicationDate(d.version)}",\n  "products" : `
  );
  yield* section(d.count, 4, (i) => {
    const p = d.product(i);
    return `${q(p.sku)} : ${productText(p)}`;
  });
  yield `,\n  "terms" : {\n    "OnDemand" : `;
  yield* section(d.count, 6, (i) => {
    const p = d.product(i);
    return `${q(p.sku)} : ${onDemandText(p, d.version, d.price?.(i))}`;
  });
  yield `,\n    "Reserved" : `;
  yield* section(d.count, 6, (i) => {
    const p = d.product(i);
    const t = reservedText(p, d.version, d.price?.(i));
    return t && `${q(p.sku)} : ${t}`;
  });
  yield `\n  }\n}`;
}

function* section(count: number, ind: number, entry: (i: number) => string | undefined): Generator<string> {
  let first = true;
  for (let i = 0; i < count; i++) {
    const e = entry(i);
    if (e === undefined) continue;
    yield `${first ? "{\n" : ",\n"}${pad(ind)}${e}`;
    first = false;
  }
  yield first ? "{ }" : `\n${pad(ind - 2)}}`;
}

/** A valid offer document of about `targetBytes`, generated in ~64 KiB chunks and never held in memory. */
export function offerStream(opts: OfferStreamOptions): Readable {
  const seed = String(opts.seed ?? 1);
  const region = opts.region ?? "us-east-1";
  const version = opts.version ?? DEFAULT_VERSION;
  const product = (i: number) => generatedProduct(seed, region, i);
  // Estimate the bytes per product (its entry plus its terms) from a sample, then size the catalogue.
  const sample = 256;
  let sampleBytes = 0;
  for (let i = 0; i < sample; i++) {
    const p = product(i);
    sampleBytes +=
      productText(p).length + onDemandText(p, version).length + (reservedText(p, version)?.length ?? 0) + 80;
  }
  const count = Math.max(1, Math.round((opts.targetBytes - 600) / (sampleBytes / sample)));
  const fragments = offerFragments({ version, count, product });
  return Readable.from(
    (function* () {
      let buf: string[] = [];
      let len = 0;
      for (const f of fragments) {
        buf.push(f);
        len += f.length;
        if (len >= 65536) {
          yield Buffer.from(buf.join(""));
          buf = [];
          len = 0;
        }
      }
      if (len > 0) yield Buffer.from(buf.join(""));
    })(),
    { objectMode: false },
  );
}
