// uploadStream's protocol and memory, against a client that records each command: one PutObject for a body that
// fits in one part; otherwise exact parts, at most queueSize at once, through queueSize + 1 buffers reused, then a
// Complete with the parts in order; and on a failure an AbortMultipartUpload that is done before the error comes back.
// (test/lake/s3.test.ts and the fault suite run the same code against the fake S3 over HTTP.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { uploadStream } from "../../src/lake/multipart.js";

type Sent = { name: string; input: Record<string, unknown> };

const memories = new Map<ArrayBufferLike, number>();
const memoryId = (m: ArrayBufferLike) =>
  memories.get(m) ?? (memories.set(m, memories.size), memories.size - 1);

function recordingClient(opts: { failPart?: number; checksums?: "WHEN_SUPPORTED" | "WHEN_REQUIRED" } = {}) {
  const sent: Sent[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    config: { requestChecksumCalculation: async () => opts.checksums ?? "WHEN_SUPPORTED" },
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name.replace(/Command$/, "");
      // The body as it is when sent: a reused buffer is overwritten later, so keep a copy, and its memory's identity.
      const input = { ...command.input };
      if (input.Body instanceof Buffer) {
        input.bytes = Buffer.from(input.Body);
        input.memory = `${memoryId(input.Body.buffer)}@${input.Body.byteOffset}`; // small buffers share a pool
      }
      sent.push({ name, input });
      if (name !== "UploadPart") return name === "CreateMultipartUpload" ? { UploadId: "u-1" } : {};
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5 + ((input.PartNumber as number) % 3) * 5)); // out of order
      inFlight--;
      if (input.PartNumber === opts.failPart) throw new Error(`part ${opts.failPart} failed`);
      return { ETag: `"etag-${input.PartNumber}"`, ChecksumCRC32: `crc-${input.PartNumber}` };
    },
  };
  return { client: client as unknown as S3Client, sent, maxInFlight: () => maxInFlight };
}

async function* chunksOf(data: Buffer, size: number) {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

const base = { Bucket: "b", Key: "k.json.gz", ContentType: "application/gzip", IfNoneMatch: "*" };

describe("uploadStream", () => {
  test("a body that fits in one part is one PutObject, conditional, with its bytes", async () => {
    const r = recordingClient();
    const data = randomBytes(1000);
    await uploadStream(chunksOf(data, 300), { client: r.client, ...base, partSize: 1024, queueSize: 2 });
    assert.deepEqual(
      r.sent.map((s) => s.name),
      ["PutObject"],
    );
    assert.deepEqual(r.sent[0]!.input.bytes, data);
    assert.equal(r.sent[0]!.input.IfNoneMatch, "*");
    assert.equal(r.sent[0]!.input.ContentType, "application/gzip");
  });

  test("a larger body: exact parts, at most queueSize at once through queueSize + 1 buffers, Complete in order", async () => {
    const r = recordingClient();
    const data = randomBytes(10 * 1024 + 17); // 10 full parts and a short one
    await uploadStream(chunksOf(data, 700), { client: r.client, ...base, partSize: 1024, queueSize: 2 });
    const names = r.sent.map((s) => s.name);
    assert.equal(names[0], "CreateMultipartUpload");
    assert.equal(r.sent[0]!.input.ChecksumAlgorithm, "CRC32");
    assert.equal(names.at(-1), "CompleteMultipartUpload");
    const parts = r.sent.filter((s) => s.name === "UploadPart");
    assert.deepEqual(
      parts.map((p) => p.input.PartNumber),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
    assert.deepEqual(Buffer.concat(parts.map((p) => p.input.bytes as Buffer)), data);
    assert.ok(parts.every((p) => p.input.UploadId === "u-1"));
    assert.equal(r.maxInFlight(), 2);
    assert.equal(new Set(parts.map((p) => p.input.memory)).size, 3, "three part buffers, reused");
    const complete = r.sent.at(-1)!.input;
    assert.equal(complete.IfNoneMatch, "*");
    assert.deepEqual(complete.MultipartUpload, {
      Parts: parts.map((_, i) => ({
        PartNumber: i + 1,
        ETag: `"etag-${i + 1}"`,
        ChecksumCRC32: `crc-${i + 1}`,
      })),
    });
  });

  test("without client-side checksums the multipart upload asks for none", async () => {
    const r = recordingClient({ checksums: "WHEN_REQUIRED" });
    await uploadStream(chunksOf(randomBytes(3000), 1000), {
      client: r.client,
      ...base,
      partSize: 1024,
      queueSize: 2,
    });
    assert.equal(r.sent[0]!.input.ChecksumAlgorithm, undefined);
  });

  test("a failed part, or a body that fails: the multipart upload is aborted before the error comes back", async () => {
    const r = recordingClient({ failPart: 3 });
    await assert.rejects(
      uploadStream(chunksOf(randomBytes(8 * 1024), 512), {
        client: r.client,
        ...base,
        partSize: 1024,
        queueSize: 2,
      }),
      /part 3 failed/,
    );
    assert.equal(r.sent.at(-1)!.name, "AbortMultipartUpload");
    assert.deepEqual(r.sent.at(-1)!.input, { Bucket: "b", Key: "k.json.gz", UploadId: "u-1" });
    assert.ok(!r.sent.some((s) => s.name === "CompleteMultipartUpload"));

    const broken = recordingClient();
    async function* failing() {
      yield* chunksOf(randomBytes(3000), 1000);
      throw new Error("body reset");
    }
    await assert.rejects(
      uploadStream(failing(), { client: broken.client, ...base, partSize: 1024, queueSize: 2 }),
      /body reset/,
    );
    assert.equal(broken.sent.at(-1)!.name, "AbortMultipartUpload");
  });
});
