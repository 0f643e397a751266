// The daemon: slots, resume after restart, metrics and health over HTTP, clean shutdown on SIGTERM.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeAwsPricing } from "./fakes/aws-pricing.js";
import { startS3 } from "./fakes/s3.js";
import {
  cleanEnv,
  collect,
  filesUnder,
  runCli,
  startCli,
  tempDir,
  waitFor,
  waitForOutput,
  writeConfig,
  onlySources,
} from "./helpers.js";
import { cooldownDelay, jitter, slotOf } from "../src/schedule/scheduler.js";

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test("slots are counted from the epoch; cooldown doubles up to the interval; jitter stays small", () => {
  const h12 = 12 * 3600_000;
  const s = slotOf(Date.parse("2026-11-29T13:05:00Z"), h12);
  assert.equal(s.start.toISOString(), "2026-11-29T12:00:00.000Z");
  assert.equal(s.end.toISOString(), "2026-11-30T00:00:00.000Z");
  assert.equal(
    slotOf(Date.parse("2026-11-29T11:59:59.999Z"), h12).start.toISOString(),
    "2026-11-29T00:00:00.000Z",
  );
  assert.equal(cooldownDelay(1, 120_000, 3600_000), 120_000);
  assert.equal(cooldownDelay(3, 120_000, 3600_000), 480_000);
  assert.equal(cooldownDelay(10, 120_000, 3600_000), 3600_000);
  assert.ok(jitter(h12, () => 1) <= 5000 && jitter(2000, () => 1) <= 200);
});

describe("crawl as a daemon", () => {
  let aws: FakeAwsPricing;
  let pricingUrl: string;
  before(async () => {
    aws = new FakeAwsPricing({ regions: ["us-east-1", "eu-west-1"], products: 10 });
    pricingUrl = await aws.start();
  });
  after(() => aws.close());

  test("captures each slot once, serves /metrics and /healthz, resumes from the lake, exits 0 on SIGTERM", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const port = await freePort();
      writeConfig(dir, {
        sources: onlySources({ AmazonEC2: { regionDelay: "0s", interval: "1h" } }),
      });
      const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl, CONTRAIL_METRICS_PORT: String(port) });
      let child = startCli(["crawl"], { cwd: dir, env });
      let done = collect(child);
      await waitFor(
        "two captures",
        () => filesUnder(join(dir, "lake")).filter((f) => f.endsWith(".json.gz")).length === 2,
      );
      const health = await waitFor("healthz", async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return r;
      });
      assert.equal(health.status, 200);
      const metrics = await waitFor("metrics with captures", async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return text.includes('contrail_captures_total{source="AmazonEC2",outcome="captured"} 2')
          ? text
          : undefined;
      });
      assert.match(
        metrics,
        /contrail_last_success_timestamp_seconds\{source="AmazonEC2",region="us-east-1"\} \d+/,
      );
      assert.match(metrics, /contrail_capture_bytes_total\{source="AmazonEC2",kind="stored"\} \d+/);
      const t0 = Date.now();
      child.kill("SIGTERM");
      let r = await done;
      assert.equal(r.code, 0);
      assert.ok(Date.now() - t0 < 10_000);

      // A restart inside the same slot: the lake says the slot is done, so nothing is downloaded again.
      const offerRequests = () =>
        aws.offerRequests("us-east-1").length + aws.offerRequests("eu-west-1").length;
      const before = offerRequests();
      child = startCli(["crawl"], { cwd: dir, env });
      done = collect(child);
      await waitForOutput(child, "waiting for the next slot");
      child.kill("SIGTERM");
      r = await done;
      assert.equal(r.code, 0);
      assert.equal(offerRequests(), before, "no offer file downloaded in a slot that has its captures");
      assert.ok(
        r.logs.some((l) => l.msg === "waiting for the next slot"),
        r.stdout,
      );
      assert.equal(filesUnder(join(dir, "lake")).filter((f) => f.endsWith(".json.gz")).length, 2);
    } finally {
      cleanup();
    }
  });

  test("a capture left without its manifest (its write refused, then its removal) is repaired by the source's next run, without a restart", async () => {
    const { dir, cleanup } = tempDir();
    const s3 = await startS3({ buckets: ["lake"] });
    try {
      writeConfig(dir, {
        sources: onlySources({ AmazonEC2: { regionDelay: "0s", interval: "1h", cooldown: "200ms" } }),
      });
      // The lake refuses us-east-1's manifest, then the removal of its capture object: the run fails with the
      // object in place and no manifest.
      const capture = /^p\/AmazonEC2\/us-east-1\//;
      s3.proxy
        .fault(
          { op: "PutObject", key: /^p\/_contrail\/manifests\/AmazonEC2\/us-east-1\// },
          { kind: "s3Error", status: 403, code: "AccessDenied" },
          1,
        )
        .fault(
          { op: "DeleteObject", key: capture },
          { kind: "s3Error", status: 403, code: "AccessDenied" },
          1,
        );
      const env = cleanEnv({
        CONTRAIL_AWS_PRICING_URL: pricingUrl,
        ...s3.env,
      });
      const child = startCli(["crawl", "--lake", "s3://lake/p"], { cwd: dir, env });
      const done = collect(child);
      await waitForOutput(child, "capture without manifest: wrote its manifest from the object");
      child.kill("SIGTERM");
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
      const deletes = s3.proxy.requestsFor("DeleteObject").filter((q) => capture.test(q.key ?? ""));
      assert.deepEqual(
        deletes.map((q) => q.status),
        [403],
        "the removal was refused, so the object stayed",
      );
      const repaired = r.logs.filter(
        (l) => l.msg === "capture without manifest: wrote its manifest from the object",
      );
      assert.equal(repaired.length, 1, r.stdout);
      assert.equal(repaired[0]!.key, deletes[0]!.key?.slice("p/".length));
      // Every capture object in the lake has its manifest, and each checks out against its object.
      const v = await runCli(["verify", "--lake", "s3://lake/p"], { cwd: dir, env });
      assert.equal(v.code, 0, v.stdout + v.stderr);
      const ls = await runCli(["ls", "--json", "--source", "AmazonEC2", "--lake", "s3://lake/p"], {
        cwd: dir,
        env,
      });
      assert.ok(ls.stdout.includes(String(repaired[0]!.key)), ls.stdout);
    } finally {
      await s3.stop();
      cleanup();
    }
  });

  test("a failing source cools down and retries; /healthz turns 503 naming it once stale", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const port = await freePort();
      writeConfig(dir, {
        sources: onlySources({ AmazonEC2: { regionDelay: "0s", interval: "2s", cooldown: "200ms" } }),
        http: { attempts: 1 },
      });
      aws.server.fault({ path: /region_index\.json$/ }, { kind: "status", status: 500 }, 1000);
      const child = startCli(["crawl"], {
        cwd: dir,
        env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl, CONTRAIL_METRICS_PORT: String(port) }),
      });
      const done = collect(child);
      const res = await waitFor("503", async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return r?.status === 503 ? r : undefined;
      });
      const body = (await res.json()) as { stale: { source: string }[] };
      assert.deepEqual(
        body.stale.map((s) => s.source),
        ["AmazonEC2"],
      );
      assert.ok(aws.server.requestsTo(/region_index\.json$/).length >= 3, "retried after cooldowns");
      aws.server.clearFaults();
      await waitFor("healthy again", async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
      });
      child.kill("SIGTERM");
      assert.equal((await done).code, 0);
    } finally {
      aws.server.clearFaults();
      cleanup();
    }
  });
});
