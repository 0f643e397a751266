// A lake in an S3 bucket (or any S3-compatible store), streamed as a multipart upload (./multipart.ts).
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { uploadStream } from "./multipart.js";
import type { Readable } from "node:stream";
import { tap } from "../streams.js";
import type { Logger } from "pino";
import { abortError, ContrailError } from "../errors.js";
import { sleep } from "../http/retry.js";
import type { Lake, LakeEntry } from "../types.js";

export interface S3LakeOptions {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
  maxAttempts?: number;
  /** Time to connect, and the longest a request or response may sit idle (a stalled transfer). */
  connectTimeout?: number;
  stallTimeout?: number;
  /** Multipart part size; memory held per upload is partSize × (queueSize + 1). */
  partSize?: number;
  queueSize?: number;
  log?: Logger;
}

/** Attempts of a conditional PutObject that S3 answers 409 ConditionalRequestConflict (a concurrent writer). */
const CONFLICT_ATTEMPTS = 6;
const conflictDelay = (attempt: number) => Math.round(50 * 2 ** attempt * (0.5 + Math.random()));

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The region S3 says the bucket is in: `x-amz-bucket-region`, or AuthorizationHeaderMalformed's `<Region>`. */
function regionHint(err: unknown): string | undefined {
  const e = err as { $response?: { headers?: Record<string, string> }; Region?: unknown };
  const region = e.$response?.headers?.["x-amz-bucket-region"] ?? e.Region;
  return typeof region === "string" && region ? region : undefined;
}

function isConditionalConflict(err: unknown): boolean {
  return statusOf(err) === 409 && (err as { name?: string }).name === "ConditionalRequestConflict";
}

/** Multipart uploads older than this are debris of a killed process: the next start aborts them. */
const STALE_UPLOAD_MS = 60 * 60_000;

export class S3Lake implements Lake {
  readonly description: string;
  /** The region requests are signed for: the configured one until S3 says the bucket lives elsewhere. */
  region: string;
  private client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private located?: Promise<void>;

  constructor(private readonly opts: S3LakeOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? `${opts.prefix.replace(/\/+$/, "")}/` : "";
    this.description = `s3://${opts.bucket}${opts.prefix ? `/${opts.prefix}` : ""}`;
    this.region = opts.region;
    this.client = this.makeClient(opts.region);
  }

  private makeClient(region: string): S3Client {
    const { opts } = this;
    return new S3Client({
      region,
      // A bucket in another region answers 301 PermanentRedirect with x-amz-bucket-region (SPEC §6); the SDK then
      // repeats the request signed for that region. locate() finds the region once so that this stays the exception.
      followRegionRedirects: true,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
      maxAttempts: opts.maxAttempts ?? 5,
      // S3-compatible stores (MinIO, R2, Ceph, older appliances) often reject the SDK's default streaming CRC32
      // trailers (aws-chunked); send checksums only where S3 requires them. TLS guards the transfer and `contrail
      // verify` checks the stored bytes end to end against the manifest. AWS itself keeps the SDK's defaults.
      ...(opts.endpoint
        ? {
            requestChecksumCalculation: "WHEN_REQUIRED" as const,
            responseChecksumValidation: "WHEN_REQUIRED" as const,
          }
        : {}),
      requestHandler: {
        connectionTimeout: opts.connectTimeout ?? 30_000,
        // An inactivity timeout: fires when S3 (or the network) stops answering mid-request or mid-response.
        socketTimeout: opts.stallTimeout ?? 60_000,
      },
    });
  }

  /** Before the first request: the bucket's region, once (HeadBucket), as boto3 and the AWS CLI find it. */
  private ready(): Promise<void> {
    return (this.located ??= this.locate());
  }

  /**
   * HeadBucket names the bucket's region in `x-amz-bucket-region`, on success and on 301/400/403 alike. Needed
   * beyond the SDK's redirect-following: at the global endpoint S3 answers other operations 400
   * AuthorizationHeaderMalformed without that header, and a streamed multipart upload cannot be sent twice.
   * Anything else (no such bucket, the network) is left to the operation itself to report.
   */
  private async locate(): Promise<void> {
    let region: string | undefined;
    try {
      region = (await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))).BucketRegion;
    } catch (err) {
      region = regionHint(err);
    }
    if (!region || region === this.region) return;
    this.opts.log?.info(
      { bucket: this.bucket, configured: this.region, region },
      "the bucket lives in another region; using it",
    );
    const old = this.client;
    this.client = this.makeClient(region);
    this.region = region;
    old.destroy();
  }

  async putStream(key: string, body: Readable, signal: AbortSignal): Promise<{ storedBytes: number }> {
    await this.ready();
    let storedBytes = 0;
    const counted = body.pipe(tap((chunk) => (storedBytes += chunk.length)));
    body.on("error", (err) => counted.destroy(err));
    // Ending the body aborts the upload: uploadStream then aborts the multipart upload, and awaits that, before it
    // rejects, so nothing is left open when we return.
    const onAbort = () => counted.destroy(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await uploadStream(counted, {
        client: this.client,
        Bucket: this.bucket,
        Key: this.prefix + key,
        ContentType: "application/gzip",
        // Never overwrite a capture: S3 refuses with 412 when the key exists (on PutObject and on Complete).
        IfNoneMatch: "*",
        // The smallest part S3 takes: memory per upload is partSize × (queueSize + 1), 15 MiB.
        partSize: this.opts.partSize ?? 5 * 1024 * 1024,
        queueSize: this.opts.queueSize ?? 2,
      });
      return { storedBytes };
    } catch (err) {
      body.destroy();
      if (signal.aborted) throw abortError(signal);
      throw this.wrap(err, key, "s3:PutObject");
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async putBytes(
    key: string,
    data: Buffer | string,
    opts: { ifAbsent?: boolean; signal?: AbortSignal } = {},
  ) {
    await this.ready();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            Body: data,
            ContentType: "application/json",
            ...(opts.ifAbsent ? { IfNoneMatch: "*" } : {}),
          }),
          { abortSignal: opts.signal },
        );
        return true;
      } catch (err) {
        if (opts.ifAbsent && statusOf(err) === 412) return false;
        // 409: another conditional write on this key was in progress. S3 says to retry; the retry then learns
        // whether that write stored the key (412) or not (ours goes in). Never "exists" on a guess.
        if (isConditionalConflict(err) && attempt < CONFLICT_ATTEMPTS) {
          await sleep(conflictDelay(attempt), opts.signal);
          continue;
        }
        throw this.wrap(err, key, "s3:PutObject");
      }
    }
  }

  async getStream(key: string, signal?: AbortSignal): Promise<Readable> {
    await this.ready();
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
        {
          abortSignal: signal,
        },
      );
      return res.Body as Readable;
    } catch (err) {
      throw this.wrap(err, key, "s3:GetObject");
    }
  }

  async getBytes(key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
    try {
      const body = await this.getStream(key, signal);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      if (err instanceof ContrailError && err.code === "LAKE_NOT_FOUND") return undefined;
      throw err;
    }
  }

  async getVersioned(
    key: string,
    signal?: AbortSignal,
  ): Promise<{ data: Buffer; version: string } | undefined> {
    await this.ready();
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
        {
          abortSignal: signal,
        },
      );
      const data = Buffer.from(await res.Body!.transformToByteArray());
      return { data, version: res.ETag ?? "" };
    } catch (err) {
      const wrapped = this.wrap(err, key, "s3:GetObject");
      if (wrapped instanceof ContrailError && wrapped.code === "LAKE_NOT_FOUND") return undefined;
      throw wrapped;
    }
  }

  /**
   * S3's conditional writes (2024): `If-None-Match: *` to create, `If-Match: <ETag>` to replace. S3 answers 412 when
   * the condition fails, 404 NoSuchKey to an If-Match on a key that is gone, and 409 ConditionalRequestConflict
   * when another conditional write on the key is in flight; all three mean "not yours now: read again".
   */
  async putIfVersion(
    key: string,
    data: Buffer | string,
    expected: string | null,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    await this.ready();
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: data,
          ContentType: "application/json",
          ...(expected === null ? { IfNoneMatch: "*" } : { IfMatch: expected }),
        }),
        { abortSignal: signal },
      );
      return res.ETag ?? "";
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      if (status === 412 || status === 409 || (status === 404 && e.name === "NoSuchKey")) return undefined;
      throw this.wrap(err, key, "s3:PutObject");
    }
  }

  async *list(
    prefix: string,
    opts: { startAfter?: string; signal?: AbortSignal } = {},
  ): AsyncIterable<LakeEntry> {
    await this.ready();
    try {
      const pages = paginateListObjectsV2(
        { client: this.client, pageSize: 1000 },
        {
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ...(opts.startAfter ? { StartAfter: this.prefix + opts.startAfter } : {}),
        },
      );
      for await (const page of pages) {
        for (const o of page.Contents ?? []) {
          if (o.Key)
            yield {
              key: o.Key.slice(this.prefix.length),
              size: o.Size ?? 0,
              ...(o.LastModified ? { modified: o.LastModified } : {}),
            };
        }
      }
    } catch (err) {
      throw this.wrap(err, prefix, "s3:ListBucket");
    }
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (err) {
      throw this.wrap(err, key, "s3:DeleteObject");
    }
  }

  /** Aborts multipart uploads under the prefix that a killed process left open (older than an hour). */
  async cleanup(signal?: AbortSignal): Promise<void> {
    await this.ready();
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const res = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
        { abortSignal: signal },
      );
      for (const u of res.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        if (u.Initiated && Date.now() - u.Initiated.getTime() < STALE_UPLOAD_MS) continue;
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }),
        );
        this.opts.log?.info({ key: u.Key }, "aborted a stale multipart upload");
      }
      if (!res.IsTruncated) return;
      keyMarker = res.NextKeyMarker;
      uploadIdMarker = res.NextUploadIdMarker;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private wrap(err: unknown, key: string, permission: string): Error {
    if (err instanceof ContrailError) return err;
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const where = `s3://${this.bucket}/${this.prefix}${key}`;
    if (e.name === "AbortError") return abortError();
    if (e.name === "NoSuchKey" || (status === 404 && e.name === "NotFound")) {
      return new ContrailError("LAKE_NOT_FOUND", `${where} is not in the lake`, { cause: err });
    }
    if (e.name === "NoSuchBucket") {
      const doing =
        permission === "s3:PutObject" ? "writing" : permission === "s3:ListBucket" ? "listing" : "reading";
      return new ContrailError("LAKE_NO_BUCKET", `bucket ${this.bucket} does not exist (${doing} ${where})`, {
        cause: err,
      });
    }
    if (e.name === "AccessDenied" || status === 403) {
      return new ContrailError(
        "LAKE_ACCESS_DENIED",
        `access denied to ${where} in bucket ${this.bucket}: the credentials need ${permission}`,
        { cause: err },
      );
    }
    if (status === 412)
      return new ContrailError("LAKE_EXISTS", `${where} exists already; not overwriting it`, { cause: err });
    // A multipart upload that met a concurrent conditional write must be made anew: the capture's retry does that.
    if (isConditionalConflict(err))
      return new ContrailError(
        "LAKE_IO",
        `S3 error on ${where}: ConditionalRequestConflict: ${e.message ?? ""}`,
        {
          cause: err,
          retryable: true,
        },
      );
    return new ContrailError("LAKE_IO", `S3 error on ${where}: ${e.name ?? "error"}: ${e.message ?? ""}`, {
      cause: err,
      retryable: status === undefined || status >= 500 || status === 429,
    });
  }
}
