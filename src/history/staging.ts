// Staging files: what is extracted while streaming a capture, written for DuckDB to read back natively at the end.
// Two kinds of staging table:
// - JSON: each taken value as one line of newline-delimited JSON, wrapped with its keys from the path. DuckDB's JSON
//   reader parses it with explicit column types, in parallel and in C++: for an AmazonEC2 offer (millions of terms)
//   this costs far less than parsing every value in JavaScript. Bytes are copied, never decoded.
//   A JSON table may be split into buckets by a key (the SKU): tables bucketed alike join bucket by bucket, so a
//   join's build side is a bucket's share, however large the capture (DuckDB's spilling of a large join with KB-sized
//   strings is not reliable within a small memory limit).
// - CSV: rows of text values that JavaScript extracted (small sources, or values that must be rewritten first, such
//   as Azure's JSON-number prices). One string per row, no native call per value as DuckDB's Appender would make.
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { sqlString } from "./tables.js";

/** A staging table: CSV of VARCHAR columns, or JSON lines read with DuckDB `read_ndjson` column types. */
export type StagingTable = { csv: readonly string[] } | { json: Readonly<Record<string, string>> };

/** Where extracted values go. */
export interface Stage {
  /** Appends one CSV row; `undefined` and `null` become SQL NULL. */
  row(table: string, values: readonly (string | null | undefined)[]): void;
  /**
   * Appends the JSON line `{<head>"v":<value>}`; `head` is `"key":value,` pairs (or empty). `bucket` is the key
   * that picks the line's bucket: values with equal keys land in the same bucket of every table.
   */
  json(table: string, head: string, value: Buffer, bucket: string): void;
}

// Bytes gathered before a write to the file: few, large writes (a write per value would cost a syscall each).
const FLUSH_AT = 1 << 20;

function csvField(v: string | null | undefined): string {
  if (v === undefined || v === null) return ""; // an empty unquoted field reads back as NULL
  if (v === "" || /[",\n\r]/.test(v)) return `"${v.replaceAll('"', '""')}"`;
  return v;
}

class StagingFile {
  private readonly out: WriteStream;
  private buf = Buffer.allocUnsafe(FLUSH_AT);
  private used = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }

  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (s.length * 3 > this.buf.length - this.used) this.flush(s.length * 3);
    this.used += this.buf.write(s, this.used);
  }

  bytes(b: Buffer): void {
    if (b.length > this.buf.length - this.used) this.flush(b.length);
    this.used += b.copy(this.buf, this.used);
  }

  /** Hands the gathered bytes to the file and starts a new buffer with room for at least `need`. */
  flush(need = 0): void {
    if (this.used > 0) this.out.write(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(Math.max(FLUSH_AT, need));
    this.used = 0;
  }

  async drained(): Promise<void> {
    if (this.out.writableNeedDrain) await once(this.out, "drain");
  }

  async close(): Promise<void> {
    if (this.used > 0) this.out.write(this.buf.subarray(0, this.used));
    this.out.end();
    await once(this.out, "close");
  }

  destroy(): void {
    this.out.destroy();
  }
}

const CLOSE_LINE = Buffer.from("}\n");

/** FNV-1a over UTF-16 units: cheap, and spreads SKUs (random base-32 strings) evenly. */
function bucketOf(key: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

export class Staging implements Stage {
  // A table's files: one per bucket for JSON tables, one for CSV tables.
  private readonly files = new Map<string, StagingFile[]>();

  /** How many buckets each JSON table is split into (1 when there is none: CSV tables are never split). */
  readonly buckets: number;

  constructor(
    dir: string,
    private readonly tables: Readonly<Record<string, StagingTable>>,
    buckets = 1,
  ) {
    this.buckets = Object.values(tables).some((t) => "json" in t) ? buckets : 1;
    for (const [name, t] of Object.entries(tables)) {
      const files =
        "csv" in t
          ? [new StagingFile(join(dir, `${name}.csv`))]
          : Array.from({ length: this.buckets }, (_, i) => new StagingFile(join(dir, `${name}.${i}.json`)));
      this.files.set(name, files);
    }
  }

  private all(): StagingFile[] {
    return [...this.files.values()].flat();
  }

  readonly row = (table: string, values: readonly (string | null | undefined)[]): void => {
    let line = "";
    for (let i = 0; i < values.length; i++) line += (i ? "," : "") + csvField(values[i]);
    this.files.get(table)![0]!.text(`${line}\n`);
  };

  readonly json = (table: string, head: string, value: Buffer, bucket: string): void => {
    const files = this.files.get(table)!;
    const f = files.length === 1 ? files[0]! : files[bucketOf(bucket, files.length)]!;
    f.text(`{${head}"v":`);
    f.bytes(value);
    f.bytes(CLOSE_LINE);
  };

  /** Waits while the disk is behind (backpressure for the capture stream). */
  async drained(): Promise<void> {
    for (const f of this.all()) await f.drained();
  }

  async close(): Promise<void> {
    for (const f of this.all()) await f.close();
  }

  destroy(): void {
    for (const f of this.all()) f.destroy();
  }

  /** `WITH` clauses that read each staging table back (of a JSON table, bucket `bucket`). */
  withClause(bucket = 0): string {
    const ctes = [...this.files].map(([name, files]) => {
      const f = files.length === 1 ? files[0]! : files[bucket]!;
      return `${name} AS (${readSql(f.path, this.tables[name]!)})`;
    });
    return `WITH ${ctes.join(",\n")}`;
  }
}

function readSql(path: string, table: StagingTable): string {
  if ("json" in table) {
    const columns = Object.entries(table.json).map(([c, type]) => `${c}: ${sqlString(type)}`);
    return `SELECT * FROM read_ndjson(${sqlString(path)}, columns = {${columns.join(", ")}})`;
  }
  const columns = table.csv.map((c) => `'${c}': 'VARCHAR'`).join(", ");
  return `SELECT * FROM read_csv(${sqlString(path)}, columns = {${columns}}, header = false,
        delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, auto_detect = false)`;
}
