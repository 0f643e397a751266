// What turns one source's capture into rows: which JSON values to take while streaming, the staging tables they go
// to (JSON lines for DuckDB to parse, or CSV rows of text exactly as served), and the SELECT that casts and joins
// them into the history table.
import type { Choice, JsonPath } from "../scan.js";
import type { Stage, StagingTable } from "../staging.js";

export interface Extractor {
  readonly staging: Readonly<Record<string, StagingTable>>;
  choose(path: JsonPath): Choice;
  /** A taken value, as compact JSON bytes (valid only during the call). */
  value(path: JsonPath, json: Buffer, stage: Stage): void;
  /** After the last value: settles what the staging still holds. */
  finish?(): Promise<void>;
  /**
   * The history table's rows, columns in the order of tables.ts; `capturedAt` is an SQL literal. Rows come in the
   * order the query gives them: over a table split into buckets, bucket after bucket.
   */
  select(capturedAt: string): string;
}

/** A JSON value as staged text: strings as they are, other scalars as their JSON text, objects as JSON. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Parses a taken value in JavaScript (for the sources whose values are few or need rewriting first). */
export function parse<T>(json: Buffer): T {
  return JSON.parse(json.toString("utf8")) as T;
}

/**
 * A price as text cast exactly to DECIMAL(38,10). DuckDB's VARCHAR → DECIMAL(38,·) cast goes through 128-bit
 * arithmetic and costs ~50× the DECIMAL(18,·) one; every real price fits 18 digits, so that cast is tried first
 * (same rounding, same result) and the wide one takes only what overflows it.
 */
export function decimalSql(expr: string): string {
  return `COALESCE(TRY_CAST(${expr} AS DECIMAL(18,10)), CAST(${expr} AS DECIMAL(38,10)))::DECIMAL(38,10)`;
}
