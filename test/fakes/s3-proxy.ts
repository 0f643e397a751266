// The fake S3's proxy (see test/fakes/s3.ts): forwards to s3rver, logs, injects faults, and implements what
// s3rver lacks: conditional writes, AbortMultipartUpload, ListMultipartUploads, part checks, atomic PutObject.
import { rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { Readable, pipeline } from "node:stream";
import type { Fault, Reply } from "./server.js";
import {
  DEFAULT_MESSAGES,
  HTML_200,
  bodyOf,
  checkParts,
  classify,
  drain,
  listUploadsXml,
  readAll,
  requestId,
  s3ErrorXml,
  upstreamHeaders,
  write,
  type OpenUpload,
  type S3Fault,
  type S3Op,
  type S3Match,
  type S3Request,
  type UploadPart,
} from "./s3-wire.js";

type Cut = Extract<Fault, { afterBytes: number }>;
/** Answers the request with an S3 XML error (bucket and key filled in). */
type SendError = (
  status: number,
  code: string,
  message: string,
  extra?: Record<string, string | undefined>,
) => Promise<void>;
interface UploadState extends OpenUpload {
  state: "open" | "completed" | "aborted";
  parts: Map<number, UploadPart>;
}

export class S3Proxy {
  readonly requests: S3Request[] = [];
  endpoint = "";
  private readonly faults: { match: S3Match; fault: S3Fault; times: number }[] = [];
  private readonly denies: { method?: string; keyPrefix?: string; bucket?: string }[] = [];
  /** Buckets that "live" in another region than us-east-1, and how S3 answers a request signed for another. */
  private readonly placed = new Map<string, { region: string; endpoint: "regional" | "global" }>();
  private readonly uploads = new Map<string, UploadState>();
  private readonly locks = new Map<string, Promise<void>>();
  /** Keys with a conditional write in progress: S3 answers a second one 409 ConditionalRequestConflict. */
  private readonly conditionalInFlight = new Set<string>();
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
  /**
   * Makes `bucket` live in `region`. A request whose SigV4 credential scope names another region gets S3's answer:
   * at a regional endpoint 301 PermanentRedirect (XML with Bucket and Endpoint; HEAD: no body) with
   * `x-amz-bucket-region`; at the global endpoint (`s3.amazonaws.com`) 400 AuthorizationHeaderMalformed with
   * `<Region>`, where only HeadBucket also carries the header.
   */
  placeBucket(bucket: string, region: string, endpoint: "regional" | "global" = "regional"): this {
    this.placed.set(bucket, { region, endpoint });
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
      (!m.method || m.method.toUpperCase() === r.method) &&
      test(m.path, r.path) &&
      test(m.bucket, r.bucket) &&
      test(m.key, r.key) &&
      (!m.op || [m.op].flat().includes(r.op)) &&
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
    const r: S3Request = {
      op: classify(method, bucket, key, query),
      method,
      path: url.pathname,
      query,
      headers: req.headers,
      at: Date.now(),
    };
    if (bucket) r.bucket = bucket;
    if (key) r.key = key;
    this.requests.push(r);
    res.on("finish", () => (r.status = res.statusCode));
    const error = (
      status: number,
      code: string,
      message: string,
      extra: Record<string, string | undefined> = {},
    ) =>
      this.sendError(req, res, status, code, message, {
        BucketName: bucket,
        Key: key || undefined,
        ...extra,
      });
    try {
      const wrongRegion = this.wrongRegion(r);
      if (wrongRegion) return await wrongRegion(req, res);
      const deny = this.denies.find(
        (d) =>
          (!d.method || d.method.toUpperCase() === method) &&
          (!d.bucket || d.bucket === bucket) &&
          (d.keyPrefix === undefined || (key !== "" && key.startsWith(d.keyPrefix))),
      );
      if (deny) return await error(403, "AccessDenied", "Access Denied");
      const fault = this.takeFault(r, url.search);
      let cut: Cut | undefined;
      if (fault)
        switch (fault.kind) {
          case "s3Error":
            return await error(
              fault.status,
              fault.code,
              fault.message ?? DEFAULT_MESSAGES[fault.status]?.[1] ?? fault.code,
            );
          case "status": {
            if (fault.body !== undefined)
              return await drain(req).then(() =>
                this.reply(res, { status: fault.status, headers: fault.headers, body: fault.body }),
              );
            const [code, message] = DEFAULT_MESSAGES[fault.status] ?? ["Error", `HTTP ${fault.status}`];
            return await error(fault.status, key || fault.status !== 404 ? code : "NoSuchBucket", message);
          }
          case "html200":
          case "invalidJson":
          case "replace":
            await drain(req);
            return await this.reply(
              res,
              fault.kind === "replace"
                ? fault.reply
                : fault.kind === "html200"
                  ? HTML_200
                  : { body: '{"x": ' },
            );
          case "delay":
            await new Promise((resolve) => setTimeout(resolve, fault.ms));
            break;
          case "badUtf8":
            throw new Error("badUtf8 is a fault of the fake clouds' JSON bodies, not of S3");
          default:
            if (fault.afterBytes === 0 && fault.kind === "reset")
              return void (await drain(req), req.socket.destroy());
            cut = fault;
        }
      await this.dispatch(req, res, r, url, cut, error);
    } catch (err) {
      if (!res.headersSent)
        await error(500, "InternalError", `fake S3 proxy: ${(err as Error).message}`).catch(() => undefined);
      else res.destroy();
    }
  }

  private async dispatch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: S3Request,
    url: URL,
    cut: Cut | undefined,
    error: SendError,
  ): Promise<void> {
    const upload = r.query.uploadId !== undefined ? this.uploads.get(r.query.uploadId) : undefined;
    const noSuchUpload = () =>
      error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        { UploadId: r.query.uploadId },
      );
    const conditional = req.headers["if-none-match"] === "*";
    const ifMatch = req.headers["if-match"];
    const lockKey = `${r.bucket}/${r.key}`;
    switch (r.op) {
      case "ListMultipartUploads":
        return this.listUploads(req, res, r, cut, error);
      case "AbortMultipartUpload":
        await readAll(req);
        if (upload?.state !== "open" || upload.bucket !== r.bucket || upload.key !== r.key)
          return noSuchUpload();
        upload.state = "aborted";
        rmSync(join(this.dataDir, r.bucket!, "._S3rver_uploads", upload.uploadId), {
          recursive: true,
          force: true,
        });
        return this.reply(res, { status: 204, headers: { "x-amz-request-id": requestId() } });
      case "UploadPart": {
        if (upload?.state !== "open") return readAll(req).then(noSuchUpload);
        const up = await this.forward(req, url, upstreamHeaders(req.headers), bodyOf(req));
        const size = Number(
          req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"] ?? 0,
        );
        if (up.statusCode === 200)
          upload.parts.set(Number(r.query.partNumber), { etag: String(up.headers.etag), size });
        return this.pipeBack(up, res, cut);
      }
      case "CreateMultipartUpload": {
        const up = await this.forward(req, url, upstreamHeaders(req.headers), req);
        const body = await readAll(up);
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString())?.[1];
        if (up.statusCode === 200 && id) {
          const initiated = new Date().toISOString();
          this.uploads.set(id, {
            bucket: r.bucket!,
            key: r.key!,
            uploadId: id,
            initiated,
            state: "open",
            parts: new Map(),
          });
        }
        return this.reply(res, { status: up.statusCode, headers: hopless(up.headers), body }, cut);
      }
      case "PutObject":
      case "CompleteMultipartUpload": {
        // Real S3 refuses a conditional write while another one on the same key is in progress (from its first
        // byte until it is stored): 409 ConditionalRequestConflict, to be retried (a multipart upload: anew).
        if (
          (conditional && this.conditionalInFlight.has(lockKey)) ||
          (ifMatch !== undefined && this.locks.has(lockKey))
        ) {
          const [code, message] = DEFAULT_MESSAGES[409]!;
          return error(409, code, message);
        }
        if (conditional) this.conditionalInFlight.add(lockKey);
        try {
          return await this.conditionalWrite(
            req,
            res,
            r,
            url,
            cut,
            upload,
            conditional,
            ifMatch,
            lockKey,
            error,
            noSuchUpload,
          );
        } finally {
          if (conditional) this.conditionalInFlight.delete(lockKey);
        }
      }
      case "GetObject":
      case "HeadObject":
        // S3 reads are strongly consistent: the old object or the new one, never an error. s3rver replaces a file
        // in place and fails a read that meets the write, so a read waits for writes to the key in flight.
        await this.locks.get(lockKey);
        return this.pipeBack(
          await this.forward(req, url, upstreamHeaders(req.headers), bodyOf(req)),
          res,
          cut,
        );
      default: {
        const up = await this.forward(req, url, upstreamHeaders(req.headers), bodyOf(req));
        if (r.op === "HeadBucket" && up.statusCode === 200)
          up.headers["x-amz-bucket-region"] = this.placed.get(r.bucket!)?.region ?? "us-east-1";
        return this.pipeBack(up, res, cut);
      }
    }
  }

  private async conditionalWrite(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: S3Request,
    url: URL,
    cut: Cut | undefined,
    upload: UploadState | undefined,
    conditional: boolean,
    ifMatch: string | string[] | undefined,
    lockKey: string,
    error: SendError,
    noSuchUpload: () => Promise<void>,
  ): Promise<void> {
    // Buffered, so that a body that never completes stores nothing; serialised per key for If-None-Match.
    const body = await readAll(bodyOf(req));
    if (r.op === "CompleteMultipartUpload") {
      if (upload?.state !== "open") return noSuchUpload();
      const bad = checkParts(upload.parts, body.toString());
      if (bad) return error(400, bad[0], bad[1]);
    }
    return this.withLock(lockKey, async () => {
      if (conditional && (await this.exists(url.pathname))) {
        return error(412, "PreconditionFailed", DEFAULT_MESSAGES[412]![1], {
          Condition: "If-None-Match",
        });
      }
      if (ifMatch !== undefined) {
        // If-Match on a key that is gone: 404 NoSuchKey; on another ETag: 412 (S3 user guide, conditional writes).
        const etag = await this.etagOf(url.pathname);
        if (etag === undefined) return error(404, "NoSuchKey", "The specified key does not exist.");
        if (unquote(etag) !== unquote(ifMatch))
          return error(412, "PreconditionFailed", DEFAULT_MESSAGES[412]![1], { Condition: "If-Match" });
      }
      const headers = upstreamHeaders(req.headers, body.length);
      delete headers["if-none-match"];
      delete headers["if-match"];
      const up = await this.forward(req, url, headers, body);
      if (upload && up.statusCode === 200) upload.state = "completed";
      return this.pipeBack(up, res, cut);
    });
  }

  /** S3's answer to a request signed for another region than its bucket's, if it is one. */
  private wrongRegion(
    r: S3Request,
  ): ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) | undefined {
    const home = r.bucket ? this.placed.get(r.bucket) : undefined;
    const signedFor = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(
      String(r.headers.authorization ?? ""),
    )?.[1];
    if (!home || !signedFor || signedFor === home.region) return undefined;
    const regional = home.endpoint === "regional";
    const headers: Record<string, string> = {
      "content-type": "application/xml",
      "x-amz-request-id": requestId(),
      ...(regional || r.op === "HeadBucket" ? { "x-amz-bucket-region": home.region } : {}),
    };
    const body = regional
      ? s3ErrorXml(
          "PermanentRedirect",
          "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
          { Bucket: r.bucket, Endpoint: `${r.bucket}.s3.${home.region}.amazonaws.com` },
        )
      : s3ErrorXml(
          "AuthorizationHeaderMalformed",
          `The authorization header is malformed; the region '${signedFor}' is wrong; expecting '${home.region}'`,
          { Region: home.region },
        );
    return async (req, res) => {
      await drain(req);
      await this.reply(res, {
        status: regional ? 301 : 400,
        headers,
        body: req.method === "HEAD" ? "" : body,
      });
    };
  }

  private async listUploads(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: S3Request,
    cut: Cut | undefined,
    error: (status: number, code: string, message: string) => Promise<void>,
  ): Promise<void> {
    await readAll(req);
    if (!(await this.exists(`/${encodeURIComponent(r.bucket!)}`)))
      return error(404, "NoSuchBucket", "The specified bucket does not exist");
    const xml = listUploadsXml(r.bucket!, this.openUploads(), r.query);
    return this.reply(res, { status: 200, headers: { "content-type": "application/xml" }, body: xml }, cut);
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
  private async exists(path: string): Promise<boolean> {
    return (await this.head(path)).statusCode === 200;
  }

  /** The object's ETag as s3rver serves it (quoted MD5), or undefined when there is no such object. */
  private async etagOf(path: string): Promise<string | undefined> {
    const res = await this.head(path);
    return res.statusCode === 200 ? String(res.headers.etag) : undefined;
  }

  private head(path: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const up = http.request(
        { host: "127.0.0.1", port: this.upstreamPort, method: "HEAD", path, agent: this.agent },
        (res) => {
          res.resume();
          resolve(res);
        },
      );
      up.on("error", reject).end();
    });
  }

  private forward(
    req: http.IncomingMessage,
    url: URL,
    headers: http.OutgoingHttpHeaders,
    body: Buffer | Readable,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const path = url.pathname + url.search;
      const up = http.request(
        { host: "127.0.0.1", port: this.upstreamPort, method: req.method, path, headers, agent: this.agent },
        resolve,
      );
      up.on("error", reject);
      if (Buffer.isBuffer(body)) up.end(body);
      else pipeline(body, up, (err) => err && up.destroy(err));
    });
  }

  private pipeBack(up: http.IncomingMessage, res: http.ServerResponse, cut?: Cut): Promise<void> {
    return this.reply(res, { status: up.statusCode, headers: hopless(up.headers), body: up }, cut);
  }

  private async sendError(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    code: string,
    message: string,
    extra: Record<string, string | undefined>,
  ): Promise<void> {
    await drain(req);
    const body = req.method === "HEAD" ? "" : s3ErrorXml(code, message, extra);
    await this.reply(res, {
      status,
      headers: { "content-type": "application/xml", "x-amz-request-id": requestId() },
      body,
    });
  }

  /** Sends `reply`; a cut fault ends, resets or stalls the body after `afterBytes`. */
  private async reply(res: http.ServerResponse, reply: Reply, cut?: Cut): Promise<void> {
    const body = reply.body ?? "";
    const headers: Record<string, string | number | string[]> = { ...reply.headers };
    if (typeof body === "string" || Buffer.isBuffer(body))
      headers["content-length"] = Buffer.byteLength(body);
    res.writeHead(reply.status ?? 200, headers);
    let sent = 0;
    const chunks: AsyncIterable<Buffer> | Buffer[] =
      typeof body === "string" || Buffer.isBuffer(body) ? [Buffer.from(body)] : body;
    for await (const chunk of chunks) {
      if (cut && sent + chunk.length >= cut.afterBytes) {
        res.write(chunk.subarray(0, cut.afterBytes - sent));
        if (cut.kind === "stall")
          await new Promise((resolve) => {
            setTimeout(resolve, cut.ms ?? 3_600_000).unref();
            res.once("close", resolve);
          });
        if (cut.kind === "truncate") res.socket?.end();
        res.destroy();
        break;
      }
      sent += chunk.length;
      if (!(await write(res, chunk))) break;
    }
    if (res.destroyed && body instanceof Readable) body.destroy();
    else res.end();
  }
}

/** ETags compare without their quotes: clients send them either way. */
function unquote(etag: string | string[]): string {
  return String(etag).replace(/^(W\/)?"|"$/g, "");
}

/** Upstream response headers minus hop-by-hop ones (the proxy frames its own response). */
function hopless(h: http.IncomingHttpHeaders): Reply["headers"] {
  const out = { ...h };
  for (const k of ["connection", "keep-alive", "transfer-encoding", "content-length"]) delete out[k];
  if (h["content-length"] !== undefined && !h["transfer-encoding"])
    out["content-length"] = h["content-length"];
  return out as Reply["headers"];
}
