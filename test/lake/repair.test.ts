// Captures left without a manifest (SPEC §6; issue 8 item 9): the next run writes the manifest from the object, or
// removes an object that is not valid gzip of valid JSON; young objects (a live crawler between its two writes) and
// old history are left alone. Driven against a local lake here; the fault suite does both lake kinds via the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { utimesSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { verifyCapture } from "../../src/cli/verify.js";
import { createLogger } from "../../src/log/logger.js";
import { captureKey, manifestKey } from "../../src/lake/keys.js";
import { LocalLake } from "../../src/lake/local.js";
import { manifestKeys, readManifest } from "../../src/lake/records.js";
import { repairOrphans } from "../../src/lake/repair.js";
import { tempDir } from "../helpers.js";

const HOUR = 3_600_000;

function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n").filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger("info", { pretty: false, destination }), lines };
}

test("repair: a valid orphan gets its manifest (ls and verify see it); an invalid one is removed; young and old ones are left", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = new LocalLake(dir);
    const now = Date.now();
    const offer = Buffer.from(
      JSON.stringify({ formatVersion: "v1.0", version: "20261101000000", products: {} }),
    );
    const at = (msAgo: number) => new Date(now - msAgo);
    const put = async (key: string, bytes: Buffer, writtenMsAgo: number) => {
      await lake.putBytes(key, bytes);
      const t = (now - writtenMsAgo) / 1000;
      utimesSync(join(dir, key), t, t);
    };
    const valid = captureKey("AmazonEC2", "eu-west-1", at(2 * HOUR));
    const invalid = captureKey("AmazonEC2", "us-east-1", at(2 * HOUR));
    const truncated = captureKey("AmazonEC2", "us-west-2", at(2 * HOUR));
    const young = captureKey("AmazonEC2", "eu-west-1", at(60_000));
    const old = captureKey("AmazonEC2", "eu-west-1", at(30 * 24 * HOUR));
    const spot = captureKey("AmazonEC2Spot", "eu-west-1", at(HOUR));
    await put(valid, gzipSync(offer), HOUR);
    await put(invalid, gzipSync('{"products": {'), HOUR);
    await put(truncated, gzipSync(offer).subarray(0, 20), HOUR);
    await put(young, gzipSync(offer), 30_000);
    await put(old, gzipSync(offer), 30 * 24 * HOUR);
    await put(spot, gzipSync("[]"), HOUR);
    const { log, lines } = capturingLog();

    const result = await repairOrphans(lake, ["AmazonEC2", "AmazonEC2Spot"], log, { now });

    assert.deepEqual(result.repaired.sort(), [valid, spot].sort());
    assert.deepEqual(result.removed.sort(), [invalid, truncated].sort());
    assert.equal(await lake.getBytes(invalid), undefined, "the invalid object is gone");
    assert.equal(await lake.getBytes(truncated), undefined, "the truncated object is gone");
    assert.ok(await lake.getBytes(young), "a young object (its crawler may be writing the manifest) is left");
    assert.ok(await lake.getBytes(old), "history older than the lookback is not re-read");
    assert.equal(await lake.getBytes(manifestKey("AmazonEC2", "eu-west-1", at(60_000))), undefined);

    const m = await readManifest(lake, manifestKey("AmazonEC2", "eu-west-1", at(2 * HOUR)));
    assert.ok(m, "manifest written");
    assert.equal(m.key, valid);
    assert.equal(m.sha256, createHash("sha256").update(offer).digest("hex"));
    assert.equal(m.bytes, offer.length);
    assert.equal(m.storedBytes, gzipSync(offer).length);
    assert.equal(
      m.version,
      "20261101000000",
      "the offer's version, so the next run need not download it again",
    );
    assert.equal(m.items, undefined, "items unknown");
    assert.ok(m.repairedAt);
    assert.deepEqual(await verifyCapture(lake, m), { key: valid, ok: true });
    const listed = await manifestKeys(lake);
    assert.ok(listed.includes(manifestKey("AmazonEC2", "eu-west-1", at(2 * HOUR))), "ls lists it");

    const said = lines.filter((l) => /capture without manifest/.test(String(l.msg)));
    assert.deepEqual(
      said.map((l) => [l.key, l.msg]).sort(),
      [
        [valid, "capture without manifest: wrote its manifest from the object"],
        [spot, "capture without manifest: wrote its manifest from the object"],
        [invalid, "capture without manifest: removed an invalid object"],
        [truncated, "capture without manifest: removed an invalid object"],
      ].sort(),
      "each repair logged",
    );

    const again = await repairOrphans(lake, ["AmazonEC2", "AmazonEC2Spot"], log, { now });
    assert.deepEqual(again, { repaired: [], removed: [] }, "a second run finds nothing to do");
  } finally {
    cleanup();
  }
});
