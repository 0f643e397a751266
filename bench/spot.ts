// AmazonEC2Spot benchmarks.
// (a) The enrichment index from a 1 GB offer file streamed from a local server: time, MB/s and peak RSS, measured
//     in a child process (so the server's generator and this process's memory do not count), stopping after
//     `products` as the crawler does, and once more tokenising the whole file (the worst case).
// (b) A sweep of 30 regions × 5 pages with 100 ms latency per call: wall time at several concurrencies, and the
//     speed-up against one region after another (the same code at concurrency 1; measured, not asserted), with the
//     crawler's CPU per record and peak heap. Each region's last hour holds 4 600 records (48 series: 2 AZs × 8
//     types × 3 products), served 1000 to a page as EC2 does; enriched, a record is ~640 bytes of JSON, as in
//     the original crawler's sample. The fake EC2 API runs in a child process with every page's XML rendered
//     before the clock starts, so that the sweep measures the crawler, not the fake.
// Run: node --import tsx bench/spot.ts [--size 1GB] [--regions 30] [--latency 100] [--concurrency 1,4,16,34]
//      [--skip-index] [--skip-sweep]
// Only node: modules are imported statically: the index child loads just the HTTP client and the index builder,
// so its RSS is the builder's, not the AWS SDK's or the fakes'.
import { fork, spawn } from "node:child_process";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { getHeapStatistics } from "node:v8";
import type { SpotRecord } from "../test/fakes/ec2.js";

const SELF = fileURLToPath(import.meta.url);
const WORK = fileURLToPath(new URL("../.bench/", import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const flag = (name: string) => args.includes(`--${name}`);
const MB = 1e6;

// ---- (a) enrichment index ----

interface IndexResult {
  mode: string;
  seconds: number;
  bytesRead: number;
  types: number;
  products: number;
  baselineRssMB: number;
  peakRssMB: number;
}

/** Child process: stream the offer file at `url` into the index; print one JSON line. */
async function indexChild(url: string, fullScan: boolean): Promise<void> {
  const { NodeHttpClient } = await import("../src/http/client.js");
  const { indexOffer } = await import("../src/sources/aws-spot/offer-index.js");
  const client = new NodeHttpClient({
    connectTimeout: 10_000,
    stallTimeout: 60_000,
    retry: { attempts: 1, baseDelay: 100, maxDelay: 100 },
  });
  global.gc?.();
  const baseline = process.memoryUsage.rss();
  let sampled = baseline;
  const timer = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage.rss())), 20);
  const started = process.hrtime.bigint();
  const res = await client.request({ url, signal: new AbortController().signal });
  const built = await indexOffer(res.body, {
    fullScan,
    onProgress: () => (sampled = Math.max(sampled, process.memoryUsage.rss())),
  });
  res.body.destroy();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  client.close();
  const result: IndexResult = {
    mode: fullScan ? "whole file" : "stop after products",
    seconds,
    bytesRead: built.bytesRead,
    types: built.types.size,
    products: built.products,
    baselineRssMB: baseline / MB,
    peakRssMB: Math.max(sampled, vmHwm() ?? 0) / MB,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The kernel's high-water mark of this process's resident set (Linux), in bytes. */
function vmHwm(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+)\s*kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function runChild(url: string, fullScan: boolean): Promise<IndexResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", SELF, "--child-index", url, ...(fullScan ? ["--full"] : [])],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`index child exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1)!) as IndexResult);
    });
  });
}

/** The offer file, generated once by the fake's `offerStream` and kept in .bench/ (generation is slower than parsing). */
async function offerFile(size: number): Promise<string> {
  const path = join(WORK, `spot-offer-${size}.json`);
  if (existsSync(path)) return path;
  const { offerStream } = await import("../test/fakes/aws-pricing.js");
  mkdirSync(WORK, { recursive: true });
  await pipeline(offerStream({ targetBytes: size }), createWriteStream(`${path}.tmp`));
  renameSync(`${path}.tmp`, path);
  return path;
}

export async function benchIndex(size: number): Promise<IndexResult[]> {
  const file = await offerFile(size);
  // A plain static server: chunked, no Content-Length, like the price list's streamed regions.
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const body = createReadStream(file, { highWaterMark: 64 * 1024 });
    body.pipe(res);
    res.on("close", () => body.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/offers/v1.0/aws/AmazonEC2/20260116160258/us-east-1/index.json`;
    console.log(`offer file: ${file} (${(statSync(file).size / MB).toFixed(0)} MB)`);
    return [await runChild(url, false), await runChild(url, true)];
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

// ---- (b) region sweep ----

const TYPES = [
  "m5.large",
  "m5.xlarge",
  "c5.large",
  "c5.2xlarge",
  "r5.xlarge",
  "t3.micro",
  "t3.large",
  "i3.2xlarge",
];
const OSES = ["Linux/UNIX", "Windows", "SUSE Linux"];

/** `perRegion` records inside the last hour (plus one earlier price per series): ceil(n / 1000) pages. */
function sweepHistory(region: string, now: number, perRegion: number): SpotRecord[] {
  const series: [string, string, string][] = [];
  for (const az of ["a", "b"])
    for (const t of TYPES) for (const p of OSES) series.push([`${region}${az}`, t, p]);
  const out: SpotRecord[] = [];
  const inWindow = perRegion - series.length;
  for (let i = 0; i < inWindow; i++) {
    const [az, t, p] = series[i % series.length]!;
    // Whole seconds, as EC2 stamps price changes.
    const at = Math.floor((now - 58 * 60_000 + (i / inWindow) * 56 * 60_000) / 1000) * 1000;
    out.push({
      availabilityZone: az,
      instanceType: t,
      productDescription: p,
      spotPrice: (0.01 + (i % 97) / 1000).toFixed(6),
      timestamp: new Date(at),
    });
  }
  for (const [az, t, p] of series) {
    out.push({
      availabilityZone: az,
      instanceType: t,
      productDescription: p,
      spotPrice: "0.050000",
      timestamp: new Date(now - 2 * 3_600_000),
    });
  }
  return out;
}

/** A FakeEc2 in a child process, driven by IPC messages. */
interface Ec2Worker {
  endpoint: string;
  setHistories(regions: string[], now: number, perRegion: number): Promise<void>;
  calls(): Promise<number>;
  /** CPU seconds the fake has used so far (user + system). */
  cpu(): Promise<number>;
  close(): Promise<void>;
}

async function startFakeEc2Worker(latencyMs: number): Promise<Ec2Worker> {
  const child = fork(SELF, ["--child-ec2", String(latencyMs)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  child.on("message", (m: { id: number; value: unknown }) => pending.get(m.id)?.(m.value));
  const ask = <T>(op: string, args: unknown[] = []) =>
    new Promise<T>((resolve) => {
      pending.set(++id, resolve as (v: unknown) => void);
      child.send({ id, op, args });
    });
  const endpoint = await ask<string>("start");
  return {
    endpoint,
    setHistories: (regions, now, perRegion) => ask("setHistories", [regions, now, perRegion]),
    calls: () => ask<number>("calls"),
    cpu: () => ask<number>("cpu"),
    close: async () => {
      await ask("close");
      // The fake's process ends with this one: nothing of the bench outlives it.
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

/** The child's side: one FakeEc2, answering the messages of startFakeEc2Worker. */
async function fakeEc2Child(latencyMs: number): Promise<void> {
  const { FakeEc2 } = await import("../test/fakes/ec2.js");
  const ec2 = new FakeEc2({ latencyMs });
  process.on("message", (m: { id: number; op: string; args: unknown[] }) => {
    const reply = (value?: unknown) => process.send!({ id: m.id, value });
    if (m.op === "start") void ec2.start().then(reply);
    else if (m.op === "calls") reply(ec2.calls.length);
    else if (m.op === "cpu") {
      const { user, system } = process.cpuUsage();
      reply((user + system) / 1e6);
    } else if (m.op === "close") void ec2.close().then(() => reply());
    else if (m.op === "setHistories") {
      const [regions, now, perRegion] = m.args as [string[], number, number];
      for (const r of regions) ec2.setHistory(r, sweepHistory(r, now, perRegion));
      ec2.prerender(); // the XML of every page built before the clock starts: the bench measures the crawler
      reply();
    }
  });
}

interface SweepResult {
  concurrency: number;
  seconds: number;
  /** Peak V8 heap in use during the sweep (sampled), MB: the records of the regions in flight. */
  peakHeapMB: number;
  /** CPU time of this process (the crawler, gzip's threads included; the fake EC2 API runs in its own). */
  cpuSeconds: number;
  /** CPU time of the fake EC2 API (its own process) during the sweep. */
  fakeCpuSeconds: number;
  calls: number;
  items: number;
  /** Uncompressed JSON bytes written, all regions. */
  bytes: number;
  captured: number;
}

export async function benchSweep(
  regionCount: number,
  latencyMs: number,
  concurrencies: number[],
): Promise<SweepResult[]> {
  const { FakeAwsPricing } = await import("../test/fakes/aws-pricing.js");
  const { loadConfig } = await import("../src/config/load.js");
  const { NodeHttpClient } = await import("../src/http/client.js");
  const { openLake } = await import("../src/lake/index.js");
  const { createLogger } = await import("../src/log/logger.js");
  const { makeContext } = await import("../src/schedule/context.js");
  const { amazonEc2Spot } = await import("../src/sources/aws-spot/index.js");
  // The fake EC2 API runs in a child process: its CPU (building XML pages) is the cloud's, not the crawler's.
  const ec2 = await startFakeEc2Worker(latencyMs);
  const aws = new FakeAwsPricing({ regions: ["us-east-1"], products: 40 });
  const pricingUrl = await aws.start();
  const { AWS_REGIONS } = await import("../test/fakes/ec2-regions.js");
  if (regionCount > AWS_REGIONS.length) throw new Error(`--regions: at most ${AWS_REGIONS.length}`);
  const regions = AWS_REGIONS.slice(0, regionCount);
  const results: SweepResult[] = [];
  try {
    for (const concurrency of [0, ...concurrencies]) {
      // Every run's window (the last hour) holds the same records: 5 pages of up to 1000 per region.
      await ec2.setHistories(regions, Date.now(), 4_600);
      const dir = mkdtempSync(join(tmpdir(), "contrail-spot-bench-"));
      try {
        const configFile = join(dir, "contrail.config.json");
        writeFileSync(
          configFile,
          JSON.stringify({ sources: { AmazonEC2Spot: { concurrency: Math.max(1, concurrency) } } }),
        );
        const config = loadConfig({
          cwd: dir,
          env: {
            CONTRAIL_CONFIG: configFile,
            CONTRAIL_LAKE: join(dir, "lake"),
            AWS_ENDPOINT_URL_EC2: ec2.endpoint,
            AWS_ACCESS_KEY_ID: "AKIDBENCH",
            AWS_SECRET_ACCESS_KEY: "bench-secret",
            // concurrency 0: the warm-up (JIT, enrichment index in memory), one region only
            CONTRAIL_AWS_REGIONS: (concurrency === 0 ? regions.slice(0, 1) : regions).join(","),
            CONTRAIL_AWS_PRICING_URL: pricingUrl,
            HOME: dir,
          },
        });
        const log = createLogger("error", { pretty: false });
        const http = new NodeHttpClient({
          connectTimeout: 10_000,
          stallTimeout: 10_000,
          retry: { attempts: 3, baseDelay: 100, maxDelay: 1000 },
        });
        const lake = await openLake(config, log);
        const ctx = makeContext({ config, lake, http, log }, amazonEc2Spot, new AbortController().signal);
        const callsBefore = await ec2.calls();
        const fakeCpuBefore = await ec2.cpu();
        global.gc?.();
        // Sampled from V8's own statistics: process.memoryUsage() costs enough to show in a profile.
        const heap = () => getHeapStatistics().used_heap_size;
        let peakHeap = heap();
        const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, heap())), 20);
        const started = process.hrtime.bigint();
        const cpu = process.cpuUsage();
        const outcomes = await amazonEc2Spot.run(ctx).finally(() => clearInterval(sampler));
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const used = process.cpuUsage(cpu);
        http.close();
        const captured = outcomes.filter((o) => o.status === "captured");
        if (captured.length !== outcomes.length)
          throw new Error(`sweep: ${outcomes.length - captured.length} regions not captured`);
        if (concurrency === 0) continue;
        results.push({
          concurrency,
          seconds,
          peakHeapMB: peakHeap / MB,
          cpuSeconds: (used.user + used.system) / 1e6,
          fakeCpuSeconds: (await ec2.cpu()) - fakeCpuBefore,
          calls: (await ec2.calls()) - callsBefore,
          items: captured.reduce((n, o) => n + (o.status === "captured" ? (o.manifest.items ?? 0) : 0), 0),
          bytes: captured.reduce((n, o) => n + (o.status === "captured" ? o.manifest.bytes : 0), 0),
          captured: captured.length,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await ec2.close();
    await aws.close();
  }
  return results;
}

// ---- main ----

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(GB|MB|G|M)?$/i.exec(s);
  if (!m) throw new Error(`--size ${s}: expected e.g. 1GB or 500MB`);
  return Math.round(Number(m[1]) * (/^g/i.test(m[2] ?? "M") ? 1e9 : 1e6));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
    .join("\n");
}

async function main(): Promise<void> {
  if (flag("child-index")) return indexChild(arg("child-index", ""), flag("full"));
  if (flag("child-ec2")) return fakeEc2Child(Number(arg("child-ec2", "0")));
  if (!flag("skip-index")) {
    const size = parseSize(arg("size", "1GB"));
    console.log(
      `(a) enrichment index from a ${(size / 1e9).toFixed(2)} GB offer file over local HTTP (child process)`,
    );
    const rows = [["mode", "read MB", "seconds", "MB/s", "types", "products", "idle RSS MB", "peak RSS MB"]];
    for (const r of await benchIndex(size)) {
      rows.push([
        r.mode,
        (r.bytesRead / MB).toFixed(0),
        r.seconds.toFixed(2),
        (r.bytesRead / MB / r.seconds).toFixed(1),
        String(r.types),
        String(r.products),
        r.baselineRssMB.toFixed(0),
        r.peakRssMB.toFixed(0),
      ]);
    }
    console.log(`${table(rows)}\n`);
  }
  if (!flag("skip-sweep")) {
    const regions = Number(arg("regions", "30"));
    const latency = Number(arg("latency", "100"));
    console.log(`(b) sweep: ${regions} regions × 5 pages, ${latency} ms latency per call`);
    const { SPOT_CONCURRENCY } = await import("../src/sources/aws-spot/index.js");
    const list = arg("concurrency", `1,4,16,${SPOT_CONCURRENCY}`).split(",").map(Number);
    const results = await benchSweep(regions, latency, list);
    const serial = results.find((r) => r.concurrency === 1)?.seconds ?? NaN;
    const rows = [
      [
        "concurrency",
        "wall s",
        "cpu s",
        "cpu µs/record",
        "fake cpu s",
        "peak heap MB",
        "calls",
        "records",
        "JSON MB",
        "regions",
        "vs sequential",
      ],
    ];
    for (const r of results) {
      rows.push([
        String(r.concurrency) + (r.concurrency === SPOT_CONCURRENCY ? " (default)" : ""),
        r.seconds.toFixed(2),
        r.cpuSeconds.toFixed(2),
        ((r.cpuSeconds / r.items) * 1e6).toFixed(1),
        r.fakeCpuSeconds.toFixed(2),
        r.peakHeapMB.toFixed(0),
        String(r.calls),
        String(r.items),
        (r.bytes / MB).toFixed(1),
        String(r.captured),
        `${(serial / r.seconds).toFixed(1)}×`,
      ]);
    }
    console.log(table(rows));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
