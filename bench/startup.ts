// Start-up as a user meets it (goal: the crawler's first log line about a second after the README's command):
// time from spawning each form of the command to the crawler's first log line, median of a few runs, warm caches.
// Needs a build (`npm run bench` builds first). `npx contrail` in a fresh home directory is not timed here: it
// links the checkout into npx's cache and runs `tsc` again (seconds, ~480 MB), which is why the README says
// `npm start`.
// Run: node --import tsx bench/startup.ts [runs=5]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, CLI_FROM_SOURCES, ROOT, cleanEnv } from "../test/helpers.js";

const runs = Number(process.argv[2] ?? 5);

/** Milliseconds from spawn to the first log line (JSON when piped), then the crawler is stopped. */
function firstLogLine(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "ignore"], detached: true });
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout.on("data", (d: Buffer) => {
      seen += d.toString();
      if (!seen.split("\n").some((l) => l.startsWith("{"))) return;
      resolve(performance.now() - t0);
      process.kill(-child.pid!, "SIGTERM");
    });
    child.on("close", () => reject(new Error(`${cmd} ${args.join(" ")} ended without a log line`)));
  });
}

const lake = mkdtempSync(join(tmpdir(), "contrail-bench-startup-"));
// Nothing is downloaded: the price list is a closed port, the crawler is stopped at its first line.
const env = cleanEnv({ CONTRAIL_LAKE: lake, CONTRAIL_AWS_PRICING_URL: "http://127.0.0.1:9", CI: "true" });
const forms: [string, string, string[]][] = [
  ["npm start", "npm", ["start", "--silent"]],
  ["node bin/contrail.js crawl", process.execPath, [BIN, "crawl"]],
  ["npm run dev -- crawl (tsx)", process.execPath, [...CLI_FROM_SOURCES, "crawl"]],
];
try {
  for (const [name, cmd, args] of forms) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await firstLogLine(cmd, args, env));
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    process.stdout.write(
      `${name.padEnd(30)} first log line after ${Math.round(median)} ms (median of ${runs}; min ${Math.round(times[0]!)})\n`,
    );
  }
} finally {
  rmSync(lake, { recursive: true, force: true });
}
