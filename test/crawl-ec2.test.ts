// AmazonEC2 end to end through the real CLI, into a local lake: captures, no waste, failures, verify.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeAwsPricing } from "./fakes/aws-pricing.js";
import { cleanEnv, filesUnder, gunzipFile, readJson, runCli, tempDir, writeConfig } from "./helpers.js";
import type { CheckRecord, Manifest } from "../src/types.js";

describe("AmazonEC2 into a local lake", () => {
  let aws: FakeAwsPricing;
  let pricingUrl: string;

  before(async () => {
    aws = new FakeAwsPricing({ regions: ["us-east-1", "eu-west-1"], products: 30 });
    pricingUrl = await aws.start();
  });
  after(() => aws.close());

  test("zero-config --once writes one byte-identical capture per region into ./lake, with manifests", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2"], {
        cwd: dir,
        env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl }),
      });
      assert.equal(r.code, 0, r.stderr);
      const files = filesUnder(join(dir, "lake"));
      const captures = files.filter((f) => f.endsWith(".json.gz"));
      assert.equal(captures.length, 2, files.join("\n"));
      for (const region of ["us-east-1", "eu-west-1"]) {
        const key = captures.find((f) => f.startsWith(`AmazonEC2/${region}/`));
        assert.ok(key, `capture for ${region}`);
        assert.match(key, /^AmazonEC2\/[a-z0-9-]+\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\.json\.gz$/);
        assert.deepEqual(gunzipFile(join(dir, "lake", key)), aws.offerBytes(region));
        const manifest = readJson<Manifest>(
          join(dir, "lake", `_contrail/manifests/${key.replace(/\.gz$/, "")}`),
        );
        assert.equal(manifest.key, key);
        assert.equal(manifest.bytes, aws.offerBytes(region).length);
        assert.equal(manifest.version, aws.version(region));
        assert.equal(manifest.etag, aws.etag(region));
        assert.equal(manifest.urls[0], aws.offerUrl(region));
      }
      // Nothing but captures and manifests: no temp files left in the lake.
      assert.deepEqual(
        files.filter(
          (f) =>
            !f.endsWith(".json.gz") &&
            !f.startsWith("_contrail/manifests/") &&
            !f.startsWith("_contrail/leases/") &&
            f !== "_contrail/status/AmazonEC2.json",
        ),
        [],
      );
    } finally {
      cleanup();
    }
  });

  test("a second run with unchanged versions downloads nothing and records the check; a new version is captured", async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeConfig(dir, { sources: { AmazonEC2: { regionDelay: "0s" } } });
      const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl });
      assert.equal((await runCli(["crawl", "--once", "--source", "AmazonEC2"], { cwd: dir, env })).code, 0);
      const before = aws.offerRequests("us-east-1").length + aws.offerRequests("eu-west-1").length;

      const second = await runCli(["crawl", "--once", "--source", "amazonec2"], { cwd: dir, env });
      assert.equal(second.code, 0, second.stderr);
      const afterSecond = aws.offerRequests("us-east-1").length + aws.offerRequests("eu-west-1").length;
      assert.equal(afterSecond, before, "no offer file downloaded again");
      const checks = filesUnder(join(dir, "lake")).filter((f) => f.startsWith("_contrail/checks/AmazonEC2/"));
      assert.equal(checks.length, 2);
      const check = readJson<CheckRecord>(join(dir, "lake", checks[0]!));
      assert.equal(check.kind, "check");
      assert.match(check.sameAs, /^AmazonEC2\/.*\.json\.gz$/);

      const newVersion = aws.bumpVersion("eu-west-1");
      const third = await runCli(["crawl", "--once", "--source", "AmazonEC2"], { cwd: dir, env });
      assert.equal(third.code, 0, third.stderr);
      const euCaptures = filesUnder(join(dir, "lake")).filter((f) => f.startsWith("AmazonEC2/eu-west-1/"));
      assert.equal(euCaptures.length, 2);
      assert.deepEqual(gunzipFile(join(dir, "lake", euCaptures.at(-1)!)), aws.offerBytes("eu-west-1"));
      const m = readJson<Manifest>(
        join(dir, "lake", `_contrail/manifests/${euCaptures.at(-1)!.replace(/\.gz$/, "")}`),
      );
      assert.equal(m.version, newVersion);
    } finally {
      cleanup();
    }
  });

  test("a new version URL whose content the server says is unchanged (304 to If-None-Match) is recorded as checked", async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeConfig(dir, { sources: { AmazonEC2: { regionDelay: "0s" } } });
      const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl });
      assert.equal((await runCli(["crawl", "--once", "--source", "AmazonEC2"], { cwd: dir, env })).code, 0);
      const oldEtag = aws.etag("us-east-1");
      const first = filesUnder(join(dir, "lake")).find((f) => f.startsWith("AmazonEC2/us-east-1/"))!;
      aws.bumpVersion("us-east-1");
      aws.server.fault({ path: aws.offerPath("us-east-1") }, { kind: "replace", reply: { status: 304 } }, 1);
      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2"], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(aws.offerRequests("us-east-1").at(-1)!.headers["if-none-match"], oldEtag);
      const files = filesUnder(join(dir, "lake"));
      assert.deepEqual(
        files.filter((f) => f.startsWith("AmazonEC2/us-east-1/")),
        [first],
        "nothing downloaded again",
      );
      const [checkKey] = files.filter((f) => f.startsWith("_contrail/checks/AmazonEC2/us-east-1/"));
      assert.ok(checkKey, files.join("\n"));
      const check = readJson<CheckRecord>(join(dir, "lake", checkKey));
      assert.equal(check.sameAs, first);
      assert.equal(check.etag, oldEtag);
    } finally {
      aws.server.clearFaults();
      cleanup();
    }
  });

  for (const fault of [
    { kind: "truncate", afterBytes: 3000 },
    { kind: "reset", afterBytes: 3000 },
    { kind: "stall", afterBytes: 3000 },
    { kind: "invalidJson" },
    { kind: "html200" },
  ] as const) {
    test(`a persistent ${fault.kind} body is never stored; --once exits 1 naming the region`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        writeConfig(dir, {
          sources: { AmazonEC2: { regionDelay: "0s" } },
          http: { attempts: 2, baseDelay: "10ms", stallTimeout: "500ms" },
        });
        aws.server.fault({ path: aws.offerPath("eu-west-1") }, fault, 10);
        const r = await runCli(["crawl", "--once", "--source", "AmazonEC2"], {
          cwd: dir,
          env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl }),
        });
        aws.server.clearFaults();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /AmazonEC2 eu-west-1 failed/);
        // Leases are Contrail's records of who worked on a region, not capture data.
        const files = filesUnder(join(dir, "lake")).filter((f) => !f.startsWith("_contrail/leases/"));
        assert.equal(files.filter((f) => f.includes("eu-west-1")).length, 0, files.join("\n"));
        assert.equal(files.filter((f) => f.includes("/tmp/")).length, 0, "no temp files");
        assert.equal(
          files.filter((f) => f.startsWith("AmazonEC2/us-east-1/")).length,
          1,
          "the other region is captured",
        );
      } finally {
        aws.server.clearFaults();
        cleanup();
      }
    });
  }

  test("transient faults that clear within the retry budget still produce a correct capture", async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeConfig(dir, {
        sources: { AmazonEC2: { regionDelay: "0s" } },
        http: { attempts: 5, baseDelay: "10ms", stallTimeout: "500ms" },
      });
      const path = aws.offerPath("us-east-1");
      aws.server.fault({ path }, { kind: "status", status: 503, headers: { "retry-after": "0" } }, 1);
      aws.server.fault({ path }, { kind: "truncate", afterBytes: 2000 }, 1);
      aws.server.fault({ path }, { kind: "reset", afterBytes: 100 }, 1);
      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2"], {
        cwd: dir,
        env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl }),
      });
      assert.equal(r.code, 0, r.stderr);
      const key = filesUnder(join(dir, "lake")).find((f) => f.startsWith("AmazonEC2/us-east-1/"))!;
      assert.deepEqual(gunzipFile(join(dir, "lake", key)), aws.offerBytes("us-east-1"));
      assert.ok(
        r.logs.some(
          (l) => l.msg === "capture attempt failed; retrying" || l.msg === "request failed; retrying",
        ),
      );
    } finally {
      aws.server.clearFaults();
      cleanup();
    }
  });

  test("verify passes on a good lake and fails when one capture's bytes were altered", async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeConfig(dir, { sources: { AmazonEC2: { regionDelay: "0s" } } });
      const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl });
      assert.equal((await runCli(["crawl", "--once", "--source", "AmazonEC2"], { cwd: dir, env })).code, 0);
      const good = await runCli(["verify"], { cwd: dir, env });
      assert.equal(good.code, 0, good.stdout + good.stderr);
      assert.match(good.stdout, /verified 2 captures .*: 2 ok, 0 failed/);

      const ls = await runCli(["ls", "--json"], { cwd: dir, env });
      assert.equal(ls.code, 0);
      const rows = ls.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Manifest);
      assert.equal(rows.length, 2);
      assert.ok(rows[0]!.capturedAt >= rows[1]!.capturedAt, "newest first");

      const victim = join(dir, "lake", rows[0]!.key);
      const bytes = readFileSync(victim);
      const at = bytes.length - 12; // inside the last member's deflate data or trailer
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(victim, bytes);
      const bad = await runCli(["verify"], { cwd: dir, env });
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, new RegExp(`FAIL  ${rows[0]!.key.replace(/[.]/g, "\\.")}`));
      assert.ok(existsSync(victim));
    } finally {
      cleanup();
    }
  });
});
