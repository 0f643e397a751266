// What turns one source's capture into rows: which JSON values to take while streaming, the staging tables they are
// appended to (all text, exactly as served), and the SELECT that casts and joins them into the history table.
import type { Choice, JsonPath } from "../scan.js";

/** Appends one row to a staging table; `undefined` and `null` become SQL NULL. */
export type Append = (table: string, values: readonly (string | null | undefined)[]) => void;

export interface Extractor {
  /** Staging tables: name → column names (every column VARCHAR). */
  readonly staging: Readonly<Record<string, readonly string[]>>;
  choose(path: JsonPath): Choice;
  value(path: JsonPath, text: string, append: Append): void;
  /** The history table's rows, columns in the order of tables.ts; `capturedAt` is an SQL literal. */
  select(capturedAt: string): string;
}

/** A JSON value as staged text: strings as they are, other scalars as their JSON text, objects as JSON. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
