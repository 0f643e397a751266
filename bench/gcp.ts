// GoogleCloud: wall time, peak RSS and capture size of `contrail crawl --once --source GoogleCloud` (the built CLI,
// in a child process) against the fake Cloud Billing Catalog serving pages of 5000 SKUs with a fixed latency per
// page, for catalogues of several sizes: memory should stay flat as the catalogue grows (one page at a time), and
// the floor is the same crawl of a one-page catalogue (start-up and libraries).
// Run: node --import tsx bench/gcp.ts [latencyMs=50] [skus...=10 50000 200000]
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { COMPUTE_ENGINE_ID, FakeGcpBilling } from "../test/fakes/gcp.js";
import { BIN, cleanEnv } from "../test/helpers.js";
import type { Manifest } from "../src/types.js";
import { printTable, run, WORK } from "./measure.js";

const [latencyMs = 50, ...sizes] = process.argv.slice(2).map(Number);
const catalogues = sizes.length ? sizes : [10, 50_000, 200_000];

interface Row {
  skus: number;
  ms: number;
  peakRssMb: number;
  m: Manifest;
}

async function crawl(skus: number): Promise<Row> {
  const gcp = new FakeGcpBilling({ tls: false, skus: 0, latencyMs });
  gcp.setSkus(COMPUTE_ENGINE_ID, skus);
  await gcp.start();
  const dir = join(WORK, `gcp-${skus}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const env = cleanEnv({
      CONTRAIL_GCP_API_KEY: gcp.apiKey,
      CONTRAIL_GCP_BILLING_URL: gcp.baseUrl,
      CONTRAIL_LOG_LEVEL: "warn",
    });
    const r = await run(
      process.execPath,
      [BIN, "crawl", "--once", "--source", "GoogleCloud", "--lake", join(dir, "lake")],
      env,
      dir,
    );
    const mdir = join(dir, "lake/_contrail/manifests/GoogleCloud", COMPUTE_ENGINE_ID);
    const m = JSON.parse(readFileSync(join(mdir, readdirSync(mdir)[0]!), "utf8")) as Manifest;
    if (m.items !== skus || m.pages !== gcp.pageCount())
      throw new Error(`incomplete capture: ${m.items} SKUs on ${m.pages} pages`);
    return { skus, ms: r.ms, peakRssMb: r.peakRssMb, m };
  } finally {
    await gcp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `GoogleCloud: pages of 5000 SKUs, ${latencyMs} ms latency per page; the built CLI in a child process (node ${process.version})`,
);
const rows: Row[] = [];
for (const n of catalogues) rows.push(await crawl(n));
printTable([
  ["SKUs", "pages", "wall (s)", "peak RSS (MB)", "capture MB raw / gz", "MB/s raw"],
  ...rows.map((r) => [
    String(r.skus),
    String(r.m.pages),
    (r.ms / 1000).toFixed(2),
    r.peakRssMb.toFixed(0),
    `${(r.m.bytes / 1e6).toFixed(1)} / ${(r.m.storedBytes / 1e6).toFixed(1)}`,
    (r.m.bytes / 1e6 / (r.ms / 1000)).toFixed(1),
  ]),
]);
