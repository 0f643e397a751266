// Fault suite, the lake's records (SPEC §6; issue 8 item 9): S3's 409 ConditionalRequestConflict on a manifest's
// conditional write is retried, never taken for "exists"; a capture left without its manifest (a crawler killed
// between the two writes) is repaired by the next run, in both lake kinds.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { LAKES, REGION, SOURCES, useHarness, type LakeHandle } from "./harness.js";
import { captureKey } from "../../src/lake/keys.js";
import { runCli } from "../helpers.js";

describe("fault: the lake's records", () => {
  const h = useHarness("lake-records");

  for (const source of SOURCES) {
    const region = REGION[source];
    test(`${source}, s3 lake: 409 ConditionalRequestConflict twice on the manifest's write → retried, complete with its manifest`, async (t) => {
      const manifestRe = new RegExp(`_contrail/manifests/${source}/${region}/`);
      const from = h.fakes.s3.proxy.requestsFor("PutObject").length;
      await h.scenario(
        {
          source,
          lake: "s3",
          inject: (f) =>
            void f.s3.proxy.fault(
              { op: "PutObject", key: manifestRe },
              { kind: "s3Error", status: 409, code: "ConditionalRequestConflict" },
              2,
            ),
          expect: "complete",
        },
        t,
      );
      const writes = h.fakes.s3.proxy
        .requestsFor("PutObject")
        .slice(from)
        .filter((r) => manifestRe.test(r.key ?? ""));
      assert.deepEqual(
        writes.map((r) => r.status),
        [409, 409, 200],
      );
    });
  }

  for (const kind of LAKES) {
    test(`${kind} lake: captures left without a manifest → the next run writes the valid one's manifest and removes the invalid one`, async () => {
      const { lake, cwd, env } = h.prepare(kind);
      const at = new Date(Date.now() - 2 * 3_600_000);
      const valid = captureKey("AzureRetail", "global", at);
      const invalid = captureKey("Azure", "US", at);
      const content = Buffer.from('{"BillingCurrency":"USD","Items":[],"Count":0}');
      await place(lake, valid, gzipSync(content), new Date(Date.now() - 3_600_000));
      await place(lake, invalid, gzipSync('{"Meters": ['), new Date(Date.now() - 3_600_000));

      const r = await runCli(["crawl", "--once", "--source", "AzureRetail,Azure", "--lake", lake.url], {
        cwd,
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      const said = r.logs.filter((l) => /capture without manifest/.test(String(l.msg)));
      assert.deepEqual(said.map((l) => `${String(l.key)}: ${String(l.msg)}`).sort(), [
        `${invalid}: capture without manifest: removed an invalid object`,
        `${valid}: capture without manifest: wrote its manifest from the object`,
      ]);
      const keys = await lake.keys();
      assert.ok(!keys.includes(invalid), "the invalid object is gone");
      // Every capture has its manifest, verify passes (the repaired one too), nothing partial.
      await h.checkLake(lake, cwd, env);
      const ls = await runCli(["ls", "--json", "--source", "AzureRetail", "--lake", lake.url], { cwd, env });
      assert.equal(ls.code, 0, ls.stderr);
      const listed = ls.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { key: string; bytes: number });
      assert.deepEqual(
        listed.filter((m) => m.key === valid).map((m) => m.bytes),
        [content.length],
        "ls shows the repaired capture",
      );
    });
  }

  /** Puts an object into a scenario's lake as a crawler killed before its manifest would have left it. */
  async function place(lake: LakeHandle, key: string, body: Buffer, modified: Date): Promise<void> {
    if (lake.kind === "local") {
      const path = join(lake.dir!, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, body);
      utimesSync(path, modified, modified);
      return;
    }
    await h.fakes.s3.putObject(lake.prefix! + key, body);
    h.fakes.s3.setModified(lake.prefix! + key, modified);
  }
});
