// AmazonEC2 into an S3 lake (s3rver behind a fault and precondition proxy): readable by any S3 client, atomic
// under SIGTERM mid-upload, and clear messages for AccessDenied and NoSuchBucket.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { FakeAwsPricing } from "./fakes/aws-pricing.js";
import { startS3, type FakeS3 } from "./fakes/s3.js";
import { cleanEnv, collect, runCli, startCli, tempDir, waitFor, writeConfig } from "./helpers.js";
import type { Manifest } from "../src/types.js";

describe("AmazonEC2 into S3", () => {
  let aws: FakeAwsPricing;
  let s3: FakeS3;
  let pricingUrl: string;
  let work: { dir: string; cleanup: () => void };
  const env = (extra: Record<string, string> = {}) =>
    cleanEnv({
      CONTRAIL_AWS_PRICING_URL: pricingUrl,
      ...s3.env,
      ...extra,
    });

  before(async () => {
    aws = new FakeAwsPricing({ regions: ["us-east-1", "eu-west-1"], products: 25 });
    pricingUrl = await aws.start();
    s3 = await startS3({ buckets: ["lake"] });
    work = tempDir();
    writeConfig(work.dir, {
      sources: { AmazonEC2: { regionDelay: "0s" } },
      http: { attempts: 3, baseDelay: "10ms" },
    });
  });
  after(async () => {
    await aws.close();
    await s3.stop();
    work.cleanup();
  });

  test("--once writes byte-identical captures and manifests that any S3 client reads", async () => {
    const r = await runCli(["crawl", "--once", "--source", "AmazonEC2", "--lake", "s3://lake/prices"], {
      cwd: work.dir,
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    const keys = await s3.listKeys("prices/");
    for (const region of ["us-east-1", "eu-west-1"]) {
      const key = keys.find((k) => k.startsWith(`prices/AmazonEC2/${region}/`) && k.endsWith(".json.gz"));
      assert.ok(key, keys.join("\n"));
      const res = await s3.client.send(new GetObjectCommand({ Bucket: "lake", Key: key }));
      assert.equal(res.ContentType, "application/gzip");
      const body = Buffer.from(await res.Body!.transformToByteArray());
      assert.deepEqual(gunzipSync(body), aws.offerBytes(region));
      const manifestKey = `prices/_contrail/manifests/${key.slice("prices/".length).replace(/\.gz$/, "")}`;
      const m = JSON.parse((await s3.getObject(manifestKey)).toString()) as Manifest;
      assert.equal(m.storedBytes, body.length);
      assert.equal(m.key, key.slice("prices/".length));
    }
    const verify = await runCli(["verify", "--lake", "s3://lake/prices"], { cwd: work.dir, env: env() });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(s3.proxy.openUploads().length, 0);
  });

  test("SIGTERM during a large upload: exit 0 within 10 s, nothing under the key, no open multipart upload", async () => {
    aws.setRegion("ap-south-1", { version: "20261101000000", stream: { targetBytes: 600e6, seed: 3 } });
    try {
      const child = startCli(["crawl", "--once", "--source", "AmazonEC2", "--lake", "s3://lake/big"], {
        cwd: work.dir,
        env: env({ CONTRAIL_AWS_REGIONS: "ap-south-1" }),
      });
      const done = collect(child);
      await waitFor("a multipart upload", () =>
        s3.proxy.requestsFor("UploadPart").some((r) => r.key?.includes("ap-south-1")),
      );
      const t0 = Date.now();
      child.kill("SIGTERM");
      const r = await done;
      const took = Date.now() - t0;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(took < 10_000, `exited after ${took} ms`);
      assert.deepEqual(
        (await s3.listKeys("big/")).filter(
          (k) => k.includes("ap-south-1") && !k.includes("/_contrail/leases/"),
        ),
        [],
      );
      assert.deepEqual(s3.proxy.openUploads(), []);
      assert.ok(
        s3.proxy.requestsFor("AbortMultipartUpload").length >= 1,
        "the upload was aborted, not left open",
      );
    } finally {
      aws.removeRegion("ap-south-1");
    }
  });

  test("AccessDenied names the bucket, the key and the missing permission; nothing is stored", async () => {
    s3.proxy.denyAccess({ method: "PUT", keyPrefix: "denied/AmazonEC2" });
    try {
      const r = await runCli(["crawl", "--once", "--source", "AmazonEC2", "--lake", "s3://lake/denied"], {
        cwd: work.dir,
        env: env({ CONTRAIL_AWS_REGIONS: "us-east-1" }),
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /access denied to s3:\/\/lake\/denied\/AmazonEC2\/us-east-1\/.*\.json\.gz in bucket lake: the credentials need s3:PutObject/,
      );
      assert.deepEqual(
        (await s3.listKeys("denied/")).filter((k) => !/\/_contrail\/(status|leases)\//.test(k)),
        [],
      );
      assert.deepEqual(s3.proxy.openUploads(), []);
    } finally {
      s3.proxy.allowAll();
    }
  });

  test("NoSuchBucket stops the crawler at start-up (exit 2), naming --lake and the bucket", async () => {
    const r = await runCli(["crawl", "--once", "--source", "AmazonEC2", "--lake", "s3://no-such-bucket"], {
      cwd: work.dir,
      env: env({ CONTRAIL_AWS_REGIONS: "us-east-1" }),
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^contrail: --lake: cannot write to the lake s3:\/\/no-such-bucket: bucket no-such-bucket does not exist/m,
    );
  });
});
