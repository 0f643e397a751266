// Fault suite, S3 errors (SPEC §5 Atomic, §6): a 500 on a part upload or a PutObject is retried and the capture
// completes; a persistent one fails the capture with no multipart upload left open; AccessDenied and NoSuchBucket
// stop the capture with a message naming the bucket, the key and the missing permission; a lake that cannot be
// listed or does not exist stops the crawler at start-up (exit 2) before anything is downloaded.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/s3-errors.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BUCKET, PERSISTENT, REGION, SOURCES, bulkyProducts, useHarness, type Fakes } from "./harness.js";
import type { ProductInput } from "../fakes/aws-pricing.js";
import type { SourceName } from "../../src/types.js";

/** An AmazonEC2 region whose capture is stored in two parts (about 10 MB gzipped from a 14 MB offer file). */
const BIG = "ap-south-1";
let bulky: ProductInput[] | undefined;
const addBig = (f: Fakes) =>
  f.pricing.setRegion(BIG, { version: "20261101000000", products: (bulky ??= bulkyProducts(14)) });

/** The capture object's key of a source and region, under any prefix. */
const captureKeyRe = (source: SourceName, region: string) =>
  new RegExp(`(^|/)${source}/${region}/[^/]+\\.json\\.gz$`);
const uploadsOf = (
  f: Fakes,
  op: "CreateMultipartUpload" | "AbortMultipartUpload" | "UploadPart" | "CompleteMultipartUpload",
) => f.s3.proxy.requestsFor(op).filter((r) => r.key?.includes(`/AmazonEC2/${BIG}/`));

describe("fault: S3 errors", () => {
  const h = useHarness("s3-errors");

  test(`AmazonEC2 ${BIG} (multipart), s3 lake: S3 500 on one UploadPart → retried, complete and exact`, async (t) => {
    const before = uploadsOf(h.fakes, "UploadPart").length;
    try {
      await h.scenario(
        {
          source: "AmazonEC2",
          lake: "s3",
          region: BIG,
          inject: (f) => {
            addBig(f);
            f.s3.proxy.fault(
              { op: "UploadPart", key: captureKeyRe("AmazonEC2", BIG) },
              { kind: "s3Error", status: 500, code: "InternalError" },
              1,
            );
          },
          expect: "complete",
        },
        t,
      );
    } finally {
      h.fakes.pricing.removeRegion(BIG);
    }
    const parts = uploadsOf(h.fakes, "UploadPart").slice(before);
    assert.equal(parts.filter((p) => p.status === 500).length, 1, "one part upload failed");
    assert.ok(parts.filter((p) => p.status === 200).length >= 2, "a multipart upload of two parts or more");
    assert.ok(
      uploadsOf(h.fakes, "CompleteMultipartUpload").some((r) => r.status === 200),
      "completed",
    );
  });

  test(`AmazonEC2 ${BIG} (multipart), s3 lake: S3 500 on every UploadPart → failed, every multipart upload aborted`, async (t) => {
    const created = uploadsOf(h.fakes, "CreateMultipartUpload").length;
    const aborted = uploadsOf(h.fakes, "AbortMultipartUpload").length;
    try {
      await h.scenario(
        {
          source: "AmazonEC2",
          lake: "s3",
          region: BIG,
          inject: (f) => {
            addBig(f);
            f.s3.proxy.fault(
              { op: "UploadPart", key: captureKeyRe("AmazonEC2", BIG) },
              { kind: "s3Error", status: 500, code: "InternalError" },
              PERSISTENT,
            );
          },
          expect: "failed",
          message: /InternalError/,
        },
        t,
      );
    } finally {
      h.fakes.pricing.removeRegion(BIG);
    }
    const c = uploadsOf(h.fakes, "CreateMultipartUpload").slice(created);
    const a = uploadsOf(h.fakes, "AbortMultipartUpload").slice(aborted);
    assert.ok(c.length >= 1, "multipart uploads were started");
    assert.equal(a.filter((r) => r.status === 204).length, c.length, "each one aborted");
  });

  // Each S3 request has a timeout too: the lake's S3 client gets http.stallTimeout as its socket (inactivity) timeout.
  test("AmazonEC2, s3 lake: S3 answers ListObjectsV2 and then stalls → each attempt given up by the stall timeout, refused at start-up", async (t) => {
    const stall = 120_000;
    const lists = () => h.fakes.s3.proxy.requestsFor("ListObjectsV2");
    const from = lists().length;
    const run = await h.scenario(
      {
        source: "AmazonEC2",
        lake: "s3",
        inject: (f) =>
          void f.s3.proxy.fault(
            { op: "ListObjectsV2" },
            { kind: "stall", afterBytes: 100, ms: stall },
            PERSISTENT,
          ),
        expect: "refused",
        message: /TimeoutError/,
      },
      t,
    );
    assert.ok(run.ms < stall / 4, `gave up after ${run.ms} ms; the stall lasts ${stall} ms`);
    const at = lists()
      .slice(from)
      .map((r) => r.at);
    assert.ok(at.length >= 2, `the stalled listing was retried (${at.length} requests)`);
    for (let i = 1; i < at.length; i++) {
      assert.ok(
        at[i]! - at[i - 1]! < 2_500,
        `a stalled attempt held on for ${at[i]! - at[i - 1]!} ms of ${stall}`,
      );
    }
  });

  for (const source of SOURCES) {
    const region = REGION[source];
    test(`${source}, s3 lake: S3 500 on the capture's PutObject once → retried, complete and exact`, async (t) => {
      await h.scenario(
        {
          source,
          lake: "s3",
          inject: (f) =>
            void f.s3.proxy.fault(
              { op: "PutObject", key: captureKeyRe(source, region) },
              { kind: "s3Error", status: 500, code: "InternalError" },
              1,
            ),
          expect: "complete",
        },
        t,
      );
      const puts = h.fakes.s3.proxy
        .requestsFor("PutObject")
        .filter((r) => captureKeyRe(source, region).test(r.key ?? ""));
      assert.deepEqual(
        puts.slice(-2).map((r) => r.status),
        [500, 200],
        "the 500, then the retried PutObject",
      );
    });

    test(`${source}, s3 lake: AccessDenied on PutObject → failed, the message names bucket, key and s3:PutObject`, async (t) => {
      await h.scenario(
        {
          source,
          lake: "s3",
          inject: (f) =>
            void f.s3.proxy.fault(
              { op: ["PutObject", "CreateMultipartUpload"], key: captureKeyRe(source, region) },
              { kind: "s3Error", status: 403, code: "AccessDenied" },
              PERSISTENT,
            ),
          expect: "failed",
          message: new RegExp(
            `access denied to s3://${BUCKET}/\\S*${source}/${region}/\\S+\\.json\\.gz in bucket ${BUCKET}: the credentials need s3:PutObject`,
          ),
        },
        t,
      );
    });

    // The start-up probe lists the lake (SPEC §6): without s3:ListBucket nothing is downloaded, whatever the source.
    test(`${source}, s3 lake: AccessDenied on ListObjectsV2 → refused at start-up (exit 2), naming s3:ListBucket`, async (t) => {
      await h.scenario(
        {
          source,
          lake: "s3",
          inject: (f) =>
            void f.s3.proxy.fault(
              { op: "ListObjectsV2" },
              { kind: "s3Error", status: 403, code: "AccessDenied" },
              PERSISTENT,
            ),
          expect: "refused",
          message: new RegExp(
            `cannot list the lake s3://${BUCKET}/\\S+: access denied to s3://${BUCKET}/\\S*_contrail/probe/ in bucket ${BUCKET}: the credentials need s3:ListBucket`,
          ),
        },
        t,
      );
    });

    test(`${source}, s3 lake: NoSuchBucket → refused at start-up (exit 2), naming the bucket; nothing created`, async (t) => {
      const missing = `no-such-bucket-${source.toLowerCase()}`;
      await h.scenario(
        {
          source,
          lake: "s3",
          lakeUrl: `s3://${missing}/prices`,
          noLake: true,
          expect: "refused",
          message: new RegExp(`bucket ${missing} does not exist`),
        },
        t,
      );
      assert.deepEqual(
        h.fakes.s3.proxy.openUploads().filter((u) => u.bucket === missing),
        [],
        "no multipart upload left open",
      );
      const created = h.fakes.s3.proxy.requestsFor("CreateBucket").filter((r) => r.bucket === missing);
      assert.deepEqual(created, [], "the crawler never creates a bucket");
    });
  }
});
