// The S3 lake against the fake S3 driven by the real SDK: a bucket in another region than the configured one (S3's
// 301 PermanentRedirect / 400 AuthorizationHeaderMalformed, issue 8 item 4), and concurrent conditional writes
// (409 ConditionalRequestConflict, item 9).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ContrailError } from "../../src/errors.js";
import { S3Lake } from "../../src/lake/s3.js";
import { startS3, type FakeS3 } from "../fakes/s3.js";
import { waitFor } from "../helpers.js";

const MiB = 1024 * 1024;

describe("S3 lake on real S3 behaviour", () => {
  let s3: FakeS3;
  const lakes: S3Lake[] = [];
  const open = (bucket: string, region = "us-east-1") => {
    const lake = new S3Lake({
      bucket,
      prefix: "p",
      region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { ...s3.credentials },
      maxAttempts: 2,
    });
    lakes.push(lake);
    return lake;
  };
  before(async () => {
    s3 = await startS3({ buckets: ["lake", "eu-lake", "global-lake"] });
    s3.proxy
      .placeBucket("eu-lake", "eu-west-1", "regional")
      .placeBucket("global-lake", "ap-south-1", "global");
  });
  after(async () => {
    for (const l of lakes) await l.close();
    await s3.stop();
  });

  for (const [bucket, region, answer] of [
    ["eu-lake", "eu-west-1", 301],
    ["global-lake", "ap-south-1", 400],
  ] as const) {
    test(`a bucket in ${region} (S3 answers ${answer} to us-east-1): found once, then every operation works there`, async () => {
      const from = s3.proxy.requests.length;
      const lake = open(bucket);
      const content = randomBytes(6 * MiB); // two parts: a multipart upload
      const stored = await lake.putStream(
        "AmazonEC2/r/1.json.gz",
        Readable.from([content.subarray(0, 3 * MiB), content.subarray(3 * MiB)]),
        new AbortController().signal,
      );
      assert.equal(stored.storedBytes, content.length);
      assert.equal(lake.region, region);
      assert.equal(await lake.putBytes("m/a.json", "{}", { ifAbsent: true }), true, "a conditional put");
      assert.equal(
        await lake.putBytes("m/a.json", "{}", { ifAbsent: true }),
        false,
        "…that refuses to overwrite",
      );
      const keys: string[] = [];
      for await (const e of lake.list("")) keys.push(e.key);
      assert.deepEqual(keys, ["AmazonEC2/r/1.json.gz", "m/a.json"]);
      assert.deepEqual(await lake.getBytes("AmazonEC2/r/1.json.gz"), content);
      await lake.delete("m/a.json");
      assert.equal(await lake.getBytes("m/a.json"), undefined);

      const seen = s3.proxy.requests.slice(from);
      const refused = seen.filter((r) => r.status === answer);
      assert.equal(refused.length, 1, `one request signed for the wrong region: ${refused.map((r) => r.op)}`);
      assert.equal(refused[0]!.op, "HeadBucket");
      const scopes = seen
        .slice(1)
        .map((r) => /\/\d{8}\/([^/]+)\/s3\//.exec(String(r.headers.authorization))?.[1]);
      assert.deepEqual([...new Set(scopes)], [region], "everything after it signed for the bucket's region");
      assert.ok(seen.some((r) => r.op === "CompleteMultipartUpload" && r.status === 200));
    });
  }

  test("a second lake object on the same bucket finds the region by itself (no state shared)", async () => {
    const lake = open("eu-lake", "eu-west-1");
    const from = s3.proxy.requests.length;
    assert.equal(await lake.putBytes("m/b.json", "{}"), true);
    assert.deepEqual(
      s3.proxy.requests.slice(from).map((r) => r.status),
      [200, 200],
      "configured right: HeadBucket and the put, no redirect",
    );
  });

  test("409 ConditionalRequestConflict on a conditional put is retried, never taken for 'exists'", async () => {
    const lake = open("lake");
    s3.proxy.fault(
      { op: "PutObject", key: "p/m/c.json" },
      { kind: "s3Error", status: 409, code: "ConditionalRequestConflict" },
      2,
    );
    assert.equal(await lake.putBytes("m/c.json", '{"c":1}', { ifAbsent: true }), true);
    assert.deepEqual(
      s3.proxy
        .requestsFor("PutObject")
        .filter((r) => r.key === "p/m/c.json")
        .map((r) => r.status),
      [409, 409, 200],
    );
    assert.equal((await lake.getBytes("m/c.json"))?.toString(), '{"c":1}');
  });

  test("a conditional put while another writer's is in progress: 409, retried, then 412 (that writer won)", async () => {
    const lake = open("lake");
    // Another writer's conditional PutObject whose body takes its time.
    const slow = new Readable({ read() {} });
    const other = s3.client.send(
      new PutObjectCommand({
        Bucket: "lake",
        Key: "p/m/d.json",
        Body: slow,
        ContentLength: 9,
        IfNoneMatch: "*",
      }),
    );
    slow.push('{"o":');
    await waitFor(
      "a PutObject of p/m/d.json",
      () => s3.proxy.requestsFor("PutObject").some((r) => r.key === "p/m/d.json"),
      10_000,
      10,
    );
    const mine = lake.putBytes("m/d.json", '{"m":1}', { ifAbsent: true });
    await waitFor("S3's 409 to the second writer", () =>
      s3.proxy.requestsFor("PutObject").some((r) => r.key === "p/m/d.json" && r.status === 409),
    );
    slow.push("1}  ");
    slow.push(null);
    await other;
    assert.equal(await mine, false, "the other writer stored the key first");
    assert.equal((await lake.getBytes("m/d.json"))?.toString(), '{"o":1}  ');
  });

  test("a conflict that never clears fails after a bounded number of attempts, as a retryable error", async () => {
    const lake = open("lake");
    s3.proxy.fault(
      { op: "PutObject", key: "p/m/e.json" },
      { kind: "s3Error", status: 409, code: "ConditionalRequestConflict" },
      100,
    );
    await assert.rejects(lake.putBytes("m/e.json", "{}", { ifAbsent: true }), (e: ContrailError) => {
      assert.equal(e.code, "LAKE_IO");
      assert.equal(e.retryable, true);
      assert.match(e.message, /ConditionalRequestConflict/);
      return true;
    });
    const tries = s3.proxy.requestsFor("PutObject").filter((r) => r.key === "p/m/e.json").length;
    assert.ok(tries >= 3 && tries <= 12, `${tries} attempts`);
    s3.proxy.clearFaults();
  });
});
