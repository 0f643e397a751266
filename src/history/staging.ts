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
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { sqlString } from "./tables.js";

/** A staging table: CSV of VARCHAR columns, or JSON lines read with DuckDB `read_ndjson` column types. */
export type StagingTable = { csv: readonly string[] } | { json: Readonly<Record<string, string>> };

/** Where extracted values go. */
export interface Stage {
  /** Appends one CSV row; `undefined` and `null` become SQL NULL. */
  row(table: string, values: readonly (string | null | undefined)[]): void;
  /**
   * Appends the JSON line `{<head>"v":<value>}` to bucket `bucket` of a JSON table (0, 1, …: its files are opened as
   * needed), or holds it (`HELD`) until `split` gives it a bucket. `head` is `"key":value,` pairs (or empty).
   */
  json(table: string, head: string, value: Buffer, bucket: number): void;
  /** Moves a table's held lines to their buckets, in the order they came. */
  split(table: string, bucketOf: (line: Buffer) => number): Promise<void>;
  /** How many buckets a JSON table should be split into (the capture's size over the bucket size). */
  readonly hashBuckets: number;
}

/** The bucket of lines whose bucket is not known yet. */
export const HELD = -1;

// Bytes gathered before a write to the file: few, large writes (a write per value would cost a syscall each), and
// small enough that a capture's bucket files hold little memory between them: 256 KB each, less when a capture has
// so many buckets (an 8 GB offer: 125 for each of two tables) that they would hold more than BUFFERS in all.
const FLUSH_AT = 1 << 18;
const MIN_FLUSH_AT = 1 << 16;
const BUFFERS = 32 << 20;
const EMPTY = Buffer.alloc(0);

function csvField(v: string | null | undefined): string {
  if (v === undefined || v === null) return ""; // an empty unquoted field reads back as NULL
  if (v === "" || /[",\n\r]/.test(v)) return `"${v.replaceAll('"', '""')}"`;
  return v;
}

class StagingFile {
  private readonly out: WriteStream;
  private buf: Buffer;
  private used = 0;

  constructor(
    readonly path: string,
    private readonly flushAt = FLUSH_AT,
  ) {
    this.out = createWriteStream(path);
    this.buf = Buffer.allocUnsafe(flushAt);
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
    this.buf = Buffer.allocUnsafe(Math.max(this.flushAt, need));
    this.used = 0;
  }

  async drained(): Promise<void> {
    if (this.out.writableNeedDrain) await once(this.out, "drain");
  }

  async close(): Promise<void> {
    if (this.used > 0) this.out.write(this.buf.subarray(0, this.used));
    // The buffer is not needed past this point, and the Staging (and so this file) lives on until DuckDB is done.
    this.buf = EMPTY;
    this.used = 0;
    this.out.end();
    await once(this.out, "close");
  }

  destroy(): void {
    this.out.destroy();
  }
}

const CLOSE_LINE = Buffer.from("}\n");

/** FNV-1a over UTF-16 units: cheap, and spreads SKUs (random base-32 strings) evenly. */
export function bucketOf(key: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

export class Staging implements Stage {
  // A JSON table's files, one per bucket (opened when a line first goes there), and its held lines' file.
  private readonly jsonFiles = new Map<string, StagingFile[]>();
  private readonly held = new Map<string, StagingFile>();
  private readonly csv = new Map<string, StagingFile>();
  private readonly flushAt: number;
  constructor(
    private readonly dir: string,
    private readonly tables: Readonly<Record<string, StagingTable>>,
    readonly hashBuckets = 1,
  ) {
    const files = Object.keys(tables).length * hashBuckets;
    this.flushAt = Math.max(MIN_FLUSH_AT, Math.min(FLUSH_AT, Math.floor(BUFFERS / files)));
    for (const [name, t] of Object.entries(tables)) {
      if ("csv" in t) this.csv.set(name, new StagingFile(join(dir, `${name}.csv`)));
      else this.jsonFiles.set(name, []);
    }
  }

  /** How many buckets the JSON tables have (at least one; a CSV table is never split). */
  get buckets(): number {
    return Math.max(1, ...[...this.jsonFiles.values()].map((files) => files.length));
  }

  private all(): StagingFile[] {
    const files = [...this.csv.values(), ...this.held.values()];
    for (const bucketFiles of this.jsonFiles.values()) files.push(...bucketFiles.filter(Boolean));
    return files;
  }

  private file(table: string, bucket: number): StagingFile {
    if (bucket === HELD) {
      let f = this.held.get(table);
      if (!f) this.held.set(table, (f = new StagingFile(join(this.dir, `${table}.held.json`))));
      return f;
    }
    const files = this.jsonFiles.get(table)!;
    return (files[bucket] ??= new StagingFile(join(this.dir, `${table}.${bucket}.json`), this.flushAt));
  }

  readonly row = (table: string, values: readonly (string | null | undefined)[]): void => {
    let line = "";
    for (let i = 0; i < values.length; i++) line += (i ? "," : "") + csvField(values[i]);
    this.csv.get(table)!.text(`${line}\n`);
  };

  readonly json = (table: string, head: string, value: Buffer, bucket: number): void => {
    const f = this.file(table, bucket);
    f.text(`{${head}"v":`);
    f.bytes(value);
    f.bytes(CLOSE_LINE);
  };

  readonly split = async (table: string, bucketOf: (line: Buffer) => number): Promise<void> => {
    const held = this.held.get(table);
    if (!held) return;
    this.held.delete(table);
    await held.close();
    // Lines as bytes (never decoded): a staged value is compact JSON, one line with no raw newline in it.
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of createReadStream(held.path, {
      highWaterMark: 1 << 20,
    }) as AsyncIterable<Buffer>) {
      const data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let end = data.indexOf(0x0a); end >= 0; start = end + 1, end = data.indexOf(0x0a, start)) {
        const line = data.subarray(start, end + 1);
        this.file(table, bucketOf(line)).bytes(line);
      }
      rest = Buffer.from(data.subarray(start));
      await this.drained();
    }
    await rm(held.path);
  };

  /** Waits while the disk is behind (backpressure for the capture stream). */
  async drained(): Promise<void> {
    for (const f of this.all()) await f.drained();
  }

  /** Closes every file; a JSON table with no line in a bucket another has lines in gets an empty file there. */
  async close(): Promise<void> {
    const buckets = this.buckets;
    for (const table of this.jsonFiles.keys()) for (let b = 0; b < buckets; b++) this.file(table, b);
    for (const f of this.all()) await f.close();
  }

  destroy(): void {
    for (const f of this.all()) f.destroy();
  }

  /** `WITH` clauses that read each staging table back (of a JSON table, bucket `bucket`). */
  withClause(bucket = 0): string {
    const ctes = [...this.csv].map(([name, f]) => `${name} AS (${readSql(f.path, this.tables[name]!)})`);
    for (const [name, files] of this.jsonFiles)
      ctes.push(`${name} AS (${readSql(files[bucket]!.path, this.tables[name]!)})`);
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
