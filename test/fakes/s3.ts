// An S3-compatible store for tests: s3rver in a child process, behind a proxy in the test process that logs
// requests, injects faults and fills s3rver's gaps: aws-chunked request bodies (the SDK streams with them; s3rver
// would store the framing), `If-None-Match: *` on PutObject/CompleteMultipartUpload (412), AbortMultipartUpload,
// ListMultipartUploads, part checks on Complete (InvalidPart, InvalidPartOrder, EntityTooSmall), and atomic
// PutObject (a body that never completes stores nothing). s3rver does not verify SigV4; only the access key id.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform, pipeline } from "node:stream";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Fault, Reply } from "./server.js";

export type S3Op =
  | "ListBuckets" | "CreateBucket" | "HeadBucket" | "DeleteBucket" | "ListObjects" | "ListObjectsV2"
  | "ListMultipartUploads" | "DeleteObjects" | "GetObject" | "HeadObject" | "PutObject" | "CopyObject"
  | "DeleteObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "AbortMultipartUpload"
  | "ListParts" | "Other";

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
export interface OpenUpload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: string;
}

export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
const LAUNCHER = fileURLToPath(new URL("./s3rver-launcher.mjs", import.meta.url));
const MIN_PART = 5 * 1024 * 1024;
const DEFAULT_MESSAGES: Record<number, [string, string]> = {
  400: ["InvalidRequest", "Invalid Request"],
  403: ["AccessDenied", "Access Denied"],
  404: ["NoSuchKey", "The specified key does not exist."],
  409: ["OperationAborted", "A conflicting conditional operation is currently in progress against this resource."],
  412: ["PreconditionFailed", "At least one of the pre-conditions you specified did not hold"],
  500: ["InternalError", "We encountered an internal error. Please try again."],
  503: ["SlowDown", "Please reduce your request rate."],
};
const esc = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const requestId = () => randomBytes(8).toString("hex").toUpperCase();

/** S3's XML error document. */
export function s3ErrorXml(code: string, message: string, extra: Record<string, string | undefined> = {}): string {
  const fields = Object.entries(extra).map(([k, v]) => (v === undefined ? "" : `<${k}>${esc(v)}</${k}>`));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${esc(message)}</Message>${fields.join("")}<RequestId>${requestId()}</RequestId><HostId>${randomBytes(24).toString("base64")}</HostId></Error>`;
}

function classify(method: string, bucket: string | undefined, key: string, q: Record<string, string>): S3Op {
  if (!bucket) return method === "GET" ? "ListBuckets" : "Other";
  const has = (p: string) => p in q;
  if (!key) {
    if (method === "GET") return has("uploads") ? "ListMultipartUploads" : q["list-type"] === "2" ? "ListObjectsV2" : Object.keys(q).length ? "Other" : "ListObjects";
    if (method === "POST") return has("delete") ? "DeleteObjects" : "Other";
    return method === "PUT" && !Object.keys(q).length ? "CreateBucket" : method === "HEAD" ? "HeadBucket" : method === "DELETE" ? "DeleteBucket" : "Other";
  }
  if (method === "GET") return has("uploadId") ? "ListParts" : "GetObject";
  if (method === "HEAD") return "HeadObject";
  if (method === "POST") return has("uploads") ? "CreateMultipartUpload" : has("uploadId") ? "CompleteMultipartUpload" : "Other";
  if (method === "DELETE") return has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  if (method === "PUT") return has("uploadId") ? "UploadPart" : Object.keys(q).length - (has("x-id") ? 1 : 0) > 0 ? "Other" : "PutObject";
  return "Other";
}

/** Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>\r\n\r\n`). */
class AwsChunkedDecoder extends Transform {
  private buf = Buffer.alloc(0);
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

const isChunked = (h: http.IncomingHttpHeaders) =>
  /aws-chunked/.test(h["content-encoding"] ?? "") || String(h["x-amz-content-sha256"] ?? "").startsWith("STREAMING-");

/** The headers to send upstream: aws-chunked framing removed, a known length when the body is buffered. */
function upstreamHeaders(h: http.IncomingHttpHeaders, length?: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...h };
  delete out.expect;
  if (isChunked(h)) {
    const enc = (h["content-encoding"] ?? "").split(",").map((e) => e.trim()).filter((e) => e && e !== "aws-chunked");
    if (enc.length) out["content-encoding"] = enc.join(",");
    else delete out["content-encoding"];
    for (const k of ["transfer-encoding", "x-amz-trailer", "x-amz-decoded-content-length"]) delete out[k];
    out["content-length"] = h["x-amz-decoded-content-length"];
    out["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  }
  if (length !== undefined) {
    out["content-length"] = String(length);
    delete out["transfer-encoding"];
  }
  return out;
}

function bodyOf(req: http.IncomingMessage): Readable {
  if (!isChunked(req.headers)) return req;
  const dec = new AwsChunkedDecoder();
  pipeline(req, dec, () => {});
  return dec;
}
async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

type Cut = Extract<Fault, { afterBytes: number }>;
interface UploadState extends OpenUpload {
  state: "open" | "completed" | "aborted";
  parts: Map<number, { etag: string; size: number }>;
}

export class S3Proxy {
  readonly requests: S3Request[] = [];
  endpoint = "";
  private readonly faults: { match: S3Match; fault: S3Fault; times: number }[] = [];
  private readonly denies: { method?: string; keyPrefix?: string; bucket?: string }[] = [];
  private readonly uploads = new Map<string, UploadState>();
  private readonly locks = new Map<string, Promise<void>>();
  private readonly sockets = new Set<Socket>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(
    private readonly upstreamPort: number,
    private readonly dataDir: string,
  ) {
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Injects a fault into the next `times` matching requests (default 1). */
  fault(match: S3Match, fault: S3Fault, times = 1): this {
    this.faults.push({ match, fault, times });
    return this;
  }
  clearFaults(): this {
    this.faults.length = 0;
    return this;
  }
  /** Until allowAll(): 403 AccessDenied for matching requests (all, or one method, or keys under a prefix). */
  denyAccess(opts: { method?: string; keyPrefix?: string; bucket?: string } = {}): this {
    this.denies.push(opts);
    return this;
  }
  allowAll(): this {
    this.denies.length = 0;
    return this;
  }
  /** Multipart uploads created through the proxy and neither completed nor aborted. */
  openUploads(): OpenUpload[] {
    return [...this.uploads.values()]
      .filter((u) => u.state === "open")
      .map(({ bucket, key, uploadId, initiated }) => ({ bucket, key, uploadId, initiated }));
  }
  requestsFor(op: S3Op): S3Request[] {
    return this.requests.filter((r) => r.op === op);
  }

  private matches(m: S3Match, r: S3Request, rawQuery: string): boolean {
    const test = (p: string | RegExp | undefined, v: string | undefined) =>
      p === undefined || (typeof p === "string" ? p === v : p.test(v ?? ""));
    return (
      (!m.method || m.method.toUpperCase() === r.method) && test(m.path, r.path) && test(m.bucket, r.bucket) &&
      test(m.key, r.key) && (!m.op || [m.op].flat().includes(r.op)) &&
      (m.query === undefined || (typeof m.query === "string" ? m.query in r.query : m.query.test(rawQuery)))
    );
  }

  private takeFault(r: S3Request, rawQuery: string): S3Fault | undefined {
    const i = this.faults.findIndex((f) => this.matches(f.match, r, rawQuery));
    if (i < 0) return undefined;
    const rule = this.faults[i]!;
    if (--rule.times <= 0) this.faults.splice(i, 1);
    return rule.fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://s3");
    const [, b = "", ...k] = url.pathname.split("/");
    const bucket = b ? decodeURIComponent(b) : undefined;
    const key = decodeURIComponent(k.join("/"));
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? "GET";
    const r: S3Request = { op: classify(method, bucket, key, query), method, path: url.pathname, query, headers: req.headers, at: Date.now() };
    if (bucket) r.bucket = bucket;
    if (key) r.key = key;
    this.requests.push(r);
    res.on("finish", () => (r.status = res.statusCode));
    const error = (status: number, code: string, message: string, extra: Record<string, string | undefined> = {}) =>
      this.sendError(req, res, status, code, message, { BucketName: bucket, Key: key || undefined, ...extra });
    try {
      const deny = this.denies.find(
        (d) => (!d.method || d.method.toUpperCase() === method) && (!d.bucket || d.bucket === bucket) &&
          (d.keyPrefix === undefined || (key !== "" && key.startsWith(d.keyPrefix))),
      );
      if (deny) return await error(403, "AccessDenied", "Access Denied");
      const fault = this.takeFault(r, url.search);
      let cut: Cut | undefined;
      switch (fault?.kind) {
        case undefined:
          break;
        case "s3Error":
          return await error(fault.status, fault.code, fault.message ?? DEFAULT_MESSAGES[fault.status]?.[1] ?? fault.code);
        case "status": {
          if (fault.body !== undefined) return await this.reply(req, res, { status: fault.status, headers: fault.headers, body: fault.body });
          const [code, message] = DEFAULT_MESSAGES[fault.status] ?? ["Error", `HTTP ${fault.status}`];
          return await error(fault.status, key || fault.status !== 404 ? code : "NoSuchBucket", message);
        }
        case "html200":
          return await this.reply(req, res, { status: 200, headers: { "content-type": "text/html" }, body: "<html><body><h1>503 Service Unavailable</h1></body></html>" });
        case "invalidJson":
          return await this.reply(req, res, { status: 200, headers: { "content-type": "application/json" }, body: '{"x": ' });
        case "replace":
          return await this.reply(req, res, fault.reply);
        case "delay":
          await new Promise((resolve) => setTimeout(resolve, fault.ms));
          break;
        default:
          if (fault.afterBytes === 0 && fault.kind === "reset") {
            await readAll(req).catch(() => undefined);
            return void req.socket.destroy();
          }
          cut = fault;
      }
      await this.dispatch(req, res, r, url, cut, error);
    } catch (err) {
      if (!res.headersSent) await error(500, "InternalError", `fake S3 proxy: ${(err as Error).message}`).catch(() => undefined);
      else res.destroy();
    }
  }

  private async dispatch(
    req: http.IncomingMessage, res: http.ServerResponse, r: S3Request, url: URL, cut: Cut | undefined,
    error: (status: number, code: string, message: string, extra?: Record<string, string | undefined>) => Promise<void>,
  ): Promise<void> {
    const upload = r.query.uploadId !== undefined ? this.uploads.get(r.query.uploadId) : undefined;
    const noSuchUpload = () => error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", { UploadId: r.query.uploadId });
    const conditional = req.headers["if-none-match"] === "*";
    const lockKey = `${r.bucket}/${r.key}`;
    switch (r.op) {
      case "ListMultipartUploads":
        return this.listUploads(req, res, r, cut, error);
      case "AbortMultipartUpload":
        await readAll(req);
        if (upload?.state !== "open" || upload.bucket !== r.bucket || upload.key !== r.key) return noSuchUpload();
        upload.state = "aborted";
        rmSync(join(this.dataDir, r.bucket!, "._S3rver_uploads", upload.uploadId), { recursive: true, force: true });
        return this.reply(req, res, { status: 204, headers: { "x-amz-request-id": requestId() } });
      case "UploadPart": {
        if (upload?.state !== "open") return readAll(req).then(noSuchUpload);
        const up = await this.forward(req, url, upstreamHeaders(req.headers), bodyOf(req));
        const size = Number(req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"] ?? 0);
        if (up.statusCode === 200) upload.parts.set(Number(r.query.partNumber), { etag: String(up.headers.etag), size });
        return this.pipeBack(up, res, cut);
      }
      case "CreateMultipartUpload": {
        const up = await this.forward(req, url, upstreamHeaders(req.headers), req);
        const body = await readAll(up);
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString())?.[1];
        if (up.statusCode === 200 && id) {
          const initiated = new Date().toISOString();
          this.uploads.set(id, { bucket: r.bucket!, key: r.key!, uploadId: id, initiated, state: "open", parts: new Map() });
        }
        return this.reply(req, res, { status: up.statusCode, headers: up.headers as Reply["headers"], body }, cut);
      }
      case "PutObject":
      case "CompleteMultipartUpload": {
        // Buffered, so that a body that never completes stores nothing; serialised per key for If-None-Match.
        const body = await readAll(bodyOf(req));
        if (r.op === "CompleteMultipartUpload") {
          if (upload?.state !== "open") return noSuchUpload();
          const bad = this.checkParts(upload, body.toString());
          if (bad) return error(400, bad[0], bad[1]);
        }
        return this.withLock(lockKey, async () => {
          if (conditional && (await this.exists(url.pathname))) {
            return error(412, "PreconditionFailed", DEFAULT_MESSAGES[412]![1], { Condition: "If-None-Match" });
          }
          const headers = upstreamHeaders(req.headers, body.length);
          delete headers["if-none-match"];
          const up = await this.forward(req, url, headers, body);
          if (upload && up.statusCode === 200) upload.state = "completed";
          return this.pipeBack(up, res, cut);
        });
      }
      default: {
        const up = await this.forward(req, url, upstreamHeaders(req.headers), bodyOf(req));
        return this.pipeBack(up, res, cut);
      }
    }
  }

  /** What S3 checks on Complete that s3rver does not: known parts with matching ETags, ascending, ≥ 5 MiB but the last. */
  private checkParts(u: UploadState, xml: string): [string, string] | undefined {
    const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      n: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]),
      etag: /<ETag>([^<]*)<\/ETag>/.exec(m[1]!)?.[1]?.replace(/&quot;|"/g, ""),
    }));
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const known = u.parts.get(p.n);
      if (!known || known.etag.replace(/"/g, "") !== p.etag) return ["InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."];
      if (i > 0 && p.n <= parts[i - 1]!.n) return ["InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number."];
      if (i < parts.length - 1 && known.size < MIN_PART) return ["EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size."];
    }
    return undefined;
  }

  private async listUploads(
    req: http.IncomingMessage, res: http.ServerResponse, r: S3Request, cut: Cut | undefined,
    error: (status: number, code: string, message: string) => Promise<void>,
  ): Promise<void> {
    await readAll(req);
    if (!(await this.exists(`/${encodeURIComponent(r.bucket!)}`))) return error(404, "NoSuchBucket", "The specified bucket does not exist");
    const q = r.query;
    const prefix = q.prefix ?? "";
    const max = Math.min(Number(q["max-uploads"] ?? 1000), 1000);
    const [km, um] = [q["key-marker"] ?? "", q["upload-id-marker"] ?? ""];
    const all = this.openUploads()
      .filter((u) => u.bucket === r.bucket && u.key.startsWith(prefix))
      .filter((u) => u.key > km || (u.key === km && um !== "" && u.uploadId > um))
      .sort((a, b) => (a.key === b.key ? (a.uploadId < b.uploadId ? -1 : 1) : a.key < b.key ? -1 : 1));
    const page = all.slice(0, max);
    const last = page[page.length - 1];
    const owner = "<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>S3rver</DisplayName>";
    const items = page.map((u) => `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiator>${owner}</Initiator><Owner>${owner}</Owner><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated}</Initiated></Upload>`);
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${esc(r.bucket!)}</Bucket><KeyMarker>${esc(km)}</KeyMarker><UploadIdMarker>${esc(um)}</UploadIdMarker>` +
      `<NextKeyMarker>${esc(last?.key ?? "")}</NextKeyMarker><NextUploadIdMarker>${last?.uploadId ?? ""}</NextUploadIdMarker><Prefix>${esc(prefix)}</Prefix>` +
      `<MaxUploads>${max}</MaxUploads><IsTruncated>${all.length > max}</IsTruncated>${items.join("")}</ListMultipartUploadsResult>`;
    return this.reply(req, res, { status: 200, headers: { "content-type": "application/xml" }, body: xml }, cut);
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const chain = prev.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.locks.set(key, chain);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(key) === chain) this.locks.delete(key);
    }
  }

  /** HEAD against s3rver, unsigned (s3rver accepts anonymous requests). */
  private exists(path: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const up = http.request({ host: "127.0.0.1", port: this.upstreamPort, method: "HEAD", path, agent: this.agent }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      up.on("error", reject).end();
    });
  }

  private forward(req: http.IncomingMessage, url: URL, headers: http.OutgoingHttpHeaders, body: Buffer | Readable): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const path = url.pathname + url.search;
      const up = http.request({ host: "127.0.0.1", port: this.upstreamPort, method: req.method, path, headers, agent: this.agent }, resolve);
      up.on("error", reject);
      if (Buffer.isBuffer(body)) up.end(body);
      else pipeline(body, up, (err) => err && up.destroy(err));
    });
  }

  private pipeBack(up: http.IncomingMessage, res: http.ServerResponse, cut?: Cut): Promise<void> {
    const headers = { ...up.headers };
    for (const h of ["connection", "keep-alive", "transfer-encoding"]) delete headers[h];
    return this.reply(res.req, res, { status: up.statusCode, headers: headers as Reply["headers"], body: up }, cut);
  }

  private async sendError(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string | undefined>): Promise<void> {
    if (!req.complete) await readAll(req).catch(() => undefined);
    const body = req.method === "HEAD" ? "" : s3ErrorXml(code, message, extra);
    await this.reply(req, res, { status, headers: { "content-type": "application/xml", "x-amz-request-id": requestId() }, body });
  }

  /** Answers `reply` after the request body is consumed; a cut fault ends, resets or stalls it after N bytes. */
  private async reply(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply, cut?: Cut): Promise<void> {
    if (!req.complete && req.readable) await readAll(req).catch(() => undefined);
    const body = reply.body ?? "";
    const headers: Record<string, string | number | string[]> = { ...reply.headers };
    if (typeof body === "string" || Buffer.isBuffer(body)) headers["content-length"] = Buffer.byteLength(body);
    res.writeHead(reply.status ?? 200, headers);
    let sent = 0;
    const chunks: AsyncIterable<Buffer> | Buffer[] = typeof body === "string" || Buffer.isBuffer(body) ? [Buffer.from(body)] : body;
    for await (const chunk of chunks) {
      if (cut && sent + chunk.length >= cut.afterBytes) {
        res.write(chunk.subarray(0, cut.afterBytes - sent));
        if (cut.kind === "stall") await new Promise((resolve) => setTimeout(resolve, cut.ms ?? 3_600_000).unref());
        if (cut.kind === "truncate") res.socket?.end();
        return void res.destroy();
      }
      sent += chunk.length;
      if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
    }
    res.end();
  }
}
