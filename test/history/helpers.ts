// Helpers for the history tests: captures put into a lake as the crawler stores them (gzip + manifest), and
// Parquet files read back by hyparquet, a reader independent of the DuckDB that writes them.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { captureKey, manifestKey } from "../../src/lake/keys.js";
import { S3Lake } from "../../src/lake/s3.js";
import type { Lake, Manifest, SourceName } from "../../src/types.js";
import type { FakeS3 } from "../fakes/s3.js";
import { after, before } from "node:test";
import { LocalLake } from "../../src/lake/local.js";
import { ROOT, cleanEnv, runCli, tempDir, type CliResult } from "../helpers.js";

export const FIXTURES = join(ROOT, "test/fixtures/history");

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

/** Stores `content` as a capture of `source`/`region` at `capturedAt`, with its manifest, as the crawler does. */
export async function putCapture(
  lake: Lake,
  source: SourceName,
  region: string,
  capturedAt: string,
  content: Buffer | string,
): Promise<Manifest> {
  const raw = Buffer.from(content);
  const stored = gzipSync(raw);
  const key = captureKey(source, region, new Date(capturedAt));
  await lake.putBytes(key, stored);
  const manifest: Manifest = {
    manifestVersion: 1,
    kind: "capture",
    source,
    region,
    key,
    capturedAt,
    finishedAt: capturedAt,
    sha256: createHash("sha256").update(raw).digest("hex"),
    bytes: raw.length,
    storedBytes: stored.length,
    urls: ["https://example.invalid/"],
    crawler: { name: "contrail", version: "test" },
  };
  await lake.putBytes(manifestKey(source, region, capturedAt), JSON.stringify(manifest));
  return manifest;
}

function arrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
}

/**
 * Every row of a Parquet file, by hyparquet: times as Dates, decimals as JS numbers (hyparquet scales the stored
 * integer by a float power of ten; rounding to the column's scale undoes that float noise, e.g. 0.08700000000000001).
 */
export async function readParquet(buf: Buffer): Promise<Record<string, unknown>[]> {
  const scales = new Map(
    parquetMetadata(arrayBuffer(buf))
      .schema.filter((e) => e.converted_type === "DECIMAL")
      .map((e) => [e.name, e.scale ?? 0]),
  );
  const rows = (await parquetReadObjects({ file: arrayBuffer(buf), compressors })) as Record<
    string,
    unknown
  >[];
  for (const row of rows) {
    for (const [name, scale] of scales) {
      if (typeof row[name] === "number") row[name] = Number((row[name] as number).toFixed(scale));
    }
  }
  return rows;
}

/** The compression codecs of a Parquet file's column chunks, as its footer states them. */
export function parquetCodecs(buf: Buffer): Set<string> {
  const meta = parquetMetadata(arrayBuffer(buf));
  return new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => String(c.meta_data?.codec))));
}

/** Each column's physical and logical type as the file's footer states them. */
export function parquetColumns(buf: Buffer): { name: string; type?: string; logical?: string }[] {
  const meta = parquetMetadata(arrayBuffer(buf));
  return meta.schema.slice(1).map((e) => {
    const lt = e.logical_type as
      { type?: string; precision?: number; scale?: number; isAdjustedToUTC?: boolean } | undefined;
    const logical =
      lt?.type === "DECIMAL"
        ? `DECIMAL(${lt.precision},${lt.scale})`
        : lt?.type === "TIMESTAMP"
          ? `TIMESTAMP(utc=${String(lt.isAdjustedToUTC)})`
          : (lt?.type ?? e.converted_type);
    return {
      name: e.name,
      ...(e.type ? { type: e.type + (e.type_length ? `(${e.type_length})` : "") } : {}),
      ...(logical ? { logical } : {}),
    };
  });
}

/** The fake S3's bucket as a lake, under the prefix `prices` (as a user's `s3://bucket/prices`). */
export function s3Lake(s3: FakeS3): S3Lake {
  return new S3Lake({
    bucket: s3.bucket,
    prefix: "prices",
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { ...s3.credentials },
  });
}

/**
 * A working directory whose local lake `fill` puts captures into before the calling suite's tests, for runs of the
 * real CLI there (`contrail history`, `contrail query`, with a cache directory of its own); removed after them.
 */
export function useLocalLakeCli(fill: (lake: Lake) => Promise<void>): {
  readonly dir: string;
  cli(args: string[]): Promise<CliResult>;
} {
  let work: { dir: string; cleanup: () => void } | undefined;
  let env: NodeJS.ProcessEnv = {};
  before(async () => {
    work = tempDir();
    env = cleanEnv({ XDG_CACHE_HOME: join(work.dir, "cache") });
    await fill(new LocalLake(join(work.dir, "lake")));
  });
  after(() => work?.cleanup());
  return {
    get dir() {
      if (!work) throw new Error("the suite has not started");
      return work.dir;
    },
    cli: (args) => runCli(args, { cwd: work!.dir, env }),
  };
}
