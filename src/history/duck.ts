// Opening DuckDB: loaded on first use only (the native binding costs start-up time and memory that `ls` and the
// crawler's captures should not pay).
import { createRequire } from "node:module";
import type { DuckDBConnection } from "@duckdb/node-api";

// Loaded with require, not import(): the binding is 181 CommonJS modules, and an ESM import of them first runs Node's
// CommonJS export scanner over each (~100 ms of `contrail query`'s start-up, a third of loading DuckDB).
const require = createRequire(import.meta.url);

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
  const { DuckDBInstance } = require("@duckdb/node-api") as typeof import("@duckdb/node-api");
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
