// Fault suite, no waste (SPEC §5) for a source without versions or ETags: GoogleCloud's catalogue crawled twice
// unchanged leaves one capture and a check, on both lake kinds, with nothing partial (no temp file, no multipart
// upload left open by the abandoned second copy); a changed catalogue is captured again.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/unchanged.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { COMPUTE_ENGINE_ID } from "../fakes/gcp.js";
import { runCli } from "../helpers.js";
import { LAKES, REGION, useHarness } from "./harness.js";

describe("fault: an unchanged catalogue is checked, not stored again", () => {
  const h = useHarness("unchanged");
  for (const kind of LAKES) {
    test(`GoogleCloud, ${kind} lake: crawled twice unchanged → one capture and a check; changed → a second capture`, async () => {
      const { lake, cwd, env } = h.prepare(kind);
      const crawl = async () => {
        const r = await runCli(["crawl", "--once", "--source", "GoogleCloud", "--lake", lake.url], {
          cwd,
          env,
        });
        assert.equal(r.code, 0, r.stderr);
        const keys = await lake.keys();
        const unit = `GoogleCloud/${REGION.GoogleCloud}/`;
        return {
          captures: keys.filter((k) => k.startsWith(unit)),
          checks: keys.filter((k) => k.startsWith(`_contrail/checks/${unit}`)),
        };
      };
      const first = await crawl();
      assert.equal(first.captures.length, 1);
      const second = await crawl();
      assert.deepEqual(second.captures, first.captures, "no second copy");
      assert.equal(second.checks.length, 1, "a check instead");
      await h.checkLake(lake, cwd, env);
      const skus = h.fakes.gcp.skuTexts();
      try {
        h.fakes.gcp.setSkus(COMPUTE_ENGINE_ID, 70, 99);
        const third = await crawl();
        assert.equal(third.captures.length, 2, "a changed catalogue is captured");
      } finally {
        h.fakes.gcp.setSkus(COMPUTE_ENGINE_ID, skus);
      }
      await h.checkLake(lake, cwd, env);
    });
  }
});
