// A streamed upload to S3 through part buffers allocated once and filled in turn.
//
// Written by hand, in place of lib-storage's Upload, for memory: Upload concatenates each part into a new 5 MiB
// buffer. Those buffers, with the SDK's objects beside them, kept V8 collecting the whole heap: 58 full collections
// per GB captured (2 to a local lake), ~1.4 s of a 15 s capture by a CPU profile. With reused buffers the same
// capture runs 2. The protocol is Upload's:
// - a body that fits in one part is one PutObject;
// - anything larger is CreateMultipartUpload (CRC32 checksums when the client computes them, as Upload asks),
//   `queueSize` UploadParts at a time, then CompleteMultipartUpload with every part's ETag and checksum;
// - on any failure, an AbortMultipartUpload that is awaited, so that nothing is left open when this returns.
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";

export interface StreamUpload {
  client: S3Client;
  Bucket: string;
  Key: string;
  ContentType: string;
  /** `If-None-Match: *` on the PutObject or the CompleteMultipartUpload: S3 answers 412 when the key exists. */
  IfNoneMatch?: string;
  /** Bytes per part (S3's minimum is 5 MiB, except the last). */
  partSize: number;
  /** Parts uploading at once; memory is `partSize × (queueSize + 1)`. */
  queueSize: number;
}

// S3's limit on the parts of one upload.
const MAX_PARTS = 10_000;

/** Uploads the body's bytes to `Key`; throws whatever failed, after aborting the multipart upload it started. */
export async function uploadStream(body: AsyncIterable<Buffer>, u: StreamUpload): Promise<void> {
  const { client, Bucket, Key } = u;
  const spare: Buffer[] = [];
  const inFlight: { buffer: Buffer; done: Promise<void> }[] = [];
  const parts: CompletedPart[] = [];
  let uploadId: string | undefined;
  let partNumber = 0;
  let block: Buffer = Buffer.allocUnsafe(u.partSize);
  let filled = 0;

  const start = async (): Promise<string> => {
    const checksums = (await client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        ContentType: u.ContentType,
        ...(checksums ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}),
      }),
    );
    if (!created.UploadId) throw new Error(`CreateMultipartUpload of ${Key} returned no UploadId`);
    return created.UploadId;
  };

  const send = (buffer: Buffer, length: number): void => {
    const PartNumber = ++partNumber;
    if (PartNumber > MAX_PARTS)
      throw new Error(`${Key}: more than ${MAX_PARTS} parts of ${u.partSize} bytes`);
    const UploadId = uploadId;
    const done = client
      .send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: buffer.subarray(0, length) }))
      .then((r) => {
        if (!r.ETag) throw new Error(`UploadPart ${PartNumber} of ${Key} returned no ETag`);
        parts.push({
          PartNumber,
          ETag: r.ETag,
          ...(r.ChecksumCRC32 && { ChecksumCRC32: r.ChecksumCRC32 }),
          ...(r.ChecksumCRC32C && { ChecksumCRC32C: r.ChecksumCRC32C }),
          ...(r.ChecksumSHA1 && { ChecksumSHA1: r.ChecksumSHA1 }),
          ...(r.ChecksumSHA256 && { ChecksumSHA256: r.ChecksumSHA256 }),
        });
      });
    done.catch(() => undefined); // awaited below, in order; a failure meanwhile is not unhandled
    inFlight.push({ buffer, done });
  };

  /** Waits for the oldest part in flight, and keeps its buffer for the next part. */
  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight[0]!;
    await oldest.done;
    inFlight.shift();
    spare.push(oldest.buffer);
  };

  /** Sends the filled block as the next part once fewer than `queueSize` are in flight. */
  const enqueue = async (): Promise<void> => {
    while (inFlight.length >= u.queueSize) await settleOldest();
    send(block, filled);
  };

  try {
    for await (const chunk of body) {
      let at = 0;
      while (at < chunk.length) {
        const n = chunk.copy(block, filled, at);
        filled += n;
        at += n;
        if (filled < u.partSize) continue;
        uploadId ??= await start();
        await enqueue();
        block = spare.pop() ?? Buffer.allocUnsafe(u.partSize);
        filled = 0;
      }
    }
    if (uploadId === undefined) {
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key,
          Body: block.subarray(0, filled),
          ContentType: u.ContentType,
          ...(u.IfNoneMatch ? { IfNoneMatch: u.IfNoneMatch } : {}),
        }),
      );
      return;
    }
    if (filled > 0) await enqueue();
    while (inFlight.length > 0) await settleOldest();
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...(u.IfNoneMatch ? { IfNoneMatch: u.IfNoneMatch } : {}),
      }),
    );
  } catch (err) {
    if (uploadId !== undefined) {
      await Promise.allSettled(inFlight.map((f) => f.done));
      await client
        .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))
        .catch((abortErr: unknown) => {
          if (err instanceof Error && err.cause === undefined) err.cause = abortErr;
        });
    }
    throw err;
  }
}
