// Resolves the configuration once: flag > environment variable > config file > default (SPEC §3).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { DEFAULT_GZIP_LEVEL } from "../capture/gzip.js";
import { DEFAULT_LEASE_TTL } from "../lake/leases.js";
import { ConfigError } from "../errors.js";
import { SOURCE_NAMES } from "../types.js";
import { DEFAULT_INTERVALS, fileSchema, schemas, type Config, type ConfigFile } from "./schema.js";

/** Regions of AmazonEC2Spot captured at once, by default; memory is one slice of records per region in flight. */
export const SPOT_CONCURRENCY = 34;

export interface ConfigInputs {
  flags?: { lake?: string; config?: string };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_FILE = "contrail.config.json";

export function loadConfig(inputs: ConfigInputs = {}): Readonly<Config> {
  const env = inputs.env ?? process.env;
  const cwd = inputs.cwd ?? process.cwd();
  const file = readConfigFile(inputs.flags?.config ?? nonEmpty(env.CONTRAIL_CONFIG), cwd);

  // Secrets (AWS_SECRET_ACCESS_KEY, AZURE_CLIENT_SECRET) are read as they are, never through here: a bad value of a
  // setting picked here is quoted back in the error.
  const pick = <T>(envName: string, schema: z.ZodType<T, unknown>, fileValue: T | undefined) =>
    fromEnv(env, envName, schema) ?? fileValue;

  const bucket = pick("AWS_BUCKET_NAME", nonBlank(), file.bucket);
  const lakeText =
    nonEmpty(inputs.flags?.lake) ??
    nonEmpty(env.CONTRAIL_LAKE) ??
    file.lake ??
    (bucket ? `s3://${bucket}` : "./lake");
  // The setting a user changes to point the crawler elsewhere (named when the lake is unusable).
  const lakeFrom = inputs.flags?.lake
    ? "--lake"
    : nonEmpty(env.CONTRAIL_LAKE) || !(file.lake || bucket)
      ? "CONTRAIL_LAKE"
      : file.lake
        ? "lake"
        : "AWS_BUCKET_NAME";
  const lake = parseLake(lakeText, cwd, lakeFrom);

  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY) ?? nonEmpty(env.AWS_SECRET);
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  if (accessKeyId && !secretAccessKey) {
    throw new ConfigError(
      "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY (or AWS_SECRET) is not: set both",
    );
  }
  const profile = nonEmpty(env.AWS_PROFILE) ?? file.aws?.profile;
  const credentials =
    accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
      : undefined;
  const credentialsHint =
    credentials !== undefined ||
    profile !== undefined ||
    Boolean(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) ||
    Boolean(env.AWS_WEB_IDENTITY_TOKEN_FILE) ||
    existsSync(resolve(homedir(), ".aws/credentials"));

  const s = file.sources ?? {};
  const source = (
    name: (typeof SOURCE_NAMES)[number],
    extra: { interval?: number; enabled?: boolean; cooldown?: number } | undefined,
  ) => {
    const interval = extra?.interval ?? DEFAULT_INTERVALS[name];
    return { enabled: extra?.enabled, interval, cooldown: Math.min(extra?.cooldown ?? 120_000, interval) };
  };

  const config: Config = {
    lake,
    lakeFrom,
    lakeUrl: lake.kind === "s3" ? `s3://${lake.bucket}${lake.prefix ? `/${lake.prefix}` : ""}` : lake.dir,
    logLevel: pick("CONTRAIL_LOG_LEVEL", schemas.logLevel, file.logLevel) ?? "info",
    metricsPort: pick("CONTRAIL_METRICS_PORT", schemas.port, file.metricsPort),
    gzipLevel: file.gzipLevel ?? DEFAULT_GZIP_LEVEL,
    leaseTtl: pick("CONTRAIL_LEASE_TTL", schemas.duration(1000), file.leaseTtl) ?? DEFAULT_LEASE_TTL,
    aws: {
      // As the AWS CLI v2: AWS_REGION > AWS_DEFAULT_REGION > (our config file) > the profile's `region`.
      region:
        pick("AWS_REGION", nonBlank(), undefined) ??
        pick("AWS_DEFAULT_REGION", nonBlank(), file.aws?.region) ??
        profileRegion(env, profile) ??
        "us-east-1",
      s3Endpoint: pick("AWS_ENDPOINT_URL_S3", schemas.httpUrl, file.aws?.s3Endpoint),
      s3ForcePathStyle:
        pick("CONTRAIL_S3_FORCE_PATH_STYLE", schemas.bool, file.aws?.s3ForcePathStyle) ?? false,
      ec2Endpoint: pick("AWS_ENDPOINT_URL_EC2", schemas.httpUrl, file.aws?.ec2Endpoint),
      pricingUrl: trimSlash(
        pick("CONTRAIL_AWS_PRICING_URL", schemas.httpUrl, file.aws?.pricingUrl) ??
          "https://pricing.us-east-1.amazonaws.com",
      ),
      regions: pick("CONTRAIL_AWS_REGIONS", schemas.regionList, file.aws?.regions),
      profile,
      credentials,
      credentialsHint,
    },
    azure: {
      tenantId: pick("AZURE_TENANT_ID", nonBlank(), file.azure?.tenantId),
      clientId: pick("AZURE_CLIENT_ID", nonBlank(), file.azure?.clientId),
      clientSecret: nonEmpty(env.AZURE_CLIENT_SECRET),
      subscriptionId: pick("AZURE_SUBSCRIPTION_ID", nonBlank(), file.azure?.subscriptionId),
      authorityHost: trimSlash(
        pick("AZURE_AUTHORITY_HOST", schemas.httpsUrl, file.azure?.authorityHost) ??
          "https://login.microsoftonline.com",
      ),
      managementUrl: trimSlash(
        pick("CONTRAIL_AZURE_MANAGEMENT_URL", schemas.httpsUrl, file.azure?.managementUrl) ??
          "https://management.azure.com",
      ),
      retailUrl: trimSlash(
        pick("CONTRAIL_AZURE_RETAIL_URL", schemas.httpUrl, file.azure?.retailUrl) ??
          "https://prices.azure.com",
      ),
    },
    history: { enabled: file.history?.enabled ?? true },
    http: {
      connectTimeout: file.http?.connectTimeout ?? 30_000,
      stallTimeout: file.http?.stallTimeout ?? 60_000,
      attempts: file.http?.attempts ?? 5,
      baseDelay: file.http?.baseDelay ?? 1000,
      maxDelay: file.http?.maxDelay ?? 60_000,
    },
    sources: {
      AmazonEC2: { ...source("AmazonEC2", s.AmazonEC2), regionDelay: s.AmazonEC2?.regionDelay ?? 10_000 },
      AmazonEC2Spot: {
        ...source("AmazonEC2Spot", s.AmazonEC2Spot),
        // Every Region at once (34 in the aws partition): each is its own endpoint with its own request limits.
        concurrency: s.AmazonEC2Spot?.concurrency ?? SPOT_CONCURRENCY,
      },
      Azure: source("Azure", s.Azure),
      AzureRetail: { ...source("AzureRetail", s.AzureRetail), concurrency: s.AzureRetail?.concurrency ?? 4 },
    },
  };
  return deepFreeze(config);
}

function readConfigFile(path: string | undefined, cwd: string): ConfigFile {
  const explicit = path !== undefined;
  const full = resolve(cwd, path ?? DEFAULT_FILE);
  if (!existsSync(full)) {
    if (explicit)
      throw new ConfigError(`config file ${full} does not exist (from --config or CONTRAIL_CONFIG)`);
    return {};
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, "utf8"));
  } catch (err) {
    throw new ConfigError(`config file ${full} is not valid JSON: ${(err as Error).message}`);
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const at = issue.path.join(".") || "(top level)";
    const what =
      issue.code === "unrecognized_keys"
        ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : issue.message;
    throw new ConfigError(`config file ${full}: ${at}: ${what}`);
  }
  return r.data;
}

function fromEnv<T>(env: NodeJS.ProcessEnv, name: string, schema: z.ZodType<T, unknown>): T | undefined {
  const v = nonEmpty(env[name]);
  if (v === undefined) return undefined;
  const r = schema.safeParse(v);
  if (!r.success) {
    throw new ConfigError(`${name}=${JSON.stringify(v)}: ${r.error.issues[0]?.message ?? "invalid value"}`);
  }
  return r.data;
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

/**
 * The `region` of the AWS profile in use (AWS_PROFILE, else `default`) from the shared config file
 * (AWS_CONFIG_FILE, else ~/.aws/config), as every AWS SDK and the CLI read it. Sections are `[default]` and
 * `[profile NAME]`; undefined when the file, the profile or its region is missing.
 */
export function profileRegion(env: NodeJS.ProcessEnv, profile: string | undefined): string | undefined {
  const path = nonEmpty(env.AWS_CONFIG_FILE) ?? resolve(nonEmpty(env.HOME) ?? homedir(), ".aws/config");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const name = profile ?? "default";
  let inProfile = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const section = /^\[\s*(.+?)\s*\]$/.exec(line)?.[1];
    if (section !== undefined) {
      const words = section.split(/\s+/);
      inProfile =
        (words[0] === "profile" && words[1] === name) || (name === "default" && section === "default");
      continue;
    }
    const kv = /^region\s*=\s*(\S+)$/.exec(line);
    if (inProfile && kv) return kv[1];
  }
  return undefined;
}

function nonBlank(): z.ZodType<string, unknown> {
  return z.string().trim().min(1, { message: "expected a non-empty value" });
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, "");
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
