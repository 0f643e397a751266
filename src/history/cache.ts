// The local copy of an S3 lake's history files for `contrail query` (no httpfs: DuckDB reads local files only).
// History files are immutable, so a file whose key and size match is current; only new or changed ones are fetched,
// by the Lake (the AWS SDK), and files gone from the lake are removed from the copy.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Config } from "../config/schema.js";
import type { Lake } from "../types.js";
import { historyPrefix } from "./tables.js";

/** `$XDG_CACHE_HOME/contrail/<lake-id>` (default `~/.cache/…`); the id names the bucket and prefix, readably. */
export function cacheDir(config: Pick<Config, "lake" | "aws">, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME?.trim() || join(homedir(), ".cache");
  const lake = config.lake;
  const where =
    lake.kind === "s3" ? `${config.aws.s3Endpoint ?? "aws"}|${lake.bucket}|${lake.prefix}` : lake.dir;
  const readable = lake.kind === "s3" ? `${lake.bucket}${lake.prefix ? `-${lake.prefix}` : ""}` : "local";
  const id = `${readable.replace(/[^A-Za-z0-9._-]+/g, "_")}-${createHash("sha256").update(where).digest("hex").slice(0, 10)}`;
  return join(base, "contrail", id);
}

export interface SyncResult {
  fetched: number;
  kept: number;
  removed: number;
}

export async function syncHistoryCache(lake: Lake, dir: string, signal?: AbortSignal): Promise<SyncResult> {
  const result: SyncResult = { fetched: 0, kept: 0, removed: 0 };
  const wanted = new Set<string>();
  for await (const e of lake.list(historyPrefix(), signal ? { signal } : {})) {
    if (!e.key.endsWith(".parquet")) continue;
    wanted.add(e.key);
    const path = join(dir, ...e.key.split("/"));
    const local = await stat(path).catch(() => undefined);
    if (local?.size === e.size) {
      result.kept++;
      continue;
    }
    await fetchTo(lake, e.key, path, signal);
    result.fetched++;
  }
  for (const file of await filesUnder(join(dir, "history"))) {
    const key = relative(dir, file).split(sep).join("/");
    if (!wanted.has(key)) {
      await rm(file, { force: true });
      result.removed++;
    }
  }
  return result;
}

/** Downloads beside the target and renames, so a query never sees half a file. */
async function fetchTo(lake: Lake, key: string, path: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.part`;
  try {
    await pipeline(
      await lake.getStream(key, signal),
      createWriteStream(tmp),
      ...(signal ? [{ signal }] : []),
    );
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
