// Resolves the configuration once: flag > environment variable > config file > default (SPEC §3). Every setting
// is declared once (src/config/schema.ts, each provider's settings.ts, each source): this file only walks them.
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { ConfigError } from "../errors.js";
import type { Source } from "../sources/define.js";
import { sourcesFor } from "../sources/index.js";
import { PROVIDERS } from "../sources/providers.js";
import {
  CORE_SETTINGS,
  HISTORY_SETTINGS,
  HTTP_SETTINGS,
  SOURCE_BASE_SETTINGS,
  type BaseConfig,
  type Config,
  type SourceSettings,
} from "./schema.js";
import { fileShape, nonEmpty, resolveSettings, type Setting } from "./settings.js";

export { profileRegion } from "../sources/aws/settings.js";

export interface ConfigInputs {
  flags?: { lake?: string; config?: string };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_FILE = "contrail.config.json";
/** First wait after a failed run, unless a source's `cooldown` says otherwise (capped at its interval). */
const DEFAULT_COOLDOWN = 120_000;

type Section = Record<string, unknown>;

export function loadConfig(inputs: ConfigInputs = {}): Readonly<Config> {
  const env = inputs.env ?? process.env;
  const cwd = inputs.cwd ?? process.cwd();
  const path = inputs.flags?.config ?? nonEmpty(env.CONTRAIL_CONFIG);
  const file = readConfigFile(path, cwd);

  const core = resolveSettings(CORE_SETTINGS, env, file.data);
  const lakeText =
    nonEmpty(inputs.flags?.lake) ?? core.lake ?? (core.bucket ? `s3://${core.bucket}` : "./lake");
  // The setting a user changes to point the crawler elsewhere (named when the lake is unusable).
  const lakeFrom = inputs.flags?.lake
    ? "--lake"
    : nonEmpty(env.CONTRAIL_LAKE) || !(core.lake || core.bucket)
      ? "CONTRAIL_LAKE"
      : core.lake
        ? "lake"
        : "AWS_BUCKET_NAME";
  const lake = parseLake(lakeText, cwd, lakeFrom);

  const base: Section = {
    ...core,
    lake,
    lakeFrom,
    lakeUrl: lake.kind === "s3" ? `s3://${lake.bucket}${lake.prefix ? `/${lake.prefix}` : ""}` : lake.dir,
    http: resolveSettings(HTTP_SETTINGS, env, file.data.http as Section | undefined),
    history: resolveSettings(HISTORY_SETTINGS, env, file.data.history as Section | undefined),
  };
  for (const p of PROVIDERS) {
    const values: Section = resolveSettings(p.settings, env, file.data[p.key] as Section | undefined);
    // Each provider's derive matches its own settings; the loop sees their union.
    const derived = (p.derive as ((v: Section, e: NodeJS.ProcessEnv) => Section) | undefined)?.(values, env);
    base[p.key] = { ...values, ...derived };
  }
  const sources = resolveSources(sourcesFor(base as BaseConfig), env, file.data.sources, (issue) =>
    file.fail(issue, ["sources"]),
  );
  return deepFreeze({ ...base, sources } as Config);
}

/** The config file's schema: the crawler's settings, one strict section per provider, `sources` checked later. */
function fileSchema() {
  return z
    .object({
      ...fileShape(CORE_SETTINGS),
      http: z.object(fileShape(HTTP_SETTINGS)).strict().optional(),
      history: z.object(fileShape(HISTORY_SETTINGS)).strict().optional(),
      ...Object.fromEntries(
        PROVIDERS.map((p) => [p.key, z.object(fileShape(p.settings)).strict().optional()]),
      ),
      // Which sources exist depends on the sections above (factories): checked once those are resolved.
      sources: z.record(z.string(), z.unknown()).optional(),
    })
    .strict();
}

/** `sources.<Name>` for every source: its file section checked strictly, then env > file > default. */
export function resolveSources(
  sources: Source[],
  env: NodeJS.ProcessEnv,
  fromFile: unknown,
  fail: (issue: z.core.$ZodIssue) => never,
): Record<string, SourceSettings> {
  const all = (s: Source): readonly Setting[] => [...SOURCE_BASE_SETTINGS, ...s.settings];
  const schema = z
    .object(
      Object.fromEntries(
        sources.map((s) => [
          s.name,
          z
            .object(fileShape(all(s)))
            .strict()
            .optional(),
        ]),
      ),
    )
    .strict();
  const parsed = schema.safeParse(fromFile ?? {});
  if (!parsed.success) fail(parsed.error.issues[0]!);
  const out: Record<string, SourceSettings> = {};
  for (const s of sources) {
    const values = resolveSettings(all(s), env, parsed.data[s.name] as Section | undefined) as Section;
    const interval = (values.interval as number | undefined) ?? s.defaultInterval;
    const cooldown = Math.min((values.cooldown as number | undefined) ?? DEFAULT_COOLDOWN, interval);
    out[s.name] = { ...values, enabled: values.enabled as boolean | undefined, interval, cooldown };
  }
  return out;
}

interface ConfigFile {
  data: Section & { sources?: unknown };
  /** Throws the ConfigError of an issue found in the file (at `prefix` within it). */
  fail(issue: z.core.$ZodIssue, prefix?: string[]): never;
}

function readConfigFile(path: string | undefined, cwd: string): ConfigFile {
  const explicit = path !== undefined;
  const full = resolve(cwd, path ?? DEFAULT_FILE);
  const fail = (issue: z.core.$ZodIssue, prefix: string[] = []): never => {
    const at = [...prefix, ...issue.path.map(String)].join(".") || "(top level)";
    const what =
      issue.code === "unrecognized_keys"
        ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : issue.message;
    throw new ConfigError(`config file ${full}: ${at}: ${what}`);
  };
  if (!existsSync(full)) {
    if (explicit)
      throw new ConfigError(`config file ${full} does not exist (from --config or CONTRAIL_CONFIG)`);
    return { data: {}, fail };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, "utf8"));
  } catch (err) {
    throw new ConfigError(`config file ${full} is not valid JSON: ${(err as Error).message}`);
  }
  const r = fileSchema().safeParse(raw);
  if (!r.success) fail(r.error.issues[0]!);
  return { data: r.data as Section, fail };
}

export function parseLake(text: string, cwd: string, from: string): Config["lake"] {
  if (text.startsWith("s3://")) {
    const rest = text.slice(5).replace(/\/+$/, "");
    const [bucket = "", ...prefix] = rest.split("/");
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigError(
        `${from}=${JSON.stringify(text)}: expected s3://bucket[/prefix] with a valid bucket name`,
      );
    }
    return { kind: "s3", bucket, prefix: prefix.filter(Boolean).join("/") };
  }
  if (text.startsWith("file://")) {
    let dir: string;
    try {
      dir = fileURLToPath(text);
    } catch {
      throw new ConfigError(`${from}=${JSON.stringify(text)}: expected file:///absolute/path`);
    }
    return { kind: "local", dir };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new ConfigError(
      `${from}=${JSON.stringify(text)}: expected s3://bucket[/prefix], file:///abs/path or a directory path`,
    );
  }
  return { kind: "local", dir: isAbsolute(text) ? text : resolve(cwd, text) };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
