#!/usr/bin/env node
// `contrail`: the bundled CLI in dist/ (entry.js and its chunks), built by `npm ci` (the `prepare` script) or
// `npm run build` (scripts/build.mjs).
// For the TypeScript sources, without a build: `npm run dev -- <command>`.
import { existsSync } from "node:fs";
import module from "node:module";

// On Node >= 22.1, V8 keeps the compiled code of the CLI's modules (and its dependencies') in a cache on disk (the
// OS temp directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off), so a command's start-up does not compile them again.
// Node 20 has no such cache and skips this.
module.enableCompileCache?.();

const entry = new URL("../dist/entry.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("contrail: dist/ is missing; run `npm run build` (or `npm run dev -- <command>`)\n");
  process.exit(2);
}
await import(entry.href);
