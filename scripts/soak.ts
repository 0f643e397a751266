// `npm run soak -- --minutes N [--lake local|s3]`: runs the daemon against the fake cloud with intervals of
// seconds, and reports captures, failures and the daemon's RSS over time. Goal: zero failures, RSS flat after
// warm-up (growth under 10%).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { FakeAwsPricing } from "../test/fakes/aws-pricing.js";
import { startFakeAzure } from "../test/fakes/azure.js";
import { FakeEc2 } from "../test/fakes/ec2.js";
import { generateHistory } from "../test/fakes/ec2-history.js";
import { startS3 } from "../test/fakes/s3.js";
import { TLS_CERT_PATH } from "../test/fakes/server.js";
import { BIN, cleanEnv, tempDir, writeConfig } from "../test/helpers.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const MINUTES = Number(opt("minutes", "5"));
const LAKE = opt("lake", "local");
const SAMPLE_MS = Number(opt("sample", "10")) * 1000;
const REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"];
const TYPES = ["m5.large", "c5.xlarge", "r5.2xlarge", "t3.micro"];
const PRODUCTS = ["Linux/UNIX", "Windows"];

const aws = new FakeAwsPricing({ regions: REGIONS, products: 200 });
const ec2 = new FakeEc2();
const seedHistory = (from: Date, to: Date, region: string) =>
  generateHistory({
    region,
    from,
    to,
    types: TYPES,
    products: PRODUCTS,
    everyMinutes: 1,
    seed: to.getTime() % 1e9,
  });
const t0 = new Date();
for (const r of REGIONS) ec2.setHistory(r, seedHistory(new Date(t0.getTime() - 2 * 3600_000), t0, r));
const azure = await startFakeAzure({ retail: { items: 5000, pageSize: 1000 } });
const [pricingUrl, ec2Url] = await Promise.all([aws.start(), ec2.start()]);
const s3 = LAKE === "s3" ? await startS3({ buckets: ["soak"] }) : undefined;
const work = tempDir("contrail-soak-");

// The upstream changes while the daemon runs: new spot prices every 10 s, a new EC2 offer version every 2 min.
let lastHistory = t0;
const feed = setInterval(() => {
  const now = new Date();
  for (const r of REGIONS)
    ec2.addHistory(
      r,
      seedHistory(lastHistory, now, r).filter((x) => x.timestamp > lastHistory),
    );
  lastHistory = now;
}, 10_000);
const bump = setInterval(
  () => aws.bumpVersion(REGIONS[Math.floor(Math.random() * REGIONS.length)]!),
  120_000,
);

writeConfig(work.dir, {
  sources: {
    AmazonEC2: { interval: "20s", regionDelay: "1s", cooldown: "2s" },
    AmazonEC2Spot: { interval: "10s", cooldown: "2s", concurrency: 3 },
    Azure: { interval: "10s", cooldown: "2s" },
    AzureRetail: { interval: "15s", cooldown: "2s", concurrency: 4 },
  },
});
const port = 19000 + Math.floor(Math.random() * 1000);
const env = cleanEnv({
  CONTRAIL_LAKE: s3 ? "s3://soak/contrail" : `${work.dir}/lake`,
  ...(s3 ? s3.env : { AWS_ACCESS_KEY_ID: "AKIDSOAK", AWS_SECRET_ACCESS_KEY: "soak-secret" }),
  CONTRAIL_AWS_PRICING_URL: pricingUrl,
  AWS_ENDPOINT_URL_EC2: ec2Url,
  CONTRAIL_AWS_REGIONS: REGIONS.join(","),
  ...azure.env,
  NODE_EXTRA_CA_CERTS: TLS_CERT_PATH,
  CONTRAIL_METRICS_PORT: String(port),
  CONTRAIL_LOG_LEVEL: "warn",
});

const daemon = spawn(process.execPath, [BIN, "crawl"], {
  cwd: work.dir,
  env,
  stdio: ["ignore", "pipe", "inherit"],
});
let warnings = 0;
daemon.stdout.on("data", (d: Buffer) => {
  for (const line of d.toString().split("\n"))
    if (line.includes('"level":"warn"') || line.includes('"level":"error"')) {
      warnings++;
      if (warnings <= 20) process.stderr.write(`daemon: ${line}\n`);
    }
});

function rssMb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function counts(): Promise<{ ok: number; failed: number; retries: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let ok = 0;
  let failed = 0;
  let retries = 0;
  for (const m of text.matchAll(/^contrail_captures_total\{source="[^"]+",outcome="([a-z]+)"\} (\d+)/gm)) {
    if (m[1] === "failed") failed += Number(m[2]);
    else if (m[1] === "captured" || m[1] === "unchanged") ok += Number(m[2]);
  }
  for (const m of text.matchAll(/^contrail_run_failures_total\{[^}]*\} (\d+)/gm)) failed += Number(m[1]);
  for (const m of text.matchAll(/^contrail_retries_total\{[^}]*\} (\d+)/gm)) retries += Number(m[1]);
  return { ok, failed, retries };
}

const samples: { min: number; rss: number; ok: number; failed: number; retries: number }[] = [];
const end = Date.now() + MINUTES * 60_000;
process.stdout.write(`soak: ${MINUTES} min, lake ${LAKE}, sampling every ${SAMPLE_MS / 1000} s\n`);
process.stdout.write("minute  captures+checks  failures  retries  RSS MB\n");
await new Promise((r) => setTimeout(r, 5000));
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, Math.max(0, end - Date.now()))));
  const c = await counts().catch(() => ({ ok: NaN, failed: NaN, retries: NaN }));
  const s = { min: (Date.now() - t0.getTime()) / 60_000, rss: rssMb(), ...c };
  samples.push(s);
  process.stdout.write(
    `${s.min.toFixed(1).padStart(6)}  ${String(s.ok).padStart(15)}  ${String(s.failed).padStart(8)}  ${String(s.retries).padStart(7)}  ${s.rss.toFixed(1).padStart(6)}\n`,
  );
}
daemon.kill("SIGTERM");
const code = await new Promise<number | null>((r) => daemon.on("exit", r));
clearInterval(feed);
clearInterval(bump);

// Warm-up: the first fifth of the run (at least two samples). RSS saw-tooths with garbage collection, so growth
// compares means: the first third of the samples after warm-up against the last third (peaks shown too).
const warm = samples.slice(Math.max(2, Math.floor(samples.length / 5)));
const third = Math.max(1, Math.floor(warm.length / 3));
const mean = (xs: { rss: number }[]) => xs.reduce((a, s) => a + s.rss, 0) / Math.max(1, xs.length);
const peak = (xs: { rss: number }[]) => Math.max(...xs.map((s) => s.rss));
const early = warm.slice(0, third);
const late = warm.slice(-third);
const growth = ((mean(late) - mean(early)) / mean(early)) * 100;
const last = samples.at(-1);
process.stdout.write(
  `\nresult: ${last?.ok} captures and checks, ${last?.failed} failures, ${last?.retries} retries, ${warnings} warnings; ` +
    `RSS after warm-up: first third mean ${mean(early).toFixed(1)} MB (peak ${peak(early).toFixed(1)}), ` +
    `last third mean ${mean(late).toFixed(1)} MB (peak ${peak(late).toFixed(1)}): ${growth >= 0 ? "+" : ""}${growth.toFixed(1)}%; ` +
    `daemon exited ${code}\n`,
);
await Promise.all([aws.close(), ec2.close(), azure.close(), s3?.stop()]);
work.cleanup();
process.exitCode = last && last.failed === 0 && code === 0 && growth < 10 ? 0 : 1;
