// Shared test helpers: run the real CLI as a user would, temp directories, lake inspection.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { SOURCES } from "../src/sources/index.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The installed command: runs the bundle in dist/ (benchmarks and scripts build first). */
export const BIN = join(ROOT, "bin/contrail.js");
/**
 * The CLI from the current sources, through tsx, as `npm run dev` runs it (the TTY test runs it so). tsx is
 * named by its absolute URL, since the child's working directory is a temporary one without node_modules.
 */
export const CLI_FROM_SOURCES: readonly string[] = [
  "--import",
  import.meta.resolve("tsx"),
  join(ROOT, "src/cli/entry.ts"),
];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed JSON log lines from stdout. */
  logs: Record<string, unknown>[];
}

/** Environment with nothing of the developer's cloud settings leaking into a test. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|AZURE_|CONTRAIL_)/.test(k)) continue;
    env[k] = v;
  }
  env.CONTRAIL_LOG_LEVEL = "info";
  env.AWS_EC2_METADATA_DISABLED = "true";
  env.HOME = extra.HOME ?? env.HOME;
  return withEnv(env, extra);
}

/** A copy of `env` with `changes` applied: a value sets the variable, undefined removes it. */
export function withEnv(
  env: NodeJS.ProcessEnv,
  changes: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/**
 * The tests run the installed command (bin/contrail.js over the bundle in dist/), as a user runs it: through tsx,
 * each process compiled and loaded our ~300 modules one by one, at twice the CPU (the fault suite alone starts
 * hundreds of processes). `npm test` builds the bundle from the current sources first (scripts/test.mjs); a dist/
 * older than any file in src/ fails the test instead of testing stale code.
 */
export function installedCli(): string {
  if (bundleChecked) return BIN;
  const entry = join(ROOT, "dist/entry.js");
  let built: number;
  try {
    built = statSync(entry).mtimeMs;
  } catch {
    throw new Error("dist/ has no bundle: run the tests with `npm test` (or `npm run build` first)");
  }
  const newer = filesUnder(join(ROOT, "src")).find((f) => statSync(join(ROOT, "src", f)).mtimeMs > built);
  if (newer)
    throw new Error(
      `src/${newer} changed after dist/ was built: run the tests with \`npm test\`, which builds first`,
    );
  bundleChecked = true;
  return BIN;
}
let bundleChecked = false;

export function startCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  return spawn(process.execPath, [installedCli(), ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      const logs = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        });
      resolve({ code, signal, stdout, stderr, logs });
    });
  });
}

export function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliResult> {
  return collect(startCli(args, opts));
}

export function tempDir(prefix = "contrail-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `fn` every `every` ms until it gives something other than undefined or false, and returns that; throws after
 * `ms`, naming `what`.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 60_000,
  every = 20,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** Every file below `dir`, as `/`-separated paths relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(join(dir, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out.sort();
}

export function gunzipFile(path: string): Buffer {
  return gunzipSync(readFileSync(path));
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

export function writeConfig(dir: string, config: unknown): string {
  const path = join(dir, "contrail.config.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** Resolves once the child's stdout has contained `text` (e.g. a log message), or rejects after `ms`. */
export function waitForOutput(child: ChildProcess, text: string, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      child.stdout?.off("data", onData);
      reject(new Error(`no "${text}" in the output within ${ms} ms`));
    }, ms);
    const onData = (d: Buffer) => {
      seen = (seen + d.toString()).slice(-100_000);
      if (seen.includes(text)) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
  });
}

/**
 * A config file's `sources` for a test that runs `crawl` without `--source`: these sources with these settings, and
 * every other source of the registry disabled, so that the run stays on the fakes the test started (sources that
 * need nothing reach for the real clouds by default), whatever sources are added later.
 */
export function onlySources(
  kept: Record<string, Record<string, unknown>>,
): Record<string, Record<string, unknown>> {
  const off = SOURCES.filter((s) => !(s.name in kept)).map((s) => [s.name, { enabled: false }]);
  return { ...Object.fromEntries(off), ...kept };
}
