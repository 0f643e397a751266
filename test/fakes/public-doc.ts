// What the hosts of the public single-document sources share (S3 behind the Spot Advisor, CloudFront behind the spot
// feed, Oracle's APEX): a document served with an ETag, and `If-None-Match` answered 304 with no body, as HTTP
// (RFC 9110 §13.1.2) and each of these hosts do. Each fake keeps its own documents and what it counts.
import { createHash } from "node:crypto";
import type { LoggedRequest, Reply } from "./server.js";

export interface Served {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified?: Date;
  /** Extra headers of the host (e.g. `server: AmazonS3`). */
  headers?: Record<string, string>;
}

/** S3's ETag of a single-part object: its MD5, quoted. */
export function s3Etag(body: Buffer): string {
  return `"${createHash("md5").update(body).digest("hex")}"`;
}

/** The reply to a GET of `doc`: 304 when If-None-Match names its ETag (or `*`), else 200 with the bytes. */
export function conditional(req: LoggedRequest, doc: Served): Reply {
  const headers: Record<string, string> = {
    etag: doc.etag,
    ...(doc.lastModified ? { "last-modified": doc.lastModified.toUTCString() } : {}),
    ...doc.headers,
  };
  const inm = req.headers["if-none-match"]?.split(",").map((t) => t.trim().replace(/^W\//, ""));
  if (inm?.includes(doc.etag.replace(/^W\//, "")) || inm?.includes("*")) return { status: 304, headers };
  return { status: 200, headers: { ...headers, "content-type": doc.contentType }, body: doc.body };
}
