// `npm run bench`: every benchmark in turn (not tests: numbers to read, on the machine at hand).
// Pass `--size 2GB` to run the capture benchmark on a 2 GB offer file; `--only capture|spot|retail|gcp|json|startup|history|pricelist` for one.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const rest = args.filter((a, i) => a !== "--only" && args[i - 1] !== "--only");
const benches: [string, string, string[]][] = [
  ["capture", "capture.ts", rest],
  ["json", "json-check.ts", []],
  ["spot", "spot.ts", []],
  ["retail", "retail.ts", []],
  ["gcp", "gcp.ts", []],
  ["startup", "startup.ts", []],
  ["history", "history.ts", []],
  ["pricelist", "pricelist.ts", []],
];
let failed = 0;
for (const [name, file, argv] of benches) {
  if (only && only !== name) continue;
  process.stdout.write(`\n=== ${name} ===\n`);
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL(file, import.meta.url)), ...argv],
    {
      stdio: "inherit",
    },
  );
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
