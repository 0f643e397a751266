// Opening DuckDB: loaded on first use only (the native binding costs start-up time and memory that `ls` and the
// crawler's captures should not pay).
import { createRequire } from "node:module";
import type { DuckDBConnection } from "@duckdb/node-api";

/** Defined (true) by scripts/build.mjs in the bundle that bin/contrail.js runs; undefined when run from the sources. */
declare const CONTRAIL_BUNDLE: boolean | undefined;

/**
 * The DuckDB API (@duckdb/node-api: 181 CommonJS modules over the native binding, @duckdb/node-bindings). In the
 * bundle it is compiled into a chunk of its own, loaded here: one file loads in ~50 ms, where Node resolving and
 * compiling the 181 took ~140 ms of `contrail query`'s start-up. From the sources (tsx: the tests, `npm run dev`)
 * it is loaded with require, not import(): an ESM import of the modules first runs Node's CommonJS export scanner
 * over each (~100 ms more; through tsx, 0.25 → 0.6 s).
 */
async function duckdbApi(): Promise<typeof import("@duckdb/node-api")> {
  // The chunk's default export is the CommonJS module's exports (esbuild gives it no named exports).
  if (typeof CONTRAIL_BUNDLE !== "undefined") return (await import("@duckdb/node-api")).default;
  return createRequire(import.meta.url)("@duckdb/node-api") as typeof import("@duckdb/node-api");
}

export interface Duck {
  connection: DuckDBConnection;
  close(): void;
}

/**
 * An in-memory database. `memoryLimit` bounds DuckDB's own buffers (it spills to `tempDirectory` beyond it);
 * two threads at most by default, as the crawler shares its machine.
 */
export async function openDuck(
  opts: { memoryLimit?: string; tempDirectory?: string; threads?: number } = {},
): Promise<Duck> {
  const { DuckDBInstance } = await duckdbApi();
  const instance = await DuckDBInstance.create(":memory:", {
    threads: String(opts.threads ?? 2),
    ...(opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {}),
    ...(opts.tempDirectory ? { temp_directory: opts.tempDirectory } : {}),
    // Rows need no order until the final COPY: this lets DuckDB stream joins and casts with less memory.
    preserve_insertion_order: "false",
  });
  const connection = await instance.connect();
  // Every time is UTC, in the files and on the screen (SPEC §8). (ICU, built in, takes this only once loaded.)
  await connection.run("SET TimeZone = 'UTC'");
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
