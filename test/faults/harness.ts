// The fault suite's harness (issue 5, item 1; SPEC §5 Atomic, §6). Every fake starts once per test file: the AWS
// Price List, EC2, the Azure cloud (Entra ID, Resource Manager with its RateCard blob host, Retail Prices) and S3
// (s3rver behind the fault proxy). `scenario()` injects faults, runs the real CLI (`contrail crawl --once --source
// X`) into a fresh local or S3 lake, clears every fault, and then always checks the lake's invariants:
//
// - `contrail verify` passes on the lake: its check (src/cli/verify.ts) runs in this process, as a CLI start-up per
//   scenario would add a third to the suite's time; the signal scenarios run the `contrail verify` CLI itself;
// - every capture object has its manifest and every manifest its object; nothing else outside `_contrail/`;
// - nothing partial: no file under `<lake>/_contrail/tmp/`, no open multipart upload;
// - "failed": exit code 1, stderr names the source and region, no capture (object or manifest) of that region;
// - "complete": exit code 0, exactly one capture of that region, its content exactly what the fake served.
import { after, before, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { ProductInput } from "../fakes/aws-pricing.js";
import { startS3, type FakeS3 } from "../fakes/s3.js";
import { TLS_CERT_PATH, type Fault, type FakeServer } from "../fakes/server.js";
import {
  cleanEnv,
  collect,
  filesUnder,
  runCli,
  startCli,
  tempDir,
  withEnv,
  writeConfig,
  type CliResult,
} from "../helpers.js";
import { verifyCapture } from "../../src/cli/verify.js";
import { LocalLake } from "../../src/lake/local.js";
import { manifestKeys, readManifest } from "../../src/lake/records.js";
import { S3Lake } from "../../src/lake/s3.js";
import type { Lake, Manifest } from "../../src/types.js";
import type { FakeKit, SourceKit } from "./kit.js";
import { FAKES, KITS, type Fakes, type KitSource } from "./kits.js";

// The pinned AWS SDK's notice about future Node versions is noise in the TAP output (src/cli/entry.ts does the same).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export type { Fakes, KitSource };
export type { FakeAzure } from "../fakes/azure.kit.js";
export type LakeKind = "local" | "s3";

/** Every source of the registry, each with its kit (test/faults/kits.ts). */
export const SOURCES = Object.keys(KITS) as KitSource[];
export const LAKES: readonly LakeKind[] = ["local", "s3"];
/** The one region each source captures in this suite. */
export const REGION = byKit((k) => k.region);
/** A few bytes into each source's body: well inside it, past the status line and headers. */
export const CUT_AT = byKit((k) => k.cutAt);
/** A fault that applies to every matching request until the harness clears it after the scenario. */
export const PERSISTENT = 10_000;
export const BUCKET = "lake";

/** Fast retries and a short stall timeout, so a failing scenario fails in about a second; each kit's settings. */
export const BASE_CONFIG = {
  http: { attempts: 3, baseDelay: "10ms", maxDelay: "100ms", connectTimeout: "5s", stallTimeout: "500ms" },
  sources: Object.fromEntries(
    Object.entries(KITS).flatMap(([name, k]: [string, SourceKit]) => (k.config ? [[name, k.config]] : [])),
  ) as Record<string, Record<string, unknown>>,
};

/** A lake of one scenario: a fresh directory or a fresh prefix of the S3 bucket. */
export interface LakeHandle {
  kind: LakeKind;
  /** What `--lake` gets. */
  url: string;
  /** Local: the lake's directory. */
  dir?: string;
  /** S3: the bucket and the key prefix (with its trailing `/`). */
  bucket?: string;
  prefix?: string;
  /** Every key, relative to the lake's root, sorted. */
  keys(): Promise<string[]>;
  read(key: string): Promise<Buffer>;
  /** Debris, described: temp files (local), open multipart uploads (S3: of the whole fake, any bucket). */
  partial(): Promise<string[]>;
}

export interface ScenarioOptions {
  source: KitSource;
  lake: LakeKind;
  /** Sets the faults (and anything else) up before the run. */
  inject?: (f: Fakes) => void | Promise<void>;
  /** "refused": the start-up lake probe stops the crawler (exit 2) before anything is downloaded. */
  expect: "complete" | "failed" | "refused";
  /** The region whose capture is judged (default REGION[source]). */
  region?: string;
  /** Merged over BASE_CONFIG. */
  config?: Record<string, unknown>;
  /** Overrides the lake URL (e.g. a bucket that does not exist). */
  lakeUrl?: string;
  /** Environment variables changed for the crawl (undefined: removed), e.g. no CONTRAIL_AWS_REGIONS. */
  env?: Record<string, string | undefined>;
  /** "failed" and "refused": stderr must also match these. */
  message?: RegExp | RegExp[];
  /** Skips `contrail verify` and the listing (a lake URL whose bucket does not exist). */
  noLake?: boolean;
}

export interface ScenarioRun {
  result: CliResult;
  /** Wall time of the crawl, from spawn to exit. */
  ms: number;
  lake: LakeHandle;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The capture of the region, when there is one. */
  manifest?: Manifest;
}

export interface Harness {
  readonly fakes: Fakes;
  /** Runs a scenario; with `t`, its outcome (the crawler's stderr) goes into the TAP output as a diagnostic. */
  scenario(opts: ScenarioOptions, t?: TestContext): Promise<ScenarioRun>;
  /** A fresh lake and working directory (for tests that drive the CLI themselves, e.g. signals). */
  prepare(
    kind: LakeKind,
    config?: Record<string, unknown>,
  ): { lake: LakeHandle; cwd: string; env: NodeJS.ProcessEnv };
  /** Clears every fault of every fake (S3 included). */
  clearFaults(): void;
  /**
   * The invariants of a lake: verify, pairing, nothing partial. `cli`: run `contrail verify` itself rather than its
   * check in this process (same code, without the second of CLI start-up that would double the suite's time).
   */
  checkLake(lake: LakeHandle, cwd: string, env: NodeJS.ProcessEnv, opts?: { cli?: boolean }): Promise<void>;
}

/** Registers before/after hooks in the calling test file: the fakes start once and stop at the end. */
export function useHarness(family: string): Harness {
  let fakes: Fakes | undefined;
  let work: { dir: string; cleanup: () => void } | undefined;
  let n = 0;

  before(async () => {
    const [s3, ...started] = await Promise.all([
      startS3({ buckets: [BUCKET] }),
      ...fakeKits().map(([, kit]) => kit.start()),
    ]);
    fakes = {
      s3,
      ...Object.fromEntries(fakeKits().map(([name], i) => [name, started[i]])),
    } as Fakes;
    work = tempDir(`contrail-faults-${family}-`);
  });

  after(async () => {
    if (fakes) {
      const f = fakes;
      await Promise.all([f.s3.stop(), ...fakeKits().map(([name, kit]) => kit.close(f[name]))]);
    }
    work?.cleanup();
  });

  const h: Harness = {
    get fakes() {
      assert.ok(fakes, "the harness has started");
      return fakes;
    },

    clearFaults() {
      const f = h.fakes;
      for (const [name, kit] of fakeKits()) {
        for (const server of kit.servers(f[name])) server.clearFaults();
        kit.clearFaults?.(f[name]);
      }
      f.s3.proxy.clearFaults().allowAll();
    },

    prepare(kind, config = {}) {
      const f = h.fakes;
      const id = `${family}-${++n}`;
      const cwd = join(work!.dir, id);
      mkdirSync(cwd, { recursive: true });
      writeConfig(cwd, merge(BASE_CONFIG, config));
      const lake = kind === "local" ? localLake(join(cwd, "lake")) : s3Lake(f.s3, `${id}/`);
      return { lake, cwd, env: crawlerEnv(f, lake.url) };
    },

    async checkLake(lake, cwd, env, opts = {}) {
      if (opts.cli) {
        const verify = await runCli(["verify", "--lake", lake.url], { cwd, env });
        assert.equal(verify.code, 0, `contrail verify: ${verify.stdout}${verify.stderr}`);
      } else {
        assert.deepEqual(
          await verifyInProcess(lake, h.fakes.s3),
          [],
          "verify: every capture matches its manifest",
        );
      }
      const keys = await lake.keys();
      const { captures, manifests, strays } = classify(keys);
      assert.deepEqual(strays, [], "nothing but captures and Contrail's records in the lake");
      assert.deepEqual(
        captures.filter((c) => !manifests.includes(c)),
        [],
        "every capture object has its manifest",
      );
      assert.deepEqual(
        manifests.filter((m) => !captures.includes(m)),
        [],
        "every manifest has its capture object",
      );
      assert.deepEqual(await lake.partial(), [], "nothing partial: no temp file, no open multipart upload");
    },

    async scenario(o, t) {
      const f = h.fakes;
      const region = o.region ?? REGION[o.source];
      const { lake, cwd, env } = h.prepare(o.lake, o.config);
      const url = o.lakeUrl ?? lake.url;
      const runEnv = withEnv(url === lake.url ? env : crawlerEnv(f, url), o.env);
      let result: CliResult;
      let ms: number;
      const downloads = bodyRequests(f, o.source).length;
      try {
        await o.inject?.(f);
        const t0 = Date.now();
        result = await collect(
          startCli(["crawl", "--once", "--source", o.source, "--lake", url], { cwd, env: runEnv }),
        );
        ms = Date.now() - t0;
      } finally {
        h.clearFaults();
      }
      const out = `exit ${result.code}\nstderr: ${result.stderr}\n${tail(result.stdout)}`;
      t?.diagnostic(
        `${o.source} → exit ${result.code} in ${ms} ms${result.stderr ? `: ${result.stderr.trim()}` : ""}`,
      );

      if (!o.noLake) await h.checkLake(lake, cwd, env, { cli: false });
      const keys = o.noLake ? [] : await lake.keys();
      // Region "": the source failed as a whole (e.g. its index); then no capture of the source at all.
      const unit = region ? `${o.source}/${region}/` : `${o.source}/`;
      const mine = classify(keys).captures.filter((k) => k.startsWith(unit));
      const run: ScenarioRun = { result, ms, lake, cwd, env: runEnv };

      if (o.expect === "refused") {
        assert.equal(result.code, 2, out);
        assert.match(result.stderr, /^contrail: (CONTRAIL_LAKE|--lake): cannot \S+( \S+)? the lake /m, out);
        for (const re of [o.message ?? []].flat()) assert.match(result.stderr, re, out);
        assert.equal(bodyRequests(f, o.source).length, downloads, "nothing downloaded");
        assert.deepEqual(mine, [], `no capture of ${o.source}`);
        return run;
      }

      if (o.expect === "failed") {
        assert.equal(result.code, 1, out);
        const where = region ? `${o.source} ${region}` : o.source;
        assert.match(result.stderr, new RegExp(`contrail: ${escapeRe(where)} failed: `), out);
        for (const re of [o.message ?? []].flat()) assert.match(result.stderr, re, out);
        assert.deepEqual(mine, [], `no capture of ${o.source} ${region}`);
        assert.deepEqual(
          keys.filter((k) => k.startsWith(`_contrail/manifests/${unit}`)),
          [],
          `no manifest of ${o.source} ${region}`,
        );
        return run;
      }

      assert.equal(result.code, 0, out);
      assert.equal(mine.length, 1, `one capture of ${o.source} ${region}: ${keys.join(", ")}`);
      const key = `${mine[0]!}.gz`;
      const manifest = JSON.parse((await lake.read(manifestOf(key))).toString("utf8")) as Manifest;
      const text = gunzipSync(await lake.read(key));
      assert.equal(manifest.key, key);
      assert.equal(manifest.bytes, text.length, "manifest bytes");
      assert.equal(manifest.sha256, sha256(text), "manifest sha256");
      checkContent(o.source, region, text, manifest, f);
      run.manifest = manifest;
      return run;
    },
  };
  return h;
}

/** The exact content check of a source against what its fake served (its kit's). */
export function checkContent(source: KitSource, region: string, text: Buffer, m: Manifest, f: Fakes): void {
  KITS[source].check(text, m, f, region);
}

/** The server and path that serve a source's main body: where a body fault (truncate, reset, stall…) goes. */
export function bodyTarget(f: Fakes, source: KitSource): { server: FakeServer; path: string | RegExp } {
  return KITS[source].target(f);
}

/** Puts `fault` on the next `times` requests for the source's main body. */
export function bodyFault(f: Fakes, source: KitSource, fault: Fault, times: number): void {
  const t = bodyTarget(f, source);
  t.server.fault({ path: t.path }, fault, times);
}

/** Requests that reached the source's main body, in arrival order. */
export function bodyRequests(f: Fakes, source: KitSource): { at: number }[] {
  const t = bodyTarget(f, source);
  return t.server.requestsTo(t.path);
}

/**
 * Products whose attributes are random base64 text, `mb` MB of offer file in all: gzip shrinks it by only a
 * quarter, so the stored capture is large enough for a multipart upload (parts of 8 MiB) from a small download.
 */
export function bulkyProducts(mb: number, seed = "bulk"): ProductInput[] {
  const per = 100_000;
  const out: ProductInput[] = [];
  for (let i = 0; i < Math.ceil((mb * 1e6) / per); i++) {
    const chunks: Buffer[] = [];
    for (let j = 0, len = 0; len < (per * 3) / 4; j++) {
      const c = createHash("sha512").update(`${seed}/${i}/${j}`).digest();
      chunks.push(c);
      len += c.length;
    }
    out.push({
      attributes: { instanceType: `bulk${i}.large`, noise: Buffer.concat(chunks).toString("base64") },
    });
  }
  return out;
}

export function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** `AmazonEC2/us-east-1/<t>.json.gz` → `_contrail/manifests/AmazonEC2/us-east-1/<t>.json`. */
export function manifestOf(captureKey: string): string {
  return `_contrail/manifests/${captureKey.replace(/\.gz$/, "")}`;
}

const CAPTURE = new RegExp(
  `^(${SOURCES.join("|")})/[^/]+/\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\.json\\.gz$`,
);
const MANIFEST = /^_contrail\/manifests\/([^/]+\/[^/]+\/[^/]+)\.json$/;

/** Captures and manifests as the same stem (`<Source>/<region>/<t>.json`); any other data key is a stray. */
function classify(keys: string[]): { captures: string[]; manifests: string[]; strays: string[] } {
  const captures: string[] = [];
  const manifests: string[] = [];
  const strays: string[] = [];
  for (const k of keys) {
    if (CAPTURE.test(k)) captures.push(k.replace(/\.gz$/, ""));
    else if (MANIFEST.test(k)) manifests.push(`${MANIFEST.exec(k)![1]!}.json`);
    else if (!k.startsWith("_contrail/")) strays.push(k);
  }
  return { captures, manifests, strays };
}

/**
 * What `contrail verify` does (src/cli/verify.ts), in this process: every manifest's capture re-read and checked.
 * Returns the problems.
 */
export async function verifyInProcess(lake: LakeHandle, s3: FakeS3): Promise<string[]> {
  const l: Lake =
    lake.kind === "local"
      ? new LocalLake(lake.dir!)
      : new S3Lake({
          bucket: lake.bucket!,
          prefix: lake.prefix!,
          region: s3.region,
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentials: { ...s3.credentials },
          maxAttempts: 1,
        });
  try {
    const problems: string[] = [];
    for (const key of await manifestKeys(l)) {
      const m = await readManifest(l, key);
      const r = m ? await verifyCapture(l, m) : { key, ok: false, problem: "manifest vanished" };
      if (!r.ok) problems.push(`${r.key}: ${r.problem}`);
    }
    return problems;
  } finally {
    await l.close?.();
  }
}

/** The fake kits by name, typed loosely: each kit's fake is the one it started. */
function fakeKits(): [keyof typeof FAKES, FakeKit<unknown>][] {
  return Object.entries(FAKES) as [keyof typeof FAKES, FakeKit<unknown>][];
}

function byKit<T>(pick: (kit: SourceKit) => T): Record<KitSource, T> {
  return Object.fromEntries(Object.entries(KITS).map(([name, kit]) => [name, pick(kit)])) as Record<
    KitSource,
    T
  >;
}

function localLake(dir: string): LakeHandle {
  return {
    kind: "local",
    url: dir,
    dir,
    async keys() {
      return filesUnder(dir).filter((k) => !k.startsWith("_contrail/tmp/"));
    },
    async read(key) {
      return readFileSync(join(dir, key));
    },
    async partial() {
      return filesUnder(join(dir, "_contrail/tmp")).map((t) => `temp file _contrail/tmp/${t}`);
    },
  };
}

function s3Lake(s3: FakeS3, prefix: string): LakeHandle {
  return {
    kind: "s3",
    url: `s3://${BUCKET}/${prefix.replace(/\/$/, "")}`,
    bucket: BUCKET,
    prefix,
    async keys() {
      return (await s3.listKeys(prefix)).map((k) => k.slice(prefix.length)).sort();
    },
    read: (key) => s3.getObject(prefix + key),
    async partial() {
      // Every open upload of the fake S3, not only this lake's: none may outlive its scenario.
      return s3.proxy.openUploads().map((u) => `open multipart upload of ${u.key} (${u.uploadId})`);
    },
  };
}

/** Everything that points the crawler at the fakes: every source is enabled. */
function crawlerEnv(f: Fakes, lakeUrl: string): NodeJS.ProcessEnv {
  return cleanEnv({
    CONTRAIL_LAKE: lakeUrl,
    ...f.s3.env,
    ...Object.assign({}, ...fakeKits().map(([name, kit]) => kit.env(f[name]))),
    ...Object.assign({}, ...Object.values(KITS).map((k: SourceKit) => k.env?.(f) ?? {})),
    NODE_EXTRA_CA_CERTS: TLS_CERT_PATH,
  });
}

function merge<T>(base: T, over: Record<string, unknown>): T {
  const out = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object"
        ? merge(b, v as Record<string, unknown>)
        : v;
  }
  return out as T;
}

function tail(s: string, lines = 15): string {
  return s.trimEnd().split("\n").slice(-lines).join("\n");
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
