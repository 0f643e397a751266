import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import http from "node:http";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { startS3, type FakeS3 } from "./s3.js";

const MiB = 1024 * 1024;
const pattern = (bytes: number) => randomBytes(bytes);
/** A stream of `buf` in 1 MiB chunks, optionally failing after `failAfter` bytes. */
function chunks(buf: Buffer, failAfter = Infinity): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < buf.length; i += MiB) {
        if (i >= failAfter) throw new Error("source failed");
        yield buf.subarray(i, i + MiB);
      }
    })(),
  );
}
async function rejectsWith(p: Promise<unknown>, name: string, status?: number): Promise<void> {
  await assert.rejects(p, (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.name, name, `${err.name}: ${err.message}`);
    if (status) assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  });
}

describe("fake S3 (s3rver behind a proxy)", () => {
  let s3: FakeS3;
  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    const dir = s3.dataDir;
    await s3.stop();
    assert.equal(existsSync(dir), false, "temp dir removed");
  });

  test("put, get and head through the SDK; a streamed body (aws-chunked) is stored decoded", async () => {
    const { client, bucket } = s3;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "pgh/a.txt", Body: "hello" }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "pgh/a.txt" }));
    assert.equal(await got.Body!.transformToString(), "hello");
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "pgh/a.txt" }));
    assert.equal(head.ContentLength, 5);
    await rejectsWith(
      client.send(new HeadObjectCommand({ Bucket: bucket, Key: "pgh/none" })),
      "NotFound",
      404,
    );
    await rejectsWith(
      client.send(new GetObjectCommand({ Bucket: bucket, Key: "pgh/none" })),
      "NoSuchKey",
      404,
    );

    const body = pattern(300_000);
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "pgh/stream",
        Body: chunks(body),
        ContentLength: body.length,
      }),
    );
    const put = s3.proxy.requestsFor("PutObject").at(-1)!;
    assert.match(String(put.headers["content-encoding"]), /aws-chunked/, "the SDK streamed with aws-chunked");
    assert.deepEqual(await s3.getObject("pgh/stream"), body);
    assert.deepEqual(await s3.listKeys("pgh/"), ["pgh/a.txt", "pgh/stream"]);
  });

  test("ListObjectsV2 paginates (MaxKeys 2 over 5 keys) and honours StartAfter", async () => {
    const keys = ["ls/k1", "ls/k2", "ls/k3", "ls/k4", "ls/k5"];
    for (const k of keys) await s3.putObject(k, k);
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const out = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "ls/", MaxKeys: 2, ContinuationToken: token }),
      );
      pages.push((out.Contents ?? []).map((c) => c.Key!));
      token = out.NextContinuationToken;
      assert.equal(out.IsTruncated, token !== undefined);
    } while (token);
    assert.deepEqual(pages, [["ls/k1", "ls/k2"], ["ls/k3", "ls/k4"], ["ls/k5"]]);
    const after2 = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "ls/", StartAfter: "ls/k2", MaxKeys: 2 }),
    );
    assert.deepEqual(
      after2.Contents?.map((c) => c.Key),
      ["ls/k3", "ls/k4"],
    );
    assert.equal(after2.IsTruncated, true);
  });

  test("a ~12 MB multipart Upload completes and reads back identical", async () => {
    const body = pattern(12 * MiB + 12345);
    const before = s3.proxy.requestsFor("UploadPart").length;
    await new Upload({
      client: s3.client,
      params: { Bucket: s3.bucket, Key: "mp/big", Body: chunks(body) },
    }).done();
    assert.equal(s3.proxy.requestsFor("UploadPart").length - before, 3);
    assert.deepEqual(await s3.getObject("mp/big"), body);
    assert.deepEqual(s3.proxy.openUploads(), []);
  });

  test("an Upload whose body fails mid-way leaves no object and no open upload", async () => {
    const body = pattern(16 * MiB);
    const up = new Upload({
      client: s3.client,
      params: { Bucket: s3.bucket, Key: "fail/x", Body: chunks(body, 11 * MiB) },
    });
    await assert.rejects(up.done(), /source failed/);
    assert.ok(s3.proxy.requestsFor("CreateMultipartUpload").some((r) => r.key === "fail/x"));
    assert.equal(
      s3.proxy.requestsFor("AbortMultipartUpload").filter((r) => r.key === "fail/x" && r.status === 204)
        .length,
      1,
    );
    assert.deepEqual(await s3.listKeys("fail/"), []);
    assert.deepEqual(s3.proxy.openUploads(), []);
    const listed = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
    assert.deepEqual(listed.Uploads ?? [], []);
  });

  test("If-None-Match: * → 412 on an existing key, success on a new one; of two concurrent puts exactly one wins", async () => {
    const { client, bucket } = s3;
    await s3.putObject("cond/existing", "old");
    await rejectsWith(
      client.send(
        new PutObjectCommand({ Bucket: bucket, Key: "cond/existing", Body: "new", IfNoneMatch: "*" }),
      ),
      "PreconditionFailed",
      412,
    );
    assert.equal((await s3.getObject("cond/existing")).toString(), "old");
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: "cond/new", Body: "first", IfNoneMatch: "*" }),
    );
    assert.equal((await s3.getObject("cond/new")).toString(), "first");

    const results = await Promise.allSettled(
      ["a", "b", "c"].map((v) =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: "cond/race",
            Body: pattern(200_000 + v.charCodeAt(0)),
            IfNoneMatch: "*",
          }),
        ),
      ),
    );
    // As S3: the others are refused 412 (the key exists by then) or, while the winner is still in progress,
    // 409 ConditionalRequestConflict (retry).
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results)
      if (r.status === "rejected")
        assert.match((r.reason as Error).name, /^(PreconditionFailed|ConditionalRequestConflict)$/);

    // The same on CompleteMultipartUpload: the 412 makes lib-storage abort the upload.
    const up = new Upload({
      client,
      params: { Bucket: bucket, Key: "cond/existing", Body: chunks(pattern(6 * MiB)), IfNoneMatch: "*" },
    });
    await rejectsWith(up.done(), "PreconditionFailed", 412);
    assert.equal((await s3.getObject("cond/existing")).toString(), "old");
    assert.deepEqual(s3.proxy.openUploads(), []);
  });

  test("an injected 500 on one UploadPart is retried by the SDK and the upload completes", async () => {
    s3.proxy.fault({ method: "PUT", query: "partNumber" }, { kind: "status", status: 500 });
    const body = pattern(11 * MiB);
    const before = s3.proxy.requestsFor("UploadPart").length;
    await new Upload({
      client: s3.client,
      params: { Bucket: s3.bucket, Key: "retry/x", Body: chunks(body) },
    }).done();
    const parts = s3.proxy.requestsFor("UploadPart").slice(before);
    assert.equal(parts.length, 4, "3 parts + 1 retry");
    assert.equal(parts.filter((r) => r.status === 500).length, 1);
    assert.deepEqual(await s3.getObject("retry/x"), body);
  });

  test("AccessDenied and NoSuchBucket arrive as the SDK's named errors", async () => {
    const { client, bucket } = s3;
    s3.proxy.denyAccess({ method: "PUT", keyPrefix: "secret/" });
    await rejectsWith(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: "secret/x", Body: "x" })),
      "AccessDenied",
      403,
    );
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "public/x", Body: "x" }));
    s3.proxy.allowAll();
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "secret/x", Body: "x" }));

    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: "no-such-bucket", Key: "k", Body: "x" })),
      NoSuchBucket,
    );
    s3.proxy.fault({ op: "ListObjectsV2" }, { kind: "s3Error", status: 404, code: "NoSuchBucket" });
    await rejectsWith(client.send(new ListObjectsV2Command({ Bucket: bucket })), "NoSuchBucket", 404);
    s3.proxy.fault({ op: "GetObject" }, { kind: "status", status: 403 });
    await rejectsWith(
      client.send(new GetObjectCommand({ Bucket: bucket, Key: "public/x" })),
      "AccessDenied",
      403,
    );
  });

  test("ListMultipartUploads, AbortMultipartUpload and S3's part checks on Complete", async () => {
    const { client, bucket } = s3;
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mpu/open" }),
    );
    assert.deepEqual(
      s3.proxy.openUploads().map((u) => [u.key, u.uploadId]),
      [["mpu/open", UploadId]],
    );
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: "mpu/" }));
    assert.deepEqual(
      listed.Uploads?.map((u) => [u.Key, u.UploadId]),
      [["mpu/open", UploadId]],
    );

    // Parts below 5 MiB (but the last) are refused on Complete, as S3 does.
    const etags: string[] = [];
    for (const n of [1, 2]) {
      const out = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: "mpu/open", UploadId, PartNumber: n, Body: "tiny" }),
      );
      etags.push(out.ETag!);
    }
    const Parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
    await rejectsWith(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "mpu/open",
          UploadId,
          MultipartUpload: { Parts },
        }),
      ),
      "EntityTooSmall",
      400,
    );
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "mpu/open", UploadId }));
    assert.deepEqual(s3.proxy.openUploads(), []);
    assert.equal(s3.proxy.requestsFor("AbortMultipartUpload").at(-1)!.status, 204);
    await rejectsWith(
      client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "mpu/open", UploadId })),
      "NoSuchUpload",
      404,
    );
    await rejectsWith(
      client.send(
        new UploadPartCommand({ Bucket: bucket, Key: "mpu/open", UploadId, PartNumber: 3, Body: "x" }),
      ),
      "NoSuchUpload",
      404,
    );
    assert.deepEqual(await s3.listKeys("mpu/"), []);
  });

  test("a PutObject whose body never completes stores nothing (s3rver alone would keep the partial file)", async () => {
    const url = new URL(`${s3.endpoint}/${s3.bucket}/partial/x`);
    const req = http.request(url, { method: "PUT", headers: { "content-length": "1000" } });
    req.on("error", () => undefined);
    req.write("x".repeat(500));
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await s3.listKeys("partial/"), []);
  });

  test("a truncated GetObject body and a connection reset surface as errors; the request log records them", async () => {
    await s3.putObject("cut/x", pattern(100_000));
    s3.proxy.fault({ op: "GetObject", key: "cut/x" }, { kind: "truncate", afterBytes: 1000 });
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "cut/x" }));
    await assert.rejects(got.Body!.transformToByteArray());
    s3.proxy.fault({ op: "HeadObject" }, { kind: "reset", afterBytes: 0 }, 1);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "cut/x" })); // retried
    assert.equal(head.ContentLength, 100_000);
    const heads = s3.proxy.requestsFor("HeadObject").filter((r) => r.key === "cut/x");
    assert.equal(heads.length, 2);
  });
});

test("startS3 creates the given buckets", async () => {
  const s3 = await startS3({ buckets: ["one", "two"] });
  try {
    assert.equal(s3.bucket, "one");
    await s3.client.send(new PutObjectCommand({ Bucket: "two", Key: "k", Body: "v" }));
    const out = await s3.client.send(new ListObjectsV2Command({ Bucket: "two" }));
    assert.deepEqual(
      out.Contents?.map((c) => c.Key),
      ["k"],
    );
  } finally {
    await s3.stop();
  }
});
