// The installed command runs the esbuild bundle (scripts/build.mjs) through bin/contrail.js; every CLI test runs it
// (`npm test` builds it first). This one checks what the others cannot see: `--version`; the daemon, whose history
// follower spawns the same entry; `query` over the history it derived; and which files each command loads: a bundle
// that loaded the AWS SDK, or DuckDB's API module by module, for a query of a local lake would still answer, only
// slower.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import {
  ROOT,
  cleanEnv,
  collect,
  filesUnder,
  installedCli,
  onlySources,
  tempDir,
  waitFor,
  writeConfig,
  type CliResult,
} from "../helpers.js";

const { dir, cleanup } = tempDir("contrail-bundle-");
const WORK = join(dir, "work");
const LAKE = join(WORK, "lake");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

// Records every module a process loads: ES modules as the loader resolves them (a hook, in the loader's thread),
// CommonJS ones from require's cache at exit.
const TRACE_HOOKS = `import { appendFileSync } from "node:fs";
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + "\\n");
  return r;
}
`;
const TRACE = `import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
const out = process.env.CONTRAIL_TEST_TRACE;
register(${JSON.stringify(pathToFileURL(join(dir, "trace-hooks.mjs")).href)}, { data: { out } });
const require = createRequire(import.meta.url);
process.on("exit", () => appendFileSync(out, Object.keys(require.cache).join("\\n") + "\\n"));
`;

function run(args: string[], env: NodeJS.ProcessEnv, trace?: string): Promise<CliResult> {
  const flags = trace ? ["--import", pathToFileURL(join(dir, "trace.mjs")).href] : [];
  const child = spawn(process.execPath, [...flags, installedCli(), ...args], {
    cwd: WORK,
    env: trace ? { ...env, CONTRAIL_TEST_TRACE: trace } : env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collect(child);
}

/** The files a traced run loaded, as paths below node_modules/ or dist/ (other lines dropped). */
function loaded(trace: string): string[] {
  return readFileSync(trace, "utf8")
    .split("\n")
    .map((l) => l.replace(/^file:\/\//, ""))
    .map((l) => /\/(node_modules\/.+|dist\/.+)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

describe("the bundle that bin/contrail.js runs", () => {
  let aws: FakeAwsPricing;
  let pricingUrl: string;

  before(async () => {
    mkdirSync(WORK);
    writeFileSync(join(dir, "trace-hooks.mjs"), TRACE_HOOKS);
    writeFileSync(join(dir, "trace.mjs"), TRACE);
    aws = new FakeAwsPricing({ regions: ["us-east-1"], products: 10 });
    pricingUrl = await aws.start();
  });
  after(async () => {
    await aws?.close();
    cleanup();
  });

  test("--version prints the package's version and loads nothing from node_modules", async () => {
    const trace = join(dir, "version.trace");
    const r = await run(["--version"], cleanEnv(), trace);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
    const files = loaded(trace);
    assert.ok(files.some((f) => f === "dist/entry.js"));
    assert.deepEqual(
      files.filter((f) => f.startsWith("node_modules/")),
      [],
      "commander is compiled in; nothing else is needed",
    );
  });

  test("the daemon derives each capture's history in a child running the bundle; query reads it", async () => {
    writeConfig(WORK, { sources: onlySources({ AmazonEC2: { regionDelay: "0s", interval: "1h" } }) });
    const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl });
    const child = spawn(process.execPath, [installedCli(), "crawl"], {
      cwd: WORK,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = collect(child);
    try {
      await waitFor("the history file", () =>
        filesUnder(LAKE).some((f) => f.startsWith("history/aws_ec2_prices/region=us-east-1/")),
      );
    } finally {
      child.kill("SIGTERM");
    }
    const crawl = await done;
    assert.equal(crawl.code, 0, crawl.stderr);

    const trace = join(dir, "query.trace");
    const sql =
      "SELECT region, count(*) AS periods FROM aws_ec2_price_history WHERE term_type = 'OnDemand' GROUP BY region";
    const q = await run(["query", "--format", "csv", sql], env, trace);
    assert.equal(q.code, 0, q.stderr);
    const [header, row, ...rest] = q.stdout.trim().split("\n");
    assert.equal(header, "region,periods");
    assert.match(row ?? "", /^us-east-1,[1-9]\d*$/);
    assert.deepEqual(rest, []);

    const files = loaded(trace);
    assert.ok(
      files.some((f) => /^dist\/lib-.*\.js$/.test(f)),
      "DuckDB's API, from its chunk",
    );
    assert.ok(
      files.some((f) => f.startsWith("node_modules/@duckdb/node-bindings")),
      "the native binding, from node_modules",
    );
    const unwanted = files.filter((f) =>
      /^node_modules\/(@aws-sdk|@smithy|@azure|@duckdb\/node-api|zod|commander|stream-json|prom-client)\//.test(
        f,
      ),
    );
    assert.deepEqual(unwanted, [], "a query of a local lake loads no cloud SDK, and nothing bundled twice");
  });
});
