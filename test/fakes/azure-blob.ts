// Fake Azure blob host: where the RateCard's 302 points. Serves objects by SAS URL and, like a SAS blob URL
// fetched with a bearer token, refuses any request carrying an Authorization header (wire-formats §5).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { FakeApi, FakeServer, type LoggedRequest, type Reply } from "./server.js";

interface Blob {
  bytes: Buffer;
  contentType: string;
  etag: string;
  lastModified: string;
}

export class FakeBlob extends FakeApi {
  private readonly blobs = new Map<string, Blob>();
  private readonly sigs = new Map<string, string>();

  constructor() {
    super(new FakeServer({ tls: true }));
    this.server.route("GET", /.*/, (req, url) => this.get(req, url));
    this.server.route("HEAD", /.*/, (req, url) => this.get(req, url)); // Node sends no body for HEAD
  }

  get started(): boolean {
    return this.server.baseUrl !== "";
  }

  /** Every request that reached the blob host (check `headers.authorization` is never there). */
  get requests(): LoggedRequest[] {
    return this.server.requests;
  }

  /** Stores (or replaces) a blob at `path` (starting with `/`). */
  put(path: string, bytes: Buffer, contentType = "application/json"): void {
    this.blobs.set(path, {
      bytes,
      contentType,
      etag: `"0x8D${randomBytes(7).toString("hex").toUpperCase()}"`,
      lastModified: new Date().toUTCString(),
    });
  }

  /** A fresh SAS URL for a stored blob, valid for `ttlSeconds`. */
  sasUrl(path: string, ttlSeconds = 3600): string {
    const sig = randomBytes(32).toString("base64");
    this.sigs.set(sig, path);
    const st = new Date(Date.now() - 300_000).toISOString().replace(/\.\d+Z$/, "Z");
    const se = new Date(Date.now() + ttlSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const q = `sv=2015-04-05&sr=b&sig=${encodeURIComponent(sig)}&st=${st}&se=${se}&sp=r`;
    return `${this.baseUrl}${path}?${q}`;
  }

  private get(req: LoggedRequest, url: URL): Reply {
    if (req.headers.authorization !== undefined) {
      return storageError(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        "Only one authentication method is allowed: the request carries both a SAS token and an Authorization header.",
      );
    }
    const sig = url.searchParams.get("sig");
    const se = url.searchParams.get("se");
    if (!sig || this.sigs.get(sig) !== req.path) {
      return storageError(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        "Signature did not match.",
      );
    }
    if (se && new Date(se) < new Date()) {
      return storageError(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request.",
        "Signed expiry time has to be after signed start time.",
      );
    }
    const blob = this.blobs.get(req.path);
    if (!blob) return storageError(404, "BlobNotFound", "The specified blob does not exist.");
    return {
      status: 200,
      headers: {
        "content-type": blob.contentType,
        "content-md5": createHash("md5").update(blob.bytes).digest("base64"),
        "last-modified": blob.lastModified,
        etag: blob.etag,
        "accept-ranges": "bytes",
        "x-ms-request-id": randomUUID(),
        "x-ms-version": "2015-04-05",
        "x-ms-blob-type": "BlockBlob",
        "x-ms-lease-status": "unlocked",
        "x-ms-server-encrypted": "true",
        server: "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
      },
      body: blob.bytes,
    };
  }
}

function storageError(status: number, code: string, message: string, detail?: string): Reply {
  const body =
    '\uFEFF<?xml version="1.0" encoding="utf-8"?><Error>' +
    `<Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message>` +
    (detail ? `<AuthenticationErrorDetail>${detail}</AuthenticationErrorDetail>` : "") +
    "</Error>";
  return {
    status,
    headers: {
      "content-type": "application/xml",
      "x-ms-error-code": code,
      server: "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
    },
    body,
  };
}
