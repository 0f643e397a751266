// An S3-compatible store for tests: s3rver in a child process, behind a proxy in the test process that logs
// requests, injects faults and fills s3rver's gaps: aws-chunked request bodies (the SDK streams with them; s3rver
// would store the framing), `If-None-Match: *` on PutObject/CompleteMultipartUpload (412), `If-Match: <etag>` (412 on
// another ETag, 404 NoSuchKey when absent, 409 ConditionalRequestConflict while another write is in flight), AbortMultipartUpload,
// ListMultipartUploads, part checks on Complete (InvalidPart, InvalidPartOrder, EntityTooSmall), and atomic
// PutObject (a body that never completes stores nothing). s3rver does not verify SigV4; only the access key id.
//
// Files: s3.ts (this: start/stop), s3-proxy.ts (the proxy), s3-wire.ts (S3 wire details), s3rver-launcher.mjs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, utimesSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3Proxy } from "./s3-proxy.js";

export { S3Proxy } from "./s3-proxy.js";
export {
  s3ErrorXml,
  type OpenUpload,
  type S3Fault,
  type S3Match,
  type S3Op,
  type S3Request,
} from "./s3-wire.js";

/** s3rver checks only that the access key id is registered; it has this one pair. SigV4 signatures are not verified. */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
const LAUNCHER = fileURLToPath(new URL("./s3rver-launcher.mjs", import.meta.url));

export interface FakeS3 {
  /** The proxy's URL: give it to the code under test (AWS_ENDPOINT_URL_S3), with path-style addressing. */
  endpoint: string;
  bucket: string;
  region: "us-east-1";
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The environment that points the crawler at it: endpoint, path-style addressing, credentials. */
  env: Record<string, string>;
  /** An SDK client through the proxy (logged, faults apply). */
  client: S3Client;
  proxy: S3Proxy;
  /** s3rver's own endpoint, bypassing the proxy. */
  upstream: string;
  /** s3rver's temporary data directory (removed by stop()). */
  dataDir: string;
  /** Helpers that go straight to s3rver: not logged, no faults. */
  listKeys(prefix?: string): Promise<string[]>;
  getObject(key: string): Promise<Buffer>;
  putObject(key: string, body: Buffer | string): Promise<void>;
  /** Sets an object's LastModified (s3rver reports its file's mtime), e.g. to age an object for a test. */
  setModified(key: string, at: Date): void;
  stop(): Promise<void>;
}

/** Starts s3rver (child process, temp dir) with `buckets` (default ["lake"]) and the proxy in front of it. */
export async function startS3(opts: { buckets?: string[] } = {}): Promise<FakeS3> {
  const buckets = opts.buckets ?? ["lake"];
  const dir = mkdtempSync(join(tmpdir(), "contrail-s3-"));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ["--openssl-legacy-provider", LAUNCHER, dir, ...buckets], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const cleanup = () => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", cleanup);
  let port: number;
  try {
    port = await childPort(child);
    await waitAnswering(port);
  } catch (err) {
    process.off("exit", cleanup);
    cleanup();
    throw err;
  }
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as Socket | null)?.unref?.();
  child.unref();
  const upstream = `http://127.0.0.1:${port}`;
  const proxy = new S3Proxy(port, dir);
  const endpoint = await proxy.listen();
  const credentials = { ...S3_CREDENTIALS };
  const mk = (url: string) =>
    new S3Client({ endpoint: url, region: "us-east-1", forcePathStyle: true, credentials });
  const client = mk(endpoint);
  const direct = mk(upstream);
  const bucket = buckets[0] ?? "lake";
  return {
    endpoint,
    bucket,
    region: "us-east-1",
    credentials,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      CONTRAIL_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    client,
    proxy,
    upstream,
    dataDir: dir,
    async listKeys(prefix = "") {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await direct.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(out.Contents ?? []).map((c) => c.Key!));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async getObject(key) {
      const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    async putObject(key, body) {
      await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
    },
    setModified(key, at) {
      // s3rver's layout (POSIX): <dir>/<bucket>/<key's folders>/<name>._S3rver_object
      const parts = key.split("/");
      const name = parts.pop()!;
      utimesSync(join(dir, bucket, ...parts, `${name}._S3rver_object`), at, at);
    },
    async stop() {
      client.destroy();
      direct.destroy();
      await proxy.close();
      const exited = new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once("exit", () => resolve()),
      );
      child.stdin?.end(); // the launcher exits (and removes its directory) when its stdin closes
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      process.off("exit", cleanup);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function childPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 15 s: ${err}`)), 15_000);
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code} before listening: ${err}`));
    });
  });
}

async function waitAnswering(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get({ host: "127.0.0.1", port, path: "/" }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on("error", () => resolve(false));
    });
    if (ok) return;
    if (i > 100) throw new Error("s3rver does not answer");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
