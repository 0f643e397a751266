// Derivation (SPEC §8): a capture becomes one Parquet file of its source's history table, written once and
// atomically through the Lake (like a capture: a failed derivation leaves nothing, an existing file is never
// overwritten). The capture is streamed: gunzip → JSON scanner → staging files → DuckDB COPY … (FORMAT parquet).
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createGunzip } from "node:zlib";
import type { Logger } from "pino";
import { abortError, ContrailError, errorMessage } from "../errors.js";
import { manifestKeys, readManifest } from "../lake/records.js";
import { partsOfMetaKey, timeOfKey } from "../lake/keys.js";
import type { Lake, Manifest, SourceName } from "../types.js";
import { openDuck } from "./duck.js";
import { ec2Extractor } from "./rows/ec2.js";
import type { Extractor } from "./rows/extractor.js";
import { ratecardExtractor, retailExtractor } from "./rows/azure.js";
import { savingsPlanExtractor } from "./rows/savings-plan.js";
import { spotExtractor } from "./rows/spot.js";
import { gcpExtractor } from "./rows/gcp.js";
import { JsonScanner } from "./scan.js";
import { Staging } from "./staging.js";
import { hasTable, historyKey, historyPrefix, sqlString, TABLES, tableOf } from "./tables.js";

const EXTRACTORS: Record<(typeof TABLES)[keyof typeof TABLES]["source"], () => Extractor> = {
  AmazonEC2: ec2Extractor,
  AmazonEC2Spot: spotExtractor,
  AzureRetail: retailExtractor,
  Azure: ratecardExtractor,
  AWSComputeSavingsPlan: savingsPlanExtractor,
  GoogleCloud: gcpExtractor,
};

export interface DeriveOptions {
  signal: AbortSignal;
  log?: Logger;
  /** DuckDB's memory limit while deriving (it spills to a temp directory beyond it). */
  memoryLimit?: string;
  /** Where the temp directory goes (default: the OS's). */
  tmpRoot?: string;
  /** Uncompressed capture bytes per join bucket (default 256 MB; tests make it small to exercise the buckets). */
  bucketBytes?: number;
}

/** The history file a capture derives into. */
export function historyKeyOf(m: Pick<Manifest, "source" | "region" | "capturedAt">): string {
  return historyKey(tableOf(m.source), m.region, m.capturedAt);
}

/** Derives one capture; "exists" when its history file is there already (another process wrote it first). */
export async function deriveCapture(
  lake: Lake,
  manifest: Manifest,
  opts: DeriveOptions,
): Promise<{ status: "derived" | "exists"; key: string; rows: number; storedBytes: number }> {
  const key = historyKeyOf(manifest);
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), "contrail-history-"));
  try {
    const file = join(dir, "out.parquet");
    const rows = await writeParquet(lake, manifest, file, dir, opts);
    try {
      const { storedBytes } = await lake.putStream(key, createReadStream(file), opts.signal);
      return { status: "derived", key, rows, storedBytes };
    } catch (err) {
      if (err instanceof ContrailError && err.code === "LAKE_EXISTS")
        return { status: "exists", key, rows, storedBytes: 0 };
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeParquet(
  lake: Lake,
  m: Manifest,
  file: string,
  dir: string,
  opts: DeriveOptions,
): Promise<number> {
  const extractor = EXTRACTORS[TABLES[tableOf(m.source)].source]();
  const buckets = Math.max(1, Math.ceil(m.bytes / (opts.bucketBytes ?? BUCKET_BYTES)));
  const staging = new Staging(dir, extractor.staging, buckets);
  const scanner = new JsonScanner({
    choose: (path) => extractor.choose(path),
    value: (path, json) => extractor.value(path, json, staging),
  });
  try {
    const body = await lake.getStream(m.key, opts.signal);
    await pipeline(
      body,
      // Large chunks: zlib's default 16 KB cost more in stream overhead than the inflating itself (a GB offer: 2.3 s
      // of CPU at 16 KB, 1.0 s at 256 KB).
      createGunzip({ chunkSize: 1 << 18 }),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          scanner.write(chunk);
          await staging.drained();
        }
        scanner.end();
        await extractor.finish?.();
      },
      { signal: opts.signal },
    );
    await staging.close();
    if (buckets > 1) collectGarbage();
  } catch (err) {
    staging.destroy();
    throw opts.signal.aborted ? abortError(opts.signal) : withKey(err, m.key);
  }
  // A small memory limit: the derivation's memory must stay bounded whatever the capture's size. Two threads parse
  // and join side by side (a GB offer: 32.8 → 26.3 s on a 2-core machine), but each holds its own JSON reader and
  // Parquet writer buffers, and whether both fit the limit depends on how the rows fall; one thread always fits (the
  // limit holds one with room to spare). So a step that runs out of memory on two runs again on one.
  const duck = await openDuck({
    threads: 2,
    memoryLimit: opts.memoryLimit ?? "256MB",
    tempDirectory: join(dir, "spill"),
  });
  try {
    // Hand freed memory back to the system after each task, not at 128 MB of garbage: one bucket after another
    // would otherwise raise the process's resident size well past the memory limit. Read every file once, with no
    // cache of what was read: DuckDB's external file cache kept the parts' data as the final rewrite read them, and
    // its peak grew with the offer (an 8 GB offer's 127 parts: 319 MB without DuckDB's other work, 199 MB with no
    // cache, in the same time). And keep the order the extractor's query gives the rows (the EC2 rows are sorted),
    // through the parts into the file.
    await duck.connection.run(
      "SET allocator_flush_threshold = '8MB'; SET allocator_bulk_deallocation_flush_threshold = '8MB'; SET enable_external_file_cache = false; SET preserve_insertion_order = true",
    );
    const table = TABLES[tableOf(m.source)];
    const columns = table.columns.map(([name]) => `"${name}"`).join(", ");
    const select = (bucket: number) =>
      `${staging.withClause(bucket)}\nSELECT ${columns} FROM (${extractor.select(sqlString(m.capturedAt))})`;
    const threads = new OneThreadOnOutOfMemory(duck.connection, () =>
      opts.log?.warn(
        { capture: m.key },
        "history derivation ran out of memory on two threads; going on with one",
      ),
    );
    const copy = (query: string, to: string, format = PARQUET) =>
      threads
        .run(() => duck.connection.run(`COPY (${query}) TO ${sqlString(to)} ${format}`))
        .catch((err: unknown) => {
          throw withKey(err, m.key);
        });
    if (staging.buckets === 1) return Number((await copy(select(0), file)).rowsChanged);
    // Each bucket into a Parquet file of its own (LZ4: read once, soon), then those into the capture's one file
    // (rewritten, which costs far less than the join: DuckDB reads Parquet fast and the rows need no casting). The
    // parts keep the order their query gives the rows (an extractor may sort them), so that one part after another
    // keeps it too.
    const parts: string[] = [];
    for (let b = 0; b < staging.buckets; b++) {
      if (opts.signal.aborted) throw abortError(opts.signal);
      parts.push(join(dir, `part-${b}.parquet`));
      await copy(select(b), parts[b]!, PART);
    }
    const all = `SELECT * FROM read_parquet([${parts.map(sqlString).join(", ")}])`;
    // One thread: it reads the parts in order and writes them as they come, where two make DuckDB hold back what one
    // has read ahead until the other's rows are written (a GB offer: 569 MB peak RSS on two threads, 351 on one; the
    // rewrite takes 2-3 s either way).
    await duck.connection.run("SET threads = 1");
    return Number((await copy(all, file)).rowsChanged);
  } finally {
    duck.close();
  }
}

/**
 * A full garbage collection, now. What the scan built in JavaScript (the values' strings, the stream's buffers) is
 * dead once the staging files are written, but V8 would keep it in its heap through DuckDB's part of the work, as
 * JavaScript allocates next to nothing then: a 1 GB offer peaks at 309 MB RSS without this collection (~10 ms), 288
 * MB with it. Node offers gc() only to a process started with --expose-gc; the flag, set at run time, exposes it in
 * a new context (as the expose-gc package does). Best effort: if that fails, only memory is at stake.
 */
function collectGarbage(): void {
  try {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  } catch {
    /* the memory stays until V8 collects it */
  }
}

/**
 * Runs DuckDB steps on the connection's threads (two) until one runs out of memory: that step runs again, and every
 * later one runs, on one thread. (A COPY that fails leaves at most its own output file, which the retry overwrites.)
 */
export class OneThreadOnOutOfMemory {
  private single = false;

  constructor(
    private readonly db: { run(sql: string): Promise<unknown> },
    private readonly onFallback: () => void,
  ) {}

  async run<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (this.single || !/Out of Memory Error/i.test(errorMessage(err))) throw err;
      this.single = true;
      this.onFallback();
      await this.db.run("SET threads = 1");
      return await step();
    }
  }
}

// Uncompressed offer bytes per bucket: its products (~15%) are the join's build side, ~10 MB in DuckDB's memory, and
// its rows are sorted. (A GB offer on a quiet 2-core machine: 64 MB buckets, 14.1 s and 336 MB peak RSS; 128 MB
// buckets were ~1 s faster but peaked over 440 MB.)
const BUCKET_BYTES = 64e6;

// The Parquet writer holds a row group uncompressed until it is complete. Its size can be bounded in rows only, as
// the rows keep their order (ROW_GROUP_SIZE_BYTES needs it not kept): 50,000 EC2 rows, which carry ~1 KB of
// attributes each, stay well inside the memory limit and give readers row groups to skip by their statistics.
// - ZSTD level 9, not the default 3: the files are written once and read many times. A sorted GB offer's file:
//   10.3 → 9.6 MB, for ~0.1 s more (level 19: 8.1 MB, 5× the time), with the fake's earlier per-SKU prices.
// - No Bloom filters: DuckDB writes one per dictionary-encoded column chunk by default, ~5% of the files' size (6 KB
//   of a 98 KB file), for lookups by value that the sorted rows' min/max statistics already narrow.
const PARQUET =
  "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE 50000, WRITE_BLOOM_FILTER false)";

// Parts: read once, soon. Smaller row groups, as two threads may each hold one.
const PART = "(FORMAT parquet, COMPRESSION lz4_raw, ROW_GROUP_SIZE 20000)";

function withKey(err: unknown, key: string): ContrailError {
  if (err instanceof ContrailError)
    return new ContrailError(err.code, `${key}: ${err.message}`, { cause: err });
  return new ContrailError("HISTORY", `${key}: ${errorMessage(err)}`, { cause: err });
}

export interface DeriveSummary {
  derived: string[];
  failed: { key: string; error: Error }[];
}

/**
 * Derives every capture that has no history file yet, oldest first, and nothing else (SPEC §2 `contrail history`):
 * which captures are derived is read from the keys alone, so a lake of thousands costs two listings per source.
 */
export async function deriveMissing(
  lake: Lake,
  opts: DeriveOptions & { source?: SourceName; onDerived?: (key: string, rows: number) => void },
): Promise<DeriveSummary> {
  const summary: DeriveSummary = { derived: [], failed: [] };
  const keys = (await manifestKeys(lake, opts.source ? { source: opts.source } : {}))
    .filter((k) => hasTable(partsOfMetaKey(k)!.source))
    .reverse();
  const existing = new Set<string>();
  for (const table of new Set(keys.map((k) => tableOf(partsOfMetaKey(k)!.source as SourceName)))) {
    for await (const e of lake.list(historyPrefix(table), { signal: opts.signal })) existing.add(e.key);
  }
  for (const mkey of keys) {
    if (opts.signal.aborted) throw abortError(opts.signal);
    const parts = partsOfMetaKey(mkey)!;
    const capturedAt = timeOfKey(mkey)!.toISOString();
    const key = historyKeyOf({ source: parts.source as SourceName, region: parts.region, capturedAt });
    if (existing.has(key)) continue;
    try {
      const manifest = await readManifest(lake, mkey);
      if (!manifest || manifest.kind !== "capture") continue;
      const r = await deriveCapture(lake, manifest, opts);
      if (r.status === "derived") {
        summary.derived.push(r.key);
        opts.onDerived?.(r.key, r.rows);
        opts.log?.info(
          { key: r.key, capture: manifest.key, rows: r.rows, bytes: r.storedBytes },
          "history derived",
        );
      }
    } catch (err) {
      if (opts.signal.aborted) throw abortError(opts.signal);
      summary.failed.push({ key, error: err as Error });
      opts.log?.warn({ key, err: errorMessage(err) }, "history derivation failed; will retry");
    }
  }
  return summary;
}
