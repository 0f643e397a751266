#!/usr/bin/env node
// `npm run build` (and `prepare`, which `npm ci` runs): type-checks src/ with tsc, then bundles the CLI with esbuild
// into dist/ (entry.js and the chunks it loads), which bin/contrail.js runs.
//   node scripts/build.mjs [--no-typecheck]    (`npm test` builds without the type check, which is lint's)
//
// Why a bundle and not tsc's one file per module: start-up. Node 20 has no compile cache, and `contrail query`
// loaded ~200 ES modules of ours and zod's, then DuckDB's API as 181 CommonJS modules, each resolved, read and
// compiled on its own: about half a second before DuckDB ran the statement. Bundled, they are a few files.
// `contrail query` of bench/history.ts's lake, Node 20 on 2 shared cores, 15 runs in turn against the tsc build:
// 1.15 → 0.85 s median wall (CPU 1.52 → 1.15 s). `--version` is mostly Node's own start-up: 0.20 → 0.19 s.
//
// Code splitting keeps each `await import()` a chunk of its own, loaded when a command runs it: `query` loads
// neither the scheduler nor the AWS SDK, `--version` not even zod. Packages stay external (imported from
// node_modules at run time) unless listed in BUNDLED: native code (@duckdb/node-bindings), pino (its transports and
// thread-stream start worker threads by file path), the AWS SDK and Azure identity (large, loaded only by the
// commands that talk to the clouds), prom-client and stream-json (loaded lazily anyway).
//
// Source maps are written beside the chunks but not enabled: `--enable-source-maps` made `contrail query` ~15%
// slower (Node parses every loaded chunk's map). Pass it (or NODE_OPTIONS=--enable-source-maps) to read a stack.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/**
 * Packages compiled into the bundle: plain JavaScript that commands load at start. @duckdb/node-api is the API over
 * the native binding (which stays external): 181 small CommonJS modules that took ~140 ms to load one by one, ~50 ms
 * as one chunk.
 */
const BUNDLED = new Set(["zod", "commander", "@duckdb/node-api"]);

const { values: opts } = parseArgs({
  options: {
    "no-typecheck": { type: "boolean", default: false },
  },
});
const outdir = resolve(ROOT, "dist");

// 1. Types: the build fails on a type error, as it did when tsc compiled it.
if (!opts["no-typecheck"]) {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const checked = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (checked.status !== 0) process.exit(checked.status ?? 1);
}

// 2. The bundle.
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: { entry: "src/cli/entry.ts" },
  outdir,
  // Every chunk directly in dist/: src/version.ts reads ../package.json relative to its own file.
  chunkNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // src/history/duck.ts: in the bundle, DuckDB's API is loaded from its chunk (import()), not node_modules (require).
  define: { CONTRAIL_BUNDLE: "true" },
  // The CommonJS packages compiled in call require() (for Node's built-ins, and @duckdb/node-api for its native
  // binding), which an ES module lacks.
  banner: {
    js: 'import { createRequire as __contrailCreateRequire } from "node:module"; const require = __contrailCreateRequire(import.meta.url);',
  },
  plugins: [
    {
      name: "external-packages",
      setup(b) {
        // A bare specifier (not ./, ../ or /; node: built-ins are external anyway) names a package.
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          const parts = args.path.split("/");
          const name = args.path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
          return BUNDLED.has(name) ? undefined : { external: true };
        });
      },
    },
  ],
});
