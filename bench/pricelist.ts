// The Price List sources beside AmazonEC2 (issue 11): wall time, capture time and peak RSS of
// `contrail crawl --once --source X` against the fake Price List, for one region of AWSComputeSavingsPlan and of a
// service of aws.services (AmazonRDS), at sizes like AWS's larger regions; then the run after it, whose versions are
// unchanged: a check recorded per region, nothing downloaded; and `contrail history` of the Savings Plans capture
// (aws_savings_plan_rates). The crawler runs from the sources (tsx) in a child.
// Run: node --import tsx bench/pricelist.ts [savingsPlanRates=15000] [rdsProducts=15000]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeAwsPricing } from "../test/fakes/aws-pricing.js";
import type { VersionedFiles } from "../test/fakes/aws-pricelist-files.js";
import { CLI_FROM_SOURCES } from "../test/helpers.js";
import type { Manifest } from "../src/types.js";
import { captureMs, printTable, run } from "./measure.js";

const [rates = 15_000, products = 15_000] = process.argv.slice(2).map(Number);
const MB = 1024 * 1024;

const aws = new FakeAwsPricing({
  regions: ["us-east-1"],
  products: 1,
  services: { AmazonRDS: ["us-east-1"] },
  savingsPlanRegions: ["us-east-1"],
});
aws.savingsPlans.set("us-east-1", { count: rates });
aws.service("AmazonRDS").set("us-east-1", { count: products });
const url = await aws.start();

async function measure(source: string, files: VersionedFiles): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), "contrail-bench-pricelist-"));
  try {
    writeFileSync(
      join(dir, "contrail.config.json"),
      JSON.stringify({ sources: { [source]: { regionDelay: "0s" } } }),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      CONTRAIL_AWS_PRICING_URL: url,
      CONTRAIL_AWS_SERVICES: "AmazonRDS",
      CONTRAIL_LOG_LEVEL: "info",
    };
    const args = [...CLI_FROM_SOURCES, "crawl", "--once", "--source", source];
    const bytes = files.bytes("us-east-1").length;
    const first = await run(process.execPath, args, env, dir);
    const mdir = join(dir, "lake/_contrail/manifests", source, "us-east-1");
    const m = JSON.parse(readFileSync(join(mdir, readdirSync(mdir)[0]!), "utf8")) as Manifest;
    // The history of the capture (only the Savings Plans have a table): `contrail history` on it.
    const history =
      source === "AWSComputeSavingsPlan"
        ? await run(process.execPath, [...CLI_FROM_SOURCES, "history", "--source", source], env, dir)
        : undefined;
    const before = aws.fileRequests(files, "us-east-1").length;
    const second = await run(process.execPath, args, env, dir);
    const downloads = aws.fileRequests(files, "us-east-1").length - before;
    return [
      [
        `${source} (capture)`,
        (bytes / MB).toFixed(1),
        (m.storedBytes / MB).toFixed(1),
        String(captureMs(first.out) ?? "?"),
        first.ms.toFixed(0),
        first.peakRssMb.toFixed(0),
      ],
      ...(history
        ? [
            [
              `${source} (contrail history)`,
              "-",
              "-",
              "-",
              history.ms.toFixed(0),
              history.peakRssMb.toFixed(0),
            ],
          ]
        : []),
      [
        `${source} (unchanged: ${downloads} downloads)`,
        "-",
        "-",
        "-",
        second.ms.toFixed(0),
        second.peakRssMb.toFixed(0),
      ],
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  printTable([
    ["run", "file MB", "stored MB", "capture ms", "wall ms", "peak RSS MB"],
    ...(await measure("AWSComputeSavingsPlan", aws.savingsPlans)),
    ...(await measure("AmazonRDS", aws.service("AmazonRDS"))),
  ]);
} finally {
  await aws.close();
}
