// Contrail's records in the lake are read back through the schemas they are written with (issue 9 item 4): a
// corrupt manifest, check or status record is an error naming its key, one line from the CLI, never a stack trace
// and never a silent "empty" (issue 8 item 12).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ContrailError } from "../../src/errors.js";
import { manifestKey, statusKey } from "../../src/lake/keys.js";
import { LocalLake } from "../../src/lake/local.js";
import {
  latestManifest,
  readCheck,
  readManifest,
  readStatus,
  writeManifest,
} from "../../src/lake/records.js";
import type { Manifest } from "../../src/types.js";
import { cleanEnv, runCli, tempDir } from "../helpers.js";

const AT = "2026-11-29T22:08:37.123Z";
const manifest: Manifest = {
  manifestVersion: 1,
  kind: "capture",
  source: "AmazonEC2",
  region: "eu-west-1",
  key: `AmazonEC2/eu-west-1/${AT}.json.gz`,
  capturedAt: AT,
  finishedAt: "2026-11-29T22:09:00.000Z",
  sha256: "a".repeat(64),
  bytes: 10,
  storedBytes: 30,
  urls: ["https://pricing.us-east-1.amazonaws.com/x"],
  version: "20261101000000",
  crawler: { name: "contrail", version: "0.1.0" },
};
const corruptKey = (why: RegExp) => (e: ContrailError) =>
  e.code === "LAKE_CORRUPT" &&
  e.message.includes(manifestKey("AmazonEC2", "eu-west-1", AT)) &&
  why.test(e.message);

function write(dir: string, key: string, text: string): void {
  mkdirSync(dirname(join(dir, key)), { recursive: true });
  writeFileSync(join(dir, key), text);
}

test("records round-trip through their schema; anything else is LAKE_CORRUPT naming the key", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = new LocalLake(dir);
    const key = manifestKey("AmazonEC2", "eu-west-1", AT);
    assert.equal(await writeManifest(lake, manifest), true);
    assert.deepEqual(await readManifest(lake, key), manifest);
    assert.deepEqual(await latestManifest(lake, "AmazonEC2", "eu-west-1"), manifest);
    assert.equal(await readManifest(lake, manifestKey("AmazonEC2", "eu-west-1", new Date(0))), undefined);

    write(dir, key, '{"manifestVersion": 1, "kind": "capt');
    await assert.rejects(readManifest(lake, key), corruptKey(/not JSON/));
    await assert.rejects(latestManifest(lake, "AmazonEC2", "eu-west-1"), corruptKey(/not JSON/));
    write(dir, key, JSON.stringify({ ...manifest, bytes: "ten" }));
    await assert.rejects(readManifest(lake, key), corruptKey(/bytes: /));
    write(dir, key, JSON.stringify({ ...manifest, region: "us-east-1" }));
    await assert.rejects(readManifest(lake, key), corruptKey(/describes AmazonEC2\/us-east-1/));
    write(dir, key, JSON.stringify({ ...manifest, key: "elsewhere.json.gz" }));
    await assert.rejects(readManifest(lake, key), corruptKey(/names the capture elsewhere/));

    write(dir, statusKey("AzureRetail"), '{"source": "AzureRetail"}');
    await assert.rejects(readStatus(lake, "AzureRetail"), (e: ContrailError) => {
      assert.equal(e.code, "LAKE_CORRUPT");
      assert.match(e.message, /^corrupt status record _contrail\/status\/AzureRetail\.json: /);
      return true;
    });
    write(dir, "_contrail/checks/AmazonEC2/eu-west-1/x.json", "[]");
    await assert.rejects(
      readCheck(lake, "_contrail/checks/AmazonEC2/eu-west-1/x.json"),
      /corrupt check record/,
    );
  } finally {
    cleanup();
  }
});

test("CLI: a corrupt manifest or status record is one line naming its key (ls, verify, sources), exit 1", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = join(dir, "lake");
    const key = manifestKey("AmazonEC2", "eu-west-1", AT);
    write(lake, key, "{ not json");
    write(lake, statusKey("AzureRetail"), JSON.stringify({ source: "AzureRetail", regions: "all" }));
    const env = cleanEnv();
    const run = (args: string[]) => runCli([...args, "--lake", lake], { cwd: dir, env });

    const oneLine = async (args: string[], named: string) => {
      const r = await run(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${args[0]}: no stack trace`);
      const lines = (args[0] === "verify" ? r.stdout : r.stderr).split("\n").filter((l) => /corrupt/.test(l));
      assert.equal(lines.length, 1, `${args[0]}: one line: ${r.stdout}${r.stderr}`);
      assert.ok(lines[0]!.includes(named), `${args[0]} names ${named}: ${lines[0]}`);
    };
    for (const args of [["ls"], ["verify"], ["sources"]]) await oneLine(args, key);
    rmSync(join(lake, key));
    await oneLine(["sources"], statusKey("AzureRetail"));
  } finally {
    cleanup();
  }
});
