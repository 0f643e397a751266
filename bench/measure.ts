// Helpers shared by the benchmarks: the generated offer file (cached in .bench/), a local server for it, and a child
// process run with its peak RSS sampled from /proc.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { offerStream } from "../test/fakes/aws-pricing.js";
import { ROOT } from "../test/helpers.js";

export const WORK = join(ROOT, ".bench");
/** The offer generator's version (a hash of its source): what is cached in WORK from another is stale. */
export const GENERATOR = createHash("sha256")
  .update(readFileSync(join(ROOT, "test/fakes/aws-offer.ts")))
  .digest("hex")
  .slice(0, 8);
export const OFFER_VERSION = "20260116160258";
export const OFFER_PATH = `/offers/v1.0/aws/AmazonEC2/${OFFER_VERSION}/us-east-1/index.json`;

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(GB|MB|G|M)?$/i.exec(s);
  if (!m) throw new Error(`--size ${s}: expected e.g. 1GB or 500MB`);
  return Math.round(Number(m[1]) * (/^g/i.test(m[2] ?? "M") ? 1e9 : 1e6));
}

/** An offer-shaped file of about `size` bytes, generated once and kept in .bench/. */
export async function ensureOfferFile(size: number): Promise<string> {
  mkdirSync(WORK, { recursive: true });
  const name = `offer-${size}-${GENERATOR}.json`;
  const file = join(WORK, name);
  if (!existsSync(file)) {
    for (const f of readdirSync(WORK)) {
      if (f !== name && (f === `offer-${size}.json` || f.startsWith(`offer-${size}-`))) rmSync(join(WORK, f));
    }
    process.stderr.write(`generating ${(size / 1e9).toFixed(2)} GB offer file (cached in .bench/)…\n`);
    await pipeline(offerStream({ targetBytes: size, seed: 7 }), createWriteStream(`${file}.part`));
    renameSync(`${file}.part`, file);
  }
  return file;
}

/** Serves `file` as the us-east-1 AmazonEC2 offer of a Price List API (and its region index). */
export function serveOffer(file: string): Promise<{ url: string; close: () => void }> {
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
export function run(
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

/** The `durationMs` of the crawler's "captured" log line. */
export function captureMs(out: string): number | undefined {
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const l = JSON.parse(line) as { msg?: string; durationMs?: number };
    if (l.msg === "captured") return l.durationMs;
  }
  return undefined;
}

/** Prints rows as aligned columns, the first row being the header. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join("  ")}\n`);
}
