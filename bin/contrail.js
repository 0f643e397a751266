#!/usr/bin/env node
// `contrail`: the compiled CLI in dist/, built by `npm ci` (the `prepare` script) or `npm run build`.
// For the TypeScript sources, without a build: `npm run dev -- <command>`.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/entry.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("contrail: dist/ is missing; run `npm run build` (or `npm run dev -- <command>`)\n");
  process.exit(2);
}
await import(entry.href);
