// Throughput of the streaming JSON validator on offer-like JSON (ASCII, as AWS serves it) and on Retail-like JSON
// whose names are in many scripts (most string bytes in multi-byte UTF-8 sequences, which the checker validates),
// next to stream-json's tokenizer and to the other stages of the capture pipeline (sha256, gzip level 6).
// Run: node --import tsx bench/json-check.ts [MB]   (default 200 MB)
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { jsonParser, parser as streamJsonParser } from "stream-json/parser.js";
import { resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { fileURLToPath } from "node:url";
import { JsonChecker } from "../src/capture/json-check.js";
import { prng as rng } from "../test/fakes/ec2-history.js";

const CHUNK = 64 * 1024;
const SHAPE = {
  root: "object" as const,
  requiredKeys: ["formatVersion", "offerCode", "version", "products", "terms"],
  captureKeys: ["version", "publicationDate"],
};

const CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TYPES = ["c4.4xlarge", "m5d.12xlarge", "r5.large", "t3.micro", "x1e.32xlarge", "p3.16xlarge"];
const LOCATIONS = [
  "Asia Pacific (Tokyo)",
  "US East (N. Virginia)",
  "EU (Frankfurt)",
  "South America (Sao Paulo)",
];
const OSES = ["Linux", "Windows", "RHEL", "SUSE"];

/**
 * Pretty-printed offer-like JSON (the layout of AWS offer files: `"key" : "value"`, products then terms),
 * about `targetBytes` long, as 64 KiB chunks.
 */
export function offerLike(targetBytes: number, seed = 1): Buffer[] {
  const rand = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const sku = (): string => {
    let s = "";
    for (let k = 0; k < 16; k++) s += CHARS[Math.floor(rand() * CHARS.length)];
    return s;
  };
  const blocks: Buffer[] = [];
  let size = 0;
  let part = "";
  const emit = (s: string): void => {
    part += s;
    if (part.length >= 1 << 20) {
      const b = Buffer.from(part, "utf8");
      blocks.push(b);
      size += b.length;
      part = "";
    }
  };
  emit(
    '{\n  "formatVersion" : "v1.0",\n  "disclaimer" : "This pricing list is for informational purposes only.",\n' +
      '  "offerCode" : "AmazonEC2",\n  "version" : "20190329040654",\n  "publicationDate" : "2019-03-29T04:06:54Z",\n' +
      '  "products" : {\n',
  );
  const skus: string[] = [];
  const half = targetBytes * 0.45;
  let first = true;
  while (size + part.length < half) {
    const id = sku();
    skus.push(id);
    const type = pick(TYPES);
    emit(
      `${first ? "" : ",\n"}    "${id}" : {\n      "sku" : "${id}",\n      "productFamily" : "Compute Instance",\n` +
        `      "attributes" : {\n        "servicecode" : "AmazonEC2",\n        "location" : "${pick(LOCATIONS)}",\n` +
        `        "locationType" : "AWS Region",\n        "instanceType" : "${type}",\n        "currentGeneration" : "Yes",\n` +
        `        "instanceFamily" : "Compute optimized",\n        "vcpu" : "${1 + Math.floor(rand() * 96)}",\n` +
        `        "physicalProcessor" : "Intel Xeon E5-2666 v3 (Haswell)",\n        "clockSpeed" : "2.9 GHz",\n` +
        `        "memory" : "${Math.floor(rand() * 512)} GiB",\n        "storage" : "EBS only",\n        "networkPerformance" : "High",\n` +
        `        "processorArchitecture" : "64-bit",\n        "tenancy" : "Shared",\n        "operatingSystem" : "${pick(OSES)}",\n` +
        `        "licenseModel" : "No License required",\n        "usagetype" : "APN1-BoxUsage:${type}",\n` +
        `        "operation" : "RunInstances:0004",\n        "capacitystatus" : "Used",\n        "ecu" : "62",\n` +
        `        "processorFeatures" : "Intel AVX; Intel AVX2; Intel Turbo",\n        "servicename" : "Amazon Elastic Compute Cloud"\n` +
        `      }\n    }`,
    );
    first = false;
  }
  emit('\n  },\n  "terms" : {\n    "OnDemand" : {\n');
  first = true;
  for (let k = 0; size + part.length < targetBytes - 200; k++) {
    const id = skus[k % skus.length]!;
    const price = (rand() * 30).toFixed(10);
    emit(
      `${first ? "" : ",\n"}      "${id}.${k}" : {\n        "${id}.JRTCKXETXF" : {\n          "offerTermCode" : "JRTCKXETXF",\n` +
        `          "sku" : "${id}",\n          "effectiveDate" : "2019-03-01T00:00:00Z",\n          "priceDimensions" : {\n` +
        `            "${id}.JRTCKXETXF.6YS6EN2CT7" : {\n              "rateCode" : "${id}.JRTCKXETXF.6YS6EN2CT7",\n` +
        `              "description" : "$${price} per On Demand Linux c4.4xlarge Instance Hour",\n` +
        `              "beginRange" : "0",\n              "endRange" : "Inf",\n              "unit" : "Hrs",\n` +
        `              "pricePerUnit" : {\n                "USD" : "${price}"\n              },\n              "appliesTo" : [ ]\n` +
        `            }\n          },\n          "termAttributes" : { }\n        }\n      }`,
    );
    first = false;
  }
  part += "\n    }\n  }\n}\n";
  blocks.push(Buffer.from(part, "utf8"));
  const all = Buffer.concat(blocks);
  const chunks: Buffer[] = [];
  for (let off = 0; off < all.length; off += CHUNK) chunks.push(all.subarray(off, off + CHUNK));
  return chunks;
}

/** Meter and product names as a localized price list spells them: 2-, 3- and 4-byte UTF-8 sequences. */
const NAMES = [
  "Máquinas Virtuales Dv3 — Ibérica",
  "Виртуальные машины серии Dv3",
  "Εικονικές μηχανές σειράς Dv3",
  "מכונות וירטואליות מסדרה Dv3",
  "الأجهزة الظاهرية من سلسلة Dv3",
  "वर्चुअल मशीन श्रृंखला Dv3",
  "เครื่องเสมือนซีรีส์ Dv3",
  "仮想マシン Dv3 シリーズ",
  "虚拟机 Dv3 系列 – 中国北部",
  "가상 머신 Dv3 시리즈",
  "𝐕𝐌 Dv3 🚀 計算 🖥️",
];

/**
 * Compact Retail-Prices-like JSON (`{"Items":[…]}` as Azure serves it) about `targetBytes` long, most of whose
 * string bytes are non-ASCII UTF-8, as 64 KiB chunks.
 */
export function multilingual(targetBytes: number, seed = 1): Buffer[] {
  const rand = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const parts: Buffer[] = [Buffer.from('{"BillingCurrency":"USD","CustomerEntityId":"Default","Items":[')];
  let size = parts[0]!.length;
  for (let k = 0; size < targetBytes - 100; k++) {
    const item = Buffer.from(
      `${k ? "," : ""}{"currencyCode":"USD","retailPrice":${(rand() * 30).toFixed(6)},"armRegionName":"chinanorth3",` +
        `"meterId":"${k.toString(16).padStart(8, "0")}-6d1e-5c3b-a2e6-0b5a1f2c3d4e","meterName":"${pick(NAMES)}",` +
        `"productName":"${pick(NAMES)} ${pick(NAMES)}","skuName":"${pick(NAMES)}","location":"${pick(NAMES)}",` +
        `"serviceName":"${pick(NAMES)}","unitOfMeasure":"1 Hour","type":"Consumption","isPrimaryMeterRegion":true}`,
      "utf8",
    );
    parts.push(item);
    size += item.length;
  }
  parts.push(Buffer.from('],"Count":0}'));
  const all = Buffer.concat(parts);
  const chunks: Buffer[] = [];
  for (let off = 0; off < all.length; off += CHUNK) chunks.push(all.subarray(off, off + CHUNK));
  return chunks;
}

/** Share of a buffer's bytes that are >= 0x80. */
function nonAscii(chunks: Buffer[]): number {
  let high = 0;
  for (const c of chunks) for (const b of c) if (b >= 0x80) high++;
  return high / total(chunks);
}

function total(chunks: Buffer[]): number {
  return chunks.reduce((s, c) => s + c.length, 0);
}

async function best(
  label: string,
  chunks: Buffer[],
  runs: number,
  fn: (chunks: Buffer[]) => unknown,
): Promise<number> {
  const mb = total(chunks) / 1e6;
  let bestMs = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn(chunks);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    bestMs = Math.min(bestMs, ms);
  }
  const rate = mb / (bestMs / 1000);
  console.log(
    `${label.padEnd(34)} ${mb.toFixed(1).padStart(7)} MB  best ${bestMs.toFixed(0).padStart(6)} ms  ${rate.toFixed(0).padStart(6)} MB/s`,
  );
  return rate;
}

function check(chunks: Buffer[]): void {
  const c = new JsonChecker(SHAPE);
  for (const chunk of chunks) c.write(chunk);
  const { values } = c.end();
  if (values.version !== "20190329040654") throw new Error("version not captured");
}

function checkRetail(chunks: Buffer[]): void {
  const c = new JsonChecker({ root: "object", requiredKeys: ["Items"] });
  for (const chunk of chunks) c.write(chunk);
  c.end();
}

/** The strict decoder the checker must agree with, as a yardstick for UTF-8 validation speed. */
function textDecoderFatal(chunks: Buffer[]): void {
  const d = new TextDecoder("utf-8", { fatal: true });
  for (const chunk of chunks) d.decode(chunk, { stream: true });
  d.decode();
}

/**
 * stream-json's tokenizer as a plain function (no stream overhead), fed the same chunks decoded to strings
 * (it consumes text only; a decoder is part of its real cost). Unflushed: the input is complete anyway.
 */
function streamJsonDirect(chunks: Buffer[]): void {
  const p = jsonParser() as unknown as (x: string) => unknown;
  const decoder = new StringDecoder("utf8");
  for (const chunk of chunks) p(decoder.write(chunk));
}

/** stream-json's parser as a Node stream, as a pipeline would use it. */
async function streamJsonStream(chunks: Buffer[]): Promise<void> {
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    streamJsonParser.asStream(),
    new Writable({ objectMode: true, write: (_t, _e, cb) => cb() }),
  );
}

async function gzip6(chunks: Buffer[]): Promise<void> {
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    createGzip({ level: 6 }),
    new Writable({ write: (_t, _e, cb) => cb() }),
  );
}

function sha256(chunks: Buffer[]): void {
  const h = createHash("sha256");
  for (const chunk of chunks) h.update(chunk);
  h.digest();
}

async function main(): Promise<void> {
  const mb = Number(process.argv[2] ?? 200);
  console.log(`generating ~${mb} MB of offer-like JSON in ${CHUNK / 1024} KiB chunks...`);
  const big = offerLike(mb * 1e6);
  const small = offerLike(Math.min(mb, 20) * 1e6, 2);
  JSON.parse(Buffer.concat(small).toString("utf8")); // the generator makes valid JSON
  // The same kind of data without the pretty-printing (as Azure's APIs send theirs).
  const compact = Buffer.from(
    JSON.stringify(JSON.parse(Buffer.concat(offerLike(Math.min(mb, 80) * 1e6, 3)).toString())),
  );
  const compactChunks: Buffer[] = [];
  for (let off = 0; off < compact.length; off += CHUNK)
    compactChunks.push(compact.subarray(off, off + CHUNK));
  console.log(`node ${process.version}`);
  const ours = await best("JsonChecker", big, 3, check);
  await best("JsonChecker (same data, compact)", compactChunks, 3, check);
  const intl = multilingual(Math.min(mb, 100) * 1e6);
  JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(intl))); // valid UTF-8 and JSON
  console.log(`multilingual Retail-like JSON: ${(nonAscii(intl) * 100).toFixed(0)}% of bytes >= 0x80`);
  await best("JsonChecker (multilingual)", intl, 3, checkRetail);
  await best("TextDecoder fatal (multilingual)", intl, 3, textDecoderFatal);
  const sj = await best("stream-json parser (function)", small, 3, streamJsonDirect);
  const sjs = await best("stream-json parser (stream)", small, 2, streamJsonStream);
  await best("JSON.parse (whole, not streaming)", small, 3, (c) =>
    JSON.parse(Buffer.concat(c).toString("utf8")),
  );
  await best("sha256", small, 3, sha256);
  const gz = await best("gzip level 6 (stream)", small, 3, gzip6);
  console.log(
    `JsonChecker is ${(ours / sj).toFixed(0)}x stream-json (function), ${(ours / sjs).toFixed(0)}x stream-json (stream), ` +
      `${(ours / gz).toFixed(1)}x gzip -6`,
  );
}

// Run only when executed directly (the generator can be imported elsewhere).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
