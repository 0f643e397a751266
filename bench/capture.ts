// Capture throughput and memory: an offer-shaped file of SIZE (default 1 GB) served from a local server, captured
// by the crawler into the local lake and into the test S3 server, against the shell baselines `curl | gzip -6` and
// `curl | gzip -6 | aws s3 cp -` (to the same S3 server; needs the AWS CLI).
// Run: node --import tsx bench/capture.ts [--size 2GB] [--level 6]
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startS3 } from "../test/fakes/s3.js";
import { BIN, ROOT, cleanEnv, filesUnder } from "../test/helpers.js";
import {
  captureMs,
  ensureOfferFile,
  OFFER_PATH,
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
const SIZE = parseSize(arg("size", "1GB"));
const LEVEL = arg("level", "");

async function main() {
  const file = await ensureOfferFile(SIZE);
  const bytes = statSync(file).size;
  const mb = bytes / 1e6;
  const { url, close } = await serveOffer(file);
  const rows: string[][] = [];
  const line = (name: string, ms: number, rss: number | undefined, note = "") =>
    rows.push([
      name,
      `${(ms / 1000).toFixed(1)} s`,
      `${(mb / (ms / 1000)).toFixed(0)} MB/s`,
      rss ? `${rss.toFixed(0)} MB` : "-",
      note,
    ]);

  // Shell baseline, measured in the same run.
  const baseline = join(WORK, "baseline.json.gz");
  const shell = await run(
    "bash",
    ["-c", `set -o pipefail; curl -sf ${url}${OFFER_PATH} | gzip -6 > ${baseline}`],
    process.env,
    ROOT,
  );
  line(
    "curl | gzip -6 (baseline)",
    shell.ms,
    undefined,
    `${(statSync(baseline).size / 1e6).toFixed(0)} MB stored`,
  );
  const baselineMs = shell.ms;

  const lakeDir = join(WORK, "lake");
  rmSync(lakeDir, { recursive: true, force: true });
  mkdirSync(lakeDir, { recursive: true });
  const cfg = join(WORK, "bench.config.json");
  writeFileSync(
    cfg,
    JSON.stringify({
      sources: { AmazonEC2: { regionDelay: "0s" } },
      ...(LEVEL ? { gzipLevel: Number(LEVEL) } : {}),
    }),
  );
  const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: url, CONTRAIL_LOG_LEVEL: "info" });

  const local = await run(
    process.execPath,
    [BIN, "crawl", "--once", "--source", "AmazonEC2", "--config", cfg, "--lake", lakeDir],
    env,
    WORK,
  );
  const stored = filesUnder(lakeDir).find((f) => f.endsWith(".json.gz"))!;
  const localCapture = captureMs(local.out) ?? local.ms;
  line(
    "contrail → local lake",
    local.ms,
    local.peakRssMb,
    `capture ${(localCapture / 1000).toFixed(1)} s; ${(statSync(join(lakeDir, stored)).size / 1e6).toFixed(0)} MB stored`,
  );

  const s3 = await startS3({ buckets: ["bench"] });
  const s3Ratios: string[] = [];
  try {
    const s3env = { ...env, ...s3.env };
    const remote = await run(
      process.execPath,
      [BIN, "crawl", "--once", "--source", "AmazonEC2", "--config", cfg, "--lake", "s3://bench/contrail"],
      s3env,
      WORK,
    );
    const remoteCapture = captureMs(remote.out) ?? remote.ms;
    line(
      "contrail → S3 (s3rver)",
      remote.ms,
      remote.peakRssMb,
      `capture ${(remoteCapture / 1000).toFixed(1)} s`,
    );
    // The S3 baseline: the same download and compression, uploaded by the AWS CLI from stdin (multipart, 8 MiB
    // parts, 10 at once), to the same server. Skipped where the AWS CLI is not installed.
    const hasAws = await run("bash", ["-c", "command -v aws"], process.env, ROOT).then(
      () => true,
      () => false,
    );
    if (hasAws) {
      const s3shell = await run(
        "bash",
        [
          "-c",
          `set -o pipefail; curl -sf ${url}${OFFER_PATH} | gzip -6 | ` +
            `aws s3 cp - s3://bench/baseline.json.gz --endpoint-url ${s3.endpoint} --only-show-errors`,
        ],
        { ...s3env, AWS_DEFAULT_REGION: s3.region },
        ROOT,
      );
      line("curl | gzip -6 | aws s3 cp - (S3 baseline)", s3shell.ms, undefined);
      s3Ratios.push(
        `crawler → S3 vs the S3 baseline: ${(s3shell.ms / remote.ms).toFixed(2)}× its speed (whole process), ` +
          `${(s3shell.ms / remoteCapture).toFixed(2)}× (capture time)`,
      );
    } else s3Ratios.push("S3 baseline skipped: the AWS CLI (`aws`) is not installed");
    const ratio = baselineMs / localCapture;
    process.stdout.write(
      `\ninput ${mb.toFixed(0)} MB, gzip level ${LEVEL || "default (6)"}, ${cpus().length} cores\n`,
    );
    rows.unshift(["run", "wall", "throughput", "peak RSS", "note"]);
    printTable(rows);
    process.stdout.write(
      `\ncrawler capture vs baseline: ${ratio.toFixed(2)}× the baseline's speed (capture time, excluding process start)\n`,
    );
    for (const r of s3Ratios) process.stdout.write(`${r}\n`);
  } finally {
    await s3.stop();
    close();
  }
}

await main();
