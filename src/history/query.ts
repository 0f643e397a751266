// `contrail query`'s database: an in-memory DuckDB with the history tables over the lake's Parquet files (read
// in place on a local lake, from the local cache of an S3 lake) and the views of SPEC §8.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import type { Lake } from "../types.js";
import { cacheDir, syncHistoryCache } from "./cache.js";
import { openDuck, type Duck } from "./duck.js";
import { historyPrefix, sqlString, TABLE_NAMES, TABLES, type TableName } from "./tables.js";
import { VIEWS } from "./views.js";

/** The directory holding `history/…` as plain files: the lake itself, or the S3 lake's cache brought up to date. */
export async function historyRoot(
  config: Pick<Config, "lake" | "aws">,
  lake: Lake,
  signal?: AbortSignal,
): Promise<string> {
  if (config.lake.kind === "local") return config.lake.dir;
  const dir = cacheDir(config);
  await syncHistoryCache(lake, dir, signal);
  return dir;
}

/**
 * The database over the history at `root`. With `sql`, only the tables and views it names are defined (and the
 * tables those views read): a table's definition reads the footer of each of its files, and a lake of hourly spot
 * captures holds thousands, which a query of the EC2 history should not pay for. A statement that names none of them
 * (`SHOW TABLES`, `SELECT 1`) gets them all.
 */
export async function openHistoryDb(root: string, sql?: string): Promise<Duck> {
  const { tables, views } = namedIn(sql);
  const duck = await openDuck();
  try {
    // Each view over a table binds its read_parquet again, and so does the statement: without the cache every bind
    // re-reads the footer of every file (200 files, three times over, for one query of the EC2 view).
    await duck.connection.run("SET parquet_metadata_cache = true");
    for (const table of tables) await duck.connection.run(tableSql(root, table));
    for (const view of views) await duck.connection.run(view.sql);
    return duck;
  } catch (err) {
    duck.close();
    throw err;
  }
}

/** The tables and views that `sql` names as words (case-insensitive), with the tables of those views; all without. */
export function namedIn(sql: string | undefined): {
  tables: readonly TableName[];
  views: typeof VIEWS;
} {
  const words = new Set((sql ?? "").toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []);
  let views: typeof VIEWS = VIEWS.filter((v) => words.has(v.name));
  let tables: readonly TableName[] = TABLE_NAMES.filter(
    (t) => words.has(t) || views.some((v) => v.table === t),
  );
  if (tables.length === 0) {
    tables = TABLE_NAMES;
    views = VIEWS;
  }
  return { tables, views };
}

/** A view over the table's files or, while it has none, an empty table of the same shape (read_parquet needs files). */
function tableSql(root: string, table: TableName): string {
  const dir = join(root, ...historyPrefix(table).split("/"));
  if (!hasParquet(dir)) {
    const columns = [...TABLES[table].columns, ["region", "VARCHAR"] as const];
    return `CREATE TABLE ${table} (${columns.map(([n, t]) => `"${n}" ${t}`).join(", ")})`;
  }
  const glob = sqlString(join(dir, "region=*", "*.parquet"));
  return `CREATE VIEW ${table} AS SELECT * FROM read_parquet(${glob}, hive_partitioning = true,
    hive_types = {'region': VARCHAR}, union_by_name = true)`;
}

function hasParquet(dir: string): boolean {
  if (!existsSync(dir)) return false;
  // One level of region=… folders: cheap, and exact about whether the glob will match anything.
  return readdirSafe(dir).some((region) =>
    readdirSafe(join(dir, region)).some((f) => f.endsWith(".parquet")),
  );
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
