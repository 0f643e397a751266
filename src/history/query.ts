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

export async function openHistoryDb(root: string): Promise<Duck> {
  const duck = await openDuck();
  try {
    // Each view over a table binds its read_parquet again, and so does the statement: without the cache every bind
    // re-reads the footer of every file (200 files, three times over, for one query of the EC2 view).
    await duck.connection.run("SET parquet_metadata_cache = true");
    for (const table of TABLE_NAMES) await duck.connection.run(tableSql(root, table));
    for (const view of VIEWS) await duck.connection.run(view);
    return duck;
  } catch (err) {
    duck.close();
    throw err;
  }
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
