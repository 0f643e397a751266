// Which bodies the capture checks as JSON: every body from upstream; not one the source serialized itself
// (`serialized: true`, AmazonEC2Spot's records, valid by construction: test/sources/spot-content.test.ts parses
// them). The same bytes show both: refused as an upstream body, stored as-is as a serialized one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import pino from "pino";
import { capture } from "../../src/capture/capture.js";
import { LocalLake } from "../../src/lake/local.js";
import { filesUnder, tempDir } from "../helpers.js";

const BODY = '[{"a":1},'; // cut short: not JSON

async function store(dir: string, serialized: boolean) {
  const lake = new LocalLake(dir);
  return capture(
    {
      lake,
      source: "AmazonEC2Spot",
      log: pino({ level: "silent" }),
      retry: { attempts: 1, baseDelay: 1, maxDelay: 1 },
      signal: new AbortController().signal,
    },
    {
      region: "eu-west-1",
      capturedAt: new Date("2026-11-29T22:00:00.000Z"),
      shape: { root: "array" },
      serialized,
      open: async () => ({ body: Readable.from([Buffer.from(BODY)]), meta: { urls: ["test"] } }),
    },
  );
}

test("an upstream body is checked as JSON; a body the source serialized itself is not re-read", async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(store(join(dir, "checked"), false), { code: "INVALID_JSON" });
    assert.deepEqual(
      filesUnder(join(dir, "checked")).filter((f) => f.includes("eu-west-1")),
      [],
      "nothing stored",
    );
    const m = await store(join(dir, "trusted"), true);
    assert.equal(gunzipSync(readFileSync(join(dir, "trusted", m.key))).toString("utf8"), BODY);
    assert.equal(m.bytes, BODY.length);
  } finally {
    cleanup();
  }
});
