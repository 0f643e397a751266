// `contrail ls` (SPEC §2): captures newest first across sources, not grouped by source.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { manifestKey } from "../../src/lake/keys.js";
import type { Manifest, SourceName } from "../../src/types.js";
import { cleanEnv, runCli, tempDir } from "../helpers.js";

function writeManifest(lake: string, source: SourceName, region: string, capturedAt: string): string {
  const key = `${source}/${region}/${capturedAt}.json.gz`;
  const m: Manifest = {
    manifestVersion: 1,
    kind: "capture",
    source,
    region,
    key,
    capturedAt,
    finishedAt: capturedAt,
    sha256: "0".repeat(64),
    bytes: 10,
    storedBytes: 5,
    urls: ["https://example.invalid/"],
    crawler: { name: "contrail", version: "0.0.0" },
  };
  const path = join(lake, manifestKey(source, region, capturedAt));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(m));
  return key;
}

test("ls lists captures newest first across sources, in the table and with --json", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = join(dir, "lake");
    // Written so that neither source order nor write order is time order.
    const k1 = writeManifest(lake, "AmazonEC2", "us-east-1", "2026-11-30T00:00:00.000Z");
    const k4 = writeManifest(lake, "AzureRetail", "global", "2026-12-01T12:00:00.000Z");
    const k2 = writeManifest(lake, "Azure", "US", "2026-11-30T06:00:00.000Z");
    const k3 = writeManifest(lake, "AmazonEC2", "eu-west-1", "2026-12-01T00:00:00.000Z");
    const k0 = writeManifest(lake, "AmazonEC2Spot", "eu-west-1", "2026-11-29T23:00:00.000Z");
    const newestFirst = [k4, k3, k2, k1, k0];

    const json = await runCli(["ls", "--json"], { cwd: dir, env: cleanEnv() });
    assert.equal(json.code, 0, json.stderr);
    const keys = json.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as Manifest).key);
    assert.deepEqual(keys, newestFirst);

    const table = await runCli(["ls"], { cwd: dir, env: cleanEnv() });
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split("\n");
    assert.match(rows[0]!, /^KEY\s+CAPTURED AT/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/\s+/)[0]),
      newestFirst,
    );
  } finally {
    cleanup();
  }
});
