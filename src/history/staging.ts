// Staging files: the rows extracted while streaming a capture, written as CSV for DuckDB to read back natively.
// Why not DuckDB's Appender: it costs one native call per value (millions for an offer file); a CSV line is one
// JS string, and DuckDB's CSV reader is parallel and spills nothing. Every staged value is text as served.
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { sqlString } from "./tables.js";

const FLUSH_AT = 1 << 20;

function csvField(v: string | null | undefined): string {
  if (v === undefined || v === null) return ""; // an empty unquoted field reads back as NULL
  if (v === "" || /[",\n\r]/.test(v)) return `"${v.replaceAll('"', '""')}"`;
  return v;
}

class StagingFile {
  private readonly out: WriteStream;
  private buffered = "";
  rows = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }

  append(values: readonly (string | null | undefined)[]): void {
    let line = "";
    for (let i = 0; i < values.length; i++) line += (i ? "," : "") + csvField(values[i]);
    this.buffered += `${line}\n`;
    this.rows++;
    if (this.buffered.length >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.buffered) this.out.write(this.buffered);
    this.buffered = "";
  }

  async drained(): Promise<void> {
    if (this.out.writableNeedDrain) await once(this.out, "drain");
  }

  async close(): Promise<void> {
    this.flush();
    this.out.end();
    await once(this.out, "close");
  }

  destroy(): void {
    this.out.destroy();
  }
}

export class Staging {
  private readonly files = new Map<string, StagingFile>();

  constructor(
    dir: string,
    private readonly tables: Readonly<Record<string, readonly string[]>>,
  ) {
    for (const name of Object.keys(tables)) this.files.set(name, new StagingFile(join(dir, `${name}.csv`)));
  }

  readonly append = (table: string, values: readonly (string | null | undefined)[]): void => {
    this.files.get(table)!.append(values);
  };

  /** Waits while the disk is behind (backpressure for the capture stream). */
  async drained(): Promise<void> {
    for (const f of this.files.values()) await f.drained();
  }

  async close(): Promise<void> {
    for (const f of this.files.values()) await f.close();
  }

  destroy(): void {
    for (const f of this.files.values()) f.destroy();
  }

  /** `WITH` clauses that read each staging file back as a table of VARCHAR columns. */
  withClause(): string {
    const ctes = [...this.files].map(([name, f]) => {
      const columns = this.tables[name]!.map((c) => `'${c}': 'VARCHAR'`).join(", ");
      return `${name} AS (SELECT * FROM read_csv(${sqlString(f.path)}, columns = {${columns}}, header = false,
        delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, auto_detect = false))`;
    });
    return `WITH ${ctes.join(",\n")}`;
  }
}
