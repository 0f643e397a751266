#!/usr/bin/env node
// Runs every test file explicitly: on Node 20, `node --test` given a directory or a glob finds no .ts files.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = find("test").filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
// The tests run the installed command (bin/contrail.js over the bundle in dist/): build it from the current sources
// first. The type check is lint's (`npm run lint`) and the build's, not the tests'.
const built = spawnSync(process.execPath, ["scripts/build.mjs", "--no-typecheck"], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=3", "--test-timeout=300000", ...files],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      // The fake cloud's self-signed certificate (Azure sign-in and Resource Manager require HTTPS).
      NODE_EXTRA_CA_CERTS: join(process.cwd(), "test/fakes/tls/cert.pem"),
      CONTRAIL_LOG_LEVEL: process.env.CONTRAIL_LOG_LEVEL ?? "silent",
    },
  },
);
process.exit(r.status ?? 1);
