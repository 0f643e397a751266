#!/usr/bin/env node
// Entry point for `npx contrail`. Runs the compiled build in dist/ (made by `npm ci` through the `prepare` script)
// when it is at least as new as every source file; otherwise the TypeScript sources themselves, through tsx, so a
// checkout being edited never runs stale code.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

// The pinned AWS SDK supports Node 20; its notice about future releases is noise for this CLI's users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// A signal before the commands have set up their own handling: nothing has started yet, so exit cleanly.
const early = () => process.exit(0);
process.on("SIGINT", early);
process.on("SIGTERM", early);
globalThis.__contrailEarlySignalHandler = early;

const root = fileURLToPath(new URL("..", import.meta.url));
const built = join(root, "dist/cli/main.js");

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let main;
if (existsSync(built) && statSync(built).mtimeMs >= newestSource(join(root, "src"))) {
  ({ main } = await import(built));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
