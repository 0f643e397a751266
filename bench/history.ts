// Price history (SPEC §8) benchmarks:
// 1. `contrail history` deriving aws_ec2_prices from a 1 GB and a 2 GB AmazonEC2 capture (captured first by
//    `contrail crawl --once` from a local server, whose throughput is shown beside it): wall time, MB/s of
//    uncompressed offer, peak RSS. Goal: ≥ 40 MB/s, peak RSS < 400 MB whatever the size.
// 2. `contrail query` of one instance type's on-demand history across 20 regions × 10 offer versions: wall time
//    including start-up, warm cache, median of 7. Goal: < 1 s.
// 3. The history files' size against the lake's stored size (captures, gzipped). Goal: ≤ 25%.
// Run: node --import tsx bench/history.ts [--sizes 1GB,2GB] [--products 1000]
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { LocalLake } from "../src/lake/local.js";
import { dateVersion, generatedProduct, offerFragments } from "../test/fakes/aws-offer.js";
import { putCapture } from "../test/history/helpers.js";
import { BIN, cleanEnv, filesUnder } from "../test/helpers.js";
import {
  captureMs,
  ensureOfferFile,
  GENERATOR,
  parseSize,
  printTable,
  run,
  serveOffer,
  WORK,
} from "./measure.js";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const SIZES = arg("sizes", "1GB,2GB").split(",").map(parseSize);
const PRODUCTS = Number(arg("products", "1000"));
const REGIONS = [
  "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1", "eu-west-2",
  "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
  "ap-southeast-1", "ap-southeast-2", "ap-south-1", "me-south-1", "af-south-1",
]; // prettier-ignore
const VERSIONS = 10;
const env = cleanEnv({ CONTRAIL_LOG_LEVEL: "info" });
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Bytes under `dir` whose relative path passes `keep`. */
function bytesUnder(dir: string, keep: (path: string) => boolean): number {
  return filesUnder(dir)
    .filter(keep)
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}
const isHistory = (f: string) => f.startsWith("history/");
const isStored = (f: string) => !isHistory(f) && !f.startsWith("_");

async function derivation(size: number, rows: string[][], sizes: string[][]): Promise<void> {
  const file = await ensureOfferFile(size);
  const bytes = statSync(file).size;
  const lake = join(WORK, `history-lake-${size}`);
  rmSync(lake, { recursive: true, force: true });
  mkdirSync(lake, { recursive: true });
  const cfg = join(WORK, "history.config.json");
  writeFileSync(cfg, JSON.stringify({ sources: { AmazonEC2: { regionDelay: "0s" } } }));
  const { url, close } = await serveOffer(file);
  try {
    const crawl = await run(
      process.execPath,
      [BIN, "crawl", "--once", "--source", "AmazonEC2", "--config", cfg, "--lake", lake],
      { ...env, CONTRAIL_AWS_PRICING_URL: url },
      WORK,
    );
    const ms = captureMs(crawl.out) ?? crawl.ms;
    rows.push([
      `capture ${mb(bytes)} offer`,
      `${(ms / 1000).toFixed(1)} s`,
      rate(bytes, ms),
      `${crawl.peakRssMb.toFixed(0)} MB`,
    ]);
  } finally {
    close();
  }
  const history = await run(process.execPath, [BIN, "history", "--lake", lake], env, WORK);
  rows.push([
    `history of it`,
    `${(history.ms / 1000).toFixed(1)} s`,
    rate(bytes, history.ms),
    `${history.peakRssMb.toFixed(0)} MB`,
  ]);
  sizes.push(ratio(`${mb(bytes)} offer, 1 capture`, lake));
}

function rate(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
}

function ratio(name: string, lake: string): string[] {
  const history = bytesUnder(lake, isHistory);
  const stored = bytesUnder(lake, isStored);
  return [name, mb(stored), `${(history / 1e6).toFixed(1)} MB`, `${((100 * history) / stored).toFixed(0)}%`];
}

/** 20 regions × 10 offer versions, a day apart: small offers (PRODUCTS each) whose prices move between versions. */
async function queryLake(): Promise<string> {
  const dir = join(WORK, `history-query-lake-${PRODUCTS}-${GENERATOR}`);
  const done = join(dir, ".complete");
  try {
    statSync(done);
    return dir;
  } catch {
    /* build it */
  }
  for (const f of readdirSync(WORK)) {
    if (f.startsWith(`history-query-lake-${PRODUCTS}`))
      rmSync(join(WORK, f), { recursive: true, force: true });
  }
  const lake = new LocalLake(dir);
  process.stderr.write(
    `writing ${REGIONS.length * VERSIONS} captures of ${PRODUCTS} products (cached in .bench/)…\n`,
  );
  for (let v = 0; v < VERSIONS; v++) {
    const at = new Date(Date.UTC(2026, 0, 1 + v, 6));
    for (const region of REGIONS) {
      const doc = [
        ...offerFragments({
          version: dateVersion(at),
          count: PRODUCTS,
          product: (i) => generatedProduct("bench", region, i),
        }),
      ].join("");
      await putCapture(lake, "AmazonEC2", region, at.toISOString(), doc);
    }
  }
  writeFileSync(done, "");
  return dir;
}

async function query(rows: string[][], sizes: string[][]): Promise<void> {
  const lake = await queryLake();
  rmSync(join(lake, "history"), { recursive: true, force: true });
  const derive = await run(process.execPath, [BIN, "history", "--lake", lake], env, WORK);
  rows.push([
    `history of ${REGIONS.length * VERSIONS} captures`,
    `${(derive.ms / 1000).toFixed(1)} s`,
    `${(derive.ms / (REGIONS.length * VERSIONS)).toFixed(0)} ms per capture`,
    `${derive.peakRssMb.toFixed(0)} MB`,
  ]);
  const sql = `SELECT region, price, currency, valid_from, valid_to FROM aws_ec2_price_history
    WHERE instance_type = 'm5.large' AND term_type = 'OnDemand' AND unit = 'Hrs' AND operating_system = 'Linux'
      AND tenancy = 'Shared' AND pre_installed_sw = 'NA' AND capacity_status = 'Used'
    ORDER BY region, valid_from`;
  const argv = [BIN, "query", "--lake", lake, "--format", "csv", sql];
  const first = await run(process.execPath, argv, env, WORK); // warms the OS's file cache
  // The floor under any command's wall time: Node and the CLI's modules, without DuckDB or a file read. Timed in
  // turn with the query, so that both see the same load on a shared machine.
  const times: number[] = [];
  const floor: number[] = [];
  let peak = 0;
  for (let i = 0; i < 7; i++) {
    const r = await run(process.execPath, argv, env, WORK);
    times.push(r.ms);
    peak = Math.max(peak, r.peakRssMb);
    floor.push((await run(process.execPath, [BIN, "--version"], env, WORK)).ms);
  }
  const lines = first.out.trim().split("\n").length - 1;
  rows.push([
    `query: m5.large on-demand, ${REGIONS.length} regions × ${VERSIONS} versions (${lines} periods)`,
    `${(median(times) / 1000).toFixed(2)} s median of 7`,
    `min ${(Math.min(...times) / 1000).toFixed(2)} s, max ${(Math.max(...times) / 1000).toFixed(2)} s`,
    `${peak.toFixed(0)} MB`,
  ]);
  rows.push([
    "floor: contrail --version",
    `${(median(floor) / 1000).toFixed(2)} s median of 7`,
    `min ${(Math.min(...floor) / 1000).toFixed(2)} s`,
    "",
  ]);
  sizes.push(ratio(`${REGIONS.length} regions × ${VERSIONS} versions`, lake));
}

async function main() {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  process.stdout.write(
    `${cpus().length} cores, load average ${load} at the start (a loaded machine is slower)\n\n`,
  );
  const rows: string[][] = [["run", "wall (incl. start-up)", "throughput", "peak RSS"]];
  const sizes: string[][] = [["lake", "stored captures", "history files", "history / stored"]];
  for (const size of SIZES) await derivation(size, rows, sizes);
  await query(rows, sizes);
  printTable(rows);
  process.stdout.write("\n");
  printTable(sizes);
}

await main();
