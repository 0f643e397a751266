// Printing a query's result: `table` for people, `csv` for programs, `json` (an array of objects) for both.
// Every value prints as DuckDB renders it: decimals with their exact digits (0.0960000000), times in UTC.
import type { DuckDBResultReader } from "@duckdb/node-api";
import { table } from "../cli/table.js";

export const FORMATS = ["table", "csv", "json"] as const;
export type Format = (typeof FORMATS)[number];

/** What a person expects: a table on a terminal, CSV when the output goes to a pipe or a file. */
export function defaultFormat(isTty: boolean | undefined): Format {
  return isTty ? "table" : "csv";
}

function cells(reader: DuckDBResultReader, nullText: string): string[][] {
  return reader.getRows().map((row) => row.map((v) => (v === null ? nullText : String(v))));
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function render(reader: DuckDBResultReader, format: Format): string {
  const names = reader.columnNames();
  if (format === "json") {
    // getRowObjectsJson keeps decimals (and 64-bit integers) as strings: exact, whatever reads the JSON.
    return `${JSON.stringify(reader.getRowObjectsJson(), null, 2)}\n`;
  }
  if (format === "csv") {
    const lines = [names, ...cells(reader, "")].map((row) => row.map(csvCell).join(","));
    return `${lines.join("\n")}\n`;
  }
  const rows = cells(reader, "NULL");
  return table([names, ...rows]) + `(${rows.length} row${rows.length === 1 ? "" : "s"})\n`;
}
