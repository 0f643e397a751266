// AzureRetail: wall time and peak RSS of `contrail crawl --once --source AzureRetail` against a fake Retail
// Prices API with a fixed latency per page, at several concurrencies. The crawl runs in a child process (the
// real CLI); its peak RSS comes from /usr/bin/time -v, or from sampling /proc/<pid>/status (VmHWM) without it.
// Then the same under the real API's kind of rate limit (a few requests, then 429 with
// x-ms-ratelimit-retailPrices-retry-after; the real one allows ~10 requests, then asks for up to 60 s; scaled
// down here to `--limit requests/windowSeconds`, default 10/5, over `--limited-pages`, default 60).
// Run: node --import tsx bench/retail.ts [pages=500] [pageSize=200] [latencyMs=100] [concurrency...=1 4 8 16]
//        [--limit 10/5] [--limited-pages 60]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeRetail } from "../test/fakes/azure-retail.js";
import type { Manifest } from "../src/types.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/contrail.js");
const TIME = "/usr/bin/time";

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined;
const positional = argv.filter((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
const [pages = 500, pageSize = 200, latencyMs = 100, ...rest] = positional.map(Number);
const concurrencies = rest.length ? rest : [1, 4, 8, 16];
const [limitRequests = 10, limitWindow = 5] = (flag("--limit") ?? "10/5").split("/").map(Number);
const limitedPages = Number(flag("--limited-pages") ?? 60);

interface Result {
  concurrency: number;
  wallMs: number;
  peakRssMb: number;
  manifest: Manifest;
}

function manifestOf(lake: string): Manifest {
  const dir = join(lake, "_contrail/manifests/AzureRetail/global");
  const [name] = readdirSync(dir);
  return JSON.parse(readFileSync(join(dir, name!), "utf8")) as Manifest;
}

async function crawl(baseUrl: string, concurrency: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "contrail-bench-retail-"));
  try {
    writeFileSync(
      join(dir, "contrail.config.json"),
      JSON.stringify({ sources: { AzureRetail: { concurrency } } }),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CONTRAIL_AZURE_RETAIL_URL: baseUrl,
      CONTRAIL_LOG_LEVEL: "warn",
    };
    for (const k of Object.keys(env)) if (/^(AWS_|AZURE_)/.test(k)) delete env[k];
    const args = ["crawl", "--once", "--source", "AzureRetail"];
    const useTime = existsSync(TIME);
    const started = Date.now();
    const child = useTime
      ? spawn(TIME, ["-v", process.execPath, BIN, ...args], {
          cwd: dir,
          env,
          stdio: ["ignore", "ignore", "pipe"],
        })
      : spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    let sampledKb = 0;
    const sampler = useTime
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
            if (m) sampledKb = Math.max(sampledKb, Number(m[1]));
          } catch {
            // exited
          }
        }, 20);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const wallMs = Date.now() - started;
    clearInterval(sampler);
    if (code !== 0) throw new Error(`crawl failed (exit ${code}):\n${stderr}`);
    const kb = useTime
      ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0)
      : sampledKb;
    return { concurrency, wallMs, peakRssMb: kb / 1024, manifest: manifestOf(join(dir, "lake")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The floor: the same crawl of a one-page catalogue (the process's own start-up and libraries).
const tiny = new FakeRetail({ tls: false, pageSize, items: pageSize, latencyMs });
const baseline = await crawl(await tiny.start(), 1).finally(() => tiny.close());

const retail = new FakeRetail({ tls: false, pageSize, items: pages * pageSize, latencyMs });
const baseUrl = await retail.start();
console.log(
  `AzureRetail: ${pages} pages × ${pageSize} items, ${latencyMs} ms latency per page, fake at ${baseUrl}; ` +
    `the crawl runs in a child process (node ${process.version})`,
);
const results: Result[] = [];
try {
  for (const c of concurrencies) {
    const r = await crawl(baseUrl, c);
    if (r.manifest.pages !== retail.pageCount() || r.manifest.items !== pages * pageSize) {
      throw new Error(
        `incomplete capture at concurrency ${c}: ${r.manifest.pages} pages, ${r.manifest.items} items`,
      );
    }
    results.push(r);
    console.log(
      `  concurrency ${c}: ${(r.wallMs / 1000).toFixed(1)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
    );
  }
} finally {
  await retail.close();
}

const one = results.find((r) => r.concurrency === 1);
printTable([
  ["concurrency", "wall (s)", "speed-up", "peak RSS (MB)", "pages", "items", "capture (MB raw / gz)"],
  ...results.map((r) => [
    String(r.concurrency),
    (r.wallMs / 1000).toFixed(1),
    one ? `${(one.wallMs / r.wallMs).toFixed(1)}x` : "-",
    r.peakRssMb.toFixed(0),
    String(r.manifest.pages),
    String(r.manifest.items),
    `${(r.manifest.bytes / 1e6).toFixed(1)} / ${(r.manifest.storedBytes / 1e6).toFixed(1)}`,
  ]),
]);
console.log(
  `\none-page catalogue (process floor): ${(baseline.wallMs / 1000).toFixed(1)} s, peak RSS ${baseline.peakRssMb.toFixed(0)} MB` +
    `\nlatency floor: ${pages} pages × ${latencyMs} ms / concurrency`,
);

// Under the rate limit: how long, how many requests, how many 429s, and whether the capture completed at all.
console.log(
  `\nAzureRetail under a rate limit of ${limitRequests} requests per ${limitWindow} s: ${limitedPages} pages × ` +
    `${pageSize} items, ${latencyMs} ms latency (limit floor: ${limitedPages} / ${limitRequests} windows × ${limitWindow} s)`,
);
const limitedRows: string[][] = [["concurrency", "outcome", "wall (s)", "requests", "429s", "pages served"]];
for (const c of concurrencies.filter((x) => x <= 4)) {
  const fake = new FakeRetail({
    tls: false,
    pageSize,
    items: limitedPages * pageSize,
    latencyMs,
    rateLimit: { requests: limitRequests, windowSeconds: limitWindow },
  });
  const url = await fake.start();
  const started = Date.now();
  let outcome = "complete";
  try {
    const r = await crawl(url, c);
    if (r.manifest.items !== limitedPages * pageSize) outcome = `short: ${r.manifest.items} items`;
  } catch (err) {
    outcome = `failed (${String((err as Error).message).split("\n")[0]})`;
  } finally {
    await fake.close();
  }
  limitedRows.push([
    String(c),
    outcome,
    ((Date.now() - started) / 1000).toFixed(1),
    String(fake.server.requests.length),
    String(fake.rateLimited),
    String(fake.pagesServed),
  ]);
  console.log(`  concurrency ${c}: ${outcome}`);
}
printTable(limitedRows);

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log();
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join("  "));
}
