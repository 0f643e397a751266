// Capture throughput and memory: an offer-shaped file of SIZE (default 1 GB) served from a local server, captured
// by the crawler into the local lake and into the test S3 server, against the shell baseline `curl | gzip -6`.
// Run: node --import tsx bench/capture.ts [--size 2GB] [--level 6]
import { spawn } from "node:child_process";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus } from "node:os";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { offerStream } from "../test/fakes/aws-pricing.js";
import { startS3 } from "../test/fakes/s3.js";
import { BIN, ROOT, cleanEnv, filesUnder } from "../test/helpers.js";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const SIZE = parseSize(arg("size", "1GB"));
const LEVEL = arg("level", "");
const WORK = join(ROOT, ".bench");
const VERSION = "20260116160258";
const OFFER_PATH = `/offers/v1.0/aws/AmazonEC2/${VERSION}/us-east-1/index.json`;

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(GB|MB|G|M)?$/i.exec(s);
  if (!m) throw new Error(`--size ${s}: expected e.g. 1GB or 500MB`);
  return Math.round(Number(m[1]) * (/^g/i.test(m[2] ?? "M") ? 1e9 : 1e6));
}

async function ensureOfferFile(): Promise<string> {
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, `offer-${SIZE}.json`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${(SIZE / 1e9).toFixed(2)} GB offer file (cached in .bench/)…\n`);
    await pipeline(offerStream({ targetBytes: SIZE, seed: 7 }), createWriteStream(`${file}.part`));
    renameSync(`${file}.part`, file);
  }
  return file;
}

function serve(file: string): Promise<{ url: string; close: () => void }> {
  const size = statSync(file).size;
  const regionIndex = JSON.stringify({
    formatVersion: "v1.0",
    regions: { "us-east-1": { regionCode: "us-east-1", currentVersionUrl: OFFER_PATH } },
  });
  const server = http.createServer((req, res) => {
    if (req.url?.endsWith("region_index.json")) {
      res.writeHead(200, { "content-type": "application/json" }).end(regionIndex);
    } else if (req.url === OFFER_PATH) {
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": size,
        etag: `"bench-${size}"`,
      });
      createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
    } else res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => server.close(),
      }),
    ),
  );
}

/** Runs a command, sampling its peak RSS from /proc (VmHWM of the process itself). */
function run(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ ms: number; peakRssMb: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    let peak = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 50);
    child.on("exit", (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`));
      else resolve({ ms: performance.now() - t0, peakRssMb: peak, out });
    });
  });
}

function captureMs(out: string): number | undefined {
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const l = JSON.parse(line) as { msg?: string; durationMs?: number };
    if (l.msg === "captured") return l.durationMs;
  }
  return undefined;
}

async function main() {
  const file = await ensureOfferFile();
  const bytes = statSync(file).size;
  const mb = bytes / 1e6;
  const { url, close } = await serve(file);
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
  try {
    const s3env = {
      ...env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      CONTRAIL_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const remote = await run(
      process.execPath,
      [BIN, "crawl", "--once", "--source", "AmazonEC2", "--config", cfg, "--lake", "s3://bench/contrail"],
      s3env,
      WORK,
    );
    line(
      "contrail → S3 (s3rver)",
      remote.ms,
      remote.peakRssMb,
      `capture ${((captureMs(remote.out) ?? remote.ms) / 1000).toFixed(1)} s`,
    );
    const ratio = baselineMs / localCapture;
    process.stdout.write(
      `\ninput ${mb.toFixed(0)} MB, gzip level ${LEVEL || "default (6)"}, ${cpus().length} cores\n`,
    );
    rows.unshift(["run", "wall", "throughput", "peak RSS", "note"]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join("  ")}\n`);
    process.stdout.write(
      `\ncrawler capture vs baseline: ${ratio.toFixed(2)}× the baseline's speed (capture time, excluding process start)\n`,
    );
  } finally {
    await s3.stop();
    close();
  }
}

await main();
