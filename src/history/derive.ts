// Derivation (SPEC §8): a capture becomes one Parquet file of its source's history table, written once and
// atomically through the Lake (like a capture: a failed derivation leaves nothing, an existing file is never
// overwritten). The capture is streamed: gunzip → JSON scanner → DuckDB appenders → COPY … (FORMAT parquet).
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
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
import { spotExtractor } from "./rows/spot.js";
import { JsonScanner } from "./scan.js";
import { Staging } from "./staging.js";
import { hasTable, historyKey, historyPrefix, sqlString, TABLES, tableOf } from "./tables.js";

const EXTRACTORS: Record<(typeof TABLES)[keyof typeof TABLES]["source"], () => Extractor> = {
  AmazonEC2: ec2Extractor,
  AmazonEC2Spot: spotExtractor,
  AzureRetail: retailExtractor,
  Azure: ratecardExtractor,
};

export interface DeriveOptions {
  signal: AbortSignal;
  log?: Logger;
  /** DuckDB's memory limit while deriving (it spills to a temp directory beyond it). */
  memoryLimit?: string;
  /** Where the temp directory goes (default: the OS's). */
  tmpRoot?: string;
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
  const staging = new Staging(dir, extractor.staging);
  const scanner = new JsonScanner({
    choose: (path) => extractor.choose(path),
    value: (path, text) => extractor.value(path, text, staging.append),
  });
  try {
    const body = await lake.getStream(m.key, opts.signal);
    await pipeline(
      body,
      createGunzip(),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          scanner.write(chunk);
          await staging.drained();
        }
        scanner.end();
      },
      { signal: opts.signal },
    );
    await staging.close();
  } catch (err) {
    staging.destroy();
    throw opts.signal.aborted ? abortError(opts.signal) : withKey(err, m.key);
  }
  const duck = await openDuck({
    memoryLimit: opts.memoryLimit ?? "192MB",
    tempDirectory: join(dir, "spill"),
  });
  try {
    const table = TABLES[tableOf(m.source)];
    const columns = table.columns.map(([name]) => `"${name}"`).join(", ");
    const select = `${staging.withClause()}\nSELECT ${columns} FROM (${extractor.select(sqlString(m.capturedAt))})`;
    const copied = await duck.connection
      .run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`)
      .catch((err: unknown) => {
        throw withKey(err, m.key);
      });
    return Number(copied.rowsChanged);
  } finally {
    duck.close();
  }
}

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
