// S3 wire details for the fake S3 (test/fakes/s3.ts): operation names, S3's XML errors, aws-chunked bodies,
// and small stream helpers shared by the proxy.
import { randomBytes } from "node:crypto";
import type http from "node:http";
import { Readable, Transform, pipeline } from "node:stream";
import type { Fault, Reply } from "./server.js";

export type S3Op =
  | "ListBuckets"
  | "CreateBucket"
  | "HeadBucket"
  | "DeleteBucket"
  | "ListObjects"
  | "ListObjectsV2"
  | "ListMultipartUploads"
  | "DeleteObjects"
  | "GetObject"
  | "HeadObject"
  | "PutObject"
  | "CopyObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "Other";

export interface S3Request {
  op: S3Op;
  method: string;
  /** Raw (encoded) path, e.g. `/lake/a%20b/c.json.gz`. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  bucket?: string;
  key?: string;
  /** The status answered, once answered. */
  status?: number;
  at: number;
}

/** server.ts faults, plus an S3 error in S3's XML shape. A bare `status` fault also answers S3 XML. */
export type S3Fault = Fault | { kind: "s3Error"; status: number; code: string; message?: string };
/** `query`: a parameter name that must be present (e.g. "partNumber"), or a RegExp on the raw query string. */
export interface S3Match {
  method?: string;
  path?: string | RegExp;
  query?: string | RegExp;
  op?: S3Op | S3Op[];
  bucket?: string;
  key?: string | RegExp;
}
export interface UploadPart {
  etag: string;
  size: number;
}
export interface OpenUpload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: string;
}

export const MIN_PART = 5 * 1024 * 1024;
export const DEFAULT_MESSAGES: Record<number, [string, string]> = {
  400: ["InvalidRequest", "Invalid Request"],
  403: ["AccessDenied", "Access Denied"],
  404: ["NoSuchKey", "The specified key does not exist."],
  409: [
    "ConditionalRequestConflict",
    "A conflicting conditional operation is currently in progress against this resource. Please try again.",
  ],
  412: ["PreconditionFailed", "At least one of the pre-conditions you specified did not hold"],
  500: ["InternalError", "We encountered an internal error. Please try again."],
  503: ["SlowDown", "Please reduce your request rate."],
};
export const HTML_200: Reply = {
  headers: { "content-type": "text/html" },
  body: "<html><body><h1>503 Service Unavailable</h1></body></html>",
};
export const esc = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
export const requestId = () => randomBytes(8).toString("hex").toUpperCase();

/** S3's XML error document. */
export function s3ErrorXml(
  code: string,
  message: string,
  extra: Record<string, string | undefined> = {},
): string {
  const fields = Object.entries(extra).map(([k, v]) => (v === undefined ? "" : `<${k}>${esc(v)}</${k}>`));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${esc(message)}</Message>${fields.join("")}<RequestId>${requestId()}</RequestId><HostId>${randomBytes(24).toString("base64")}</HostId></Error>`;
}

export function classify(
  method: string,
  bucket: string | undefined,
  key: string,
  q: Record<string, string>,
): S3Op {
  if (!bucket) return method === "GET" ? "ListBuckets" : "Other";
  const has = (p: string) => p in q;
  if (!key) {
    if (method === "GET")
      return has("uploads")
        ? "ListMultipartUploads"
        : q["list-type"] === "2"
          ? "ListObjectsV2"
          : Object.keys(q).length
            ? "Other"
            : "ListObjects";
    if (method === "POST") return has("delete") ? "DeleteObjects" : "Other";
    return method === "PUT" && !Object.keys(q).length
      ? "CreateBucket"
      : method === "HEAD"
        ? "HeadBucket"
        : method === "DELETE"
          ? "DeleteBucket"
          : "Other";
  }
  if (method === "GET") return has("uploadId") ? "ListParts" : "GetObject";
  if (method === "HEAD") return "HeadObject";
  if (method === "POST")
    return has("uploads") ? "CreateMultipartUpload" : has("uploadId") ? "CompleteMultipartUpload" : "Other";
  if (method === "DELETE") return has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  if (method === "PUT")
    return has("uploadId")
      ? "UploadPart"
      : Object.keys(q).length - (has("x-id") ? 1 : 0) > 0
        ? "Other"
        : "PutObject";
  return "Other";
}

/** Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>\r\n\r\n`). */
class AwsChunkedDecoder extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private left = 0; // data bytes left in the current chunk
  private state: "size" | "data" | "crlf" | "done" = "size";
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.state === "data") {
        const n = Math.min(this.left, this.buf.length);
        if (n > 0) this.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        if ((this.left -= n) > 0) return cb();
        this.state = "crlf";
      }
      if (this.state === "crlf") {
        if (this.buf.length < 2) return cb();
        this.buf = this.buf.subarray(2);
        this.state = "size";
      }
      if (this.state === "done") return cb();
      const nl = this.buf.indexOf("\r\n");
      if (nl < 0) return cb();
      const size = parseInt(this.buf.subarray(0, nl).toString("latin1").split(";")[0]!, 16);
      if (Number.isNaN(size)) return cb(new Error("malformed aws-chunked body"));
      this.buf = this.buf.subarray(nl + 2);
      [this.state, this.left] = size === 0 ? ["done", 0] : ["data", size]; // trailers after the last chunk are ignored
    }
  }
  override _flush(cb: (err?: Error | null) => void): void {
    cb(this.state === "done" ? null : new Error("aws-chunked body ended early"));
  }
}

export const isChunked = (h: http.IncomingHttpHeaders) =>
  /aws-chunked/.test(h["content-encoding"] ?? "") ||
  String(h["x-amz-content-sha256"] ?? "").startsWith("STREAMING-");

/** The headers to send upstream: aws-chunked framing removed, a known length when the body is buffered. */
export function upstreamHeaders(h: http.IncomingHttpHeaders, length?: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...h };
  delete out.expect;
  if (isChunked(h)) {
    const enc = (h["content-encoding"] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e && e !== "aws-chunked");
    if (enc.length) out["content-encoding"] = enc.join(",");
    else delete out["content-encoding"];
    for (const k of ["transfer-encoding", "x-amz-trailer", "x-amz-decoded-content-length"]) delete out[k];
    out["content-length"] = String(h["x-amz-decoded-content-length"]);
    out["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  }
  if (length !== undefined) {
    out["content-length"] = String(length);
    delete out["transfer-encoding"];
  }
  return out;
}

export function bodyOf(req: http.IncomingMessage): Readable {
  if (!isChunked(req.headers)) return req;
  const dec = new AwsChunkedDecoder();
  pipeline(req, dec, () => {});
  return dec;
}
export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function drain(req: http.IncomingMessage): Promise<void> {
  if (!req.complete) await readAll(req).catch(() => undefined);
}

export function write(res: http.ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off("drain", onDrain).off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on("drain", onDrain).on("close", onClose);
  });
}

/** What S3 checks on Complete that s3rver does not: known parts with matching ETags, ascending, ≥ 5 MiB but the last. */
export function checkParts(known: Map<number, UploadPart>, xml: string): [string, string] | undefined {
  const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
    n: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]),
    etag: /<ETag>([^<]*)<\/ETag>/.exec(m[1]!)?.[1]?.replace(/&quot;|"/g, ""),
  }));
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const part = known.get(p.n);
    if (!part || part.etag.replace(/"/g, "") !== p.etag)
      return [
        "InvalidPart",
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      ];
    if (i > 0 && p.n <= parts[i - 1]!.n)
      return [
        "InvalidPartOrder",
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
      ];
    if (i < parts.length - 1 && part.size < MIN_PART)
      return ["EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size."];
  }
  return undefined;
}

/** ListMultipartUploads' answer over the open uploads (prefix, key-marker/upload-id-marker, max-uploads). */
export function listUploadsXml(bucket: string, open: OpenUpload[], q: Record<string, string>): string {
  const prefix = q.prefix ?? "";
  const max = Math.min(Number(q["max-uploads"] ?? 1000), 1000);
  const [km, um] = [q["key-marker"] ?? "", q["upload-id-marker"] ?? ""];
  const all = open
    .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
    .filter((u) => u.key > km || (u.key === km && um !== "" && u.uploadId > um))
    .sort((a, b) => (a.key === b.key ? (a.uploadId < b.uploadId ? -1 : 1) : a.key < b.key ? -1 : 1));
  const page = all.slice(0, max);
  const last = page[page.length - 1];
  const owner =
    "<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>S3rver</DisplayName>";
  const items = page.map(
    (u) =>
      `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiator>${owner}</Initiator><Owner>${owner}</Owner>` +
      `<StorageClass>STANDARD</StorageClass><Initiated>${u.initiated}</Initiated></Upload>`,
  );
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Bucket>${esc(bucket)}</Bucket><KeyMarker>${esc(km)}</KeyMarker><UploadIdMarker>${esc(um)}</UploadIdMarker>` +
    `<NextKeyMarker>${esc(last?.key ?? "")}</NextKeyMarker><NextUploadIdMarker>${last?.uploadId ?? ""}</NextUploadIdMarker>` +
    `<Prefix>${esc(prefix)}</Prefix><MaxUploads>${max}</MaxUploads><IsTruncated>${all.length > max}</IsTruncated>` +
    `${items.join("")}</ListMultipartUploadsResult>`
  );
}
