// The settings of the crawler itself (lake, logs, HTTP, leases) and the resolved Config's type. Provider settings
// (`aws`, `azure`) are declared in their provider folders, source settings with each source (src/sources/): the
// Config type is inferred from those declarations, so reading a setting nobody declared does not compile.
import * as z from "zod";
import { DEFAULT_GZIP_LEVEL } from "../capture/gzip.js";
import { DEFAULT_LEASE_TTL } from "../lake/leases.js";
import type { SOURCES } from "../sources/index.js";
import type { ProviderConfig } from "../sources/define.js";
import type { PROVIDERS } from "../sources/providers.js";
import type { Setting } from "./settings.js";
import { setting, type Resolved } from "./settings.js";
import { parseDuration } from "./duration.js";

const duration = (min = 1000) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = typeof v === "number" ? v * 1000 : parseDuration(v);
    if (ms === undefined || ms < min) {
      ctx.addIssue({
        code: "custom",
        message: `expected a duration like "12h", "90m" or "30s" (at least ${min} ms)`,
      });
      return z.NEVER;
    }
    return ms;
  });

const trimSlash = (u: string) => u.replace(/\/+$/, "");
const httpUrl = z.string().refine((v) => /^https?:\/\/[^/]/.test(v) && URL.canParse(v), {
  message: "expected an http(s) URL such as https://host[:port]",
});
const httpsUrl = z.string().refine((v) => /^https:\/\/[^/]/.test(v) && URL.canParse(v), {
  message: "expected an https URL such as https://host[:port]",
});
const regionList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((r) => r.trim()).filter(Boolean))
  .refine((l) => l.length > 0 && l.every((r) => /^[a-z]{2}(-[a-z0-9]+)+$/.test(r)), {
    message: "expected comma-separated AWS region codes such as us-east-1,eu-west-1",
  });
const port = z
  .union([z.number(), z.string().regex(/^\d+$/).transform(Number)], {
    message: "expected a port number from 1 to 65535",
  })
  .refine((n) => Number.isInteger(n) && n >= 1 && n <= 65535, {
    message: "expected a port number from 1 to 65535",
  });
const logLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
  message: "expected one of trace, debug, info, warn, error, fatal, silent",
});
const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
  .transform((v) => v === true || v === "true" || v === "1");
const nonBlank = () => z.string().trim().min(1, { message: "expected a non-empty value" });
/** A secret: taken as it is (trimmed), never validated against a form that an error would have to quote. */
const secret = () => z.string();

/** The value schemas settings are declared with. */
export const schemas = {
  duration,
  httpUrl,
  httpsUrl,
  /** A base URL without trailing slashes, so paths can be appended. */
  baseUrl: () => httpUrl.transform(trimSlash),
  httpsBaseUrl: () => httpsUrl.transform(trimSlash),
  regionList,
  port,
  logLevel,
  bool,
  nonBlank,
  secret,
};

/** Top-level settings of the config file. `lake` is resolved by the loader (flag, bucket fallback, its origin). */
export const CORE_SETTINGS = [
  setting({
    key: "lake",
    env: "CONTRAIL_LAKE",
    schema: z.string().min(1),
    doc: "lake",
    defaultDoc: "`./lake`; also `s3://bucket[/prefix]`, `file:///abs/path` or a path (flag `--lake`)",
  }),
  setting({
    key: "bucket",
    env: "AWS_BUCKET_NAME",
    schema: nonBlank(),
    doc: "bucket (original crawler)",
    defaultDoc: "when set and no lake is given, the lake is `s3://$AWS_BUCKET_NAME`",
  }),
  setting({
    key: "metricsPort",
    env: "CONTRAIL_METRICS_PORT",
    schema: port,
    doc: "metrics and health port",
    defaultDoc: "off",
  }),
  setting({
    key: "logLevel",
    env: "CONTRAIL_LOG_LEVEL",
    schema: logLevel,
    default: "info",
    doc: "log level",
  }),
  setting({
    key: "gzipLevel",
    schema: z.number().int().min(1).max(9),
    default: DEFAULT_GZIP_LEVEL,
    doc: "gzip level of stored captures, 1 (fastest) to 9 (smallest)",
  }),
  setting({
    key: "leaseTtl",
    env: "CONTRAIL_LEASE_TTL",
    schema: duration(1000),
    default: DEFAULT_LEASE_TTL,
    doc: "lease time-to-live: what a killed crawler costs the next one",
    defaultDoc: "3m",
  }),
] as const;

/** The `http` section: one policy for every request (src/http). */
export const HTTP_SETTINGS = [
  setting({
    key: "connectTimeout",
    schema: duration(100),
    default: 30_000,
    doc: "HTTP connect timeout",
    defaultDoc: "30s",
  }),
  setting({
    key: "stallTimeout",
    schema: duration(100),
    default: 60_000,
    doc: "HTTP body stall timeout",
    defaultDoc: "60s",
  }),
  setting({
    key: "attempts",
    schema: z.number().int().min(1).max(20),
    default: 5,
    doc: "HTTP attempts per request",
  }),
  setting({
    key: "baseDelay",
    schema: duration(1),
    default: 1000,
    doc: "first retry delay (doubles, jittered)",
    defaultDoc: "1s",
  }),
  setting({
    key: "maxDelay",
    schema: duration(1),
    default: 60_000,
    doc: "longest retry delay",
    defaultDoc: "60s",
  }),
] as const;

/** The `history` section (SPEC §8). */
export const HISTORY_SETTINGS = [
  setting({
    key: "enabled",
    schema: z.boolean(),
    default: true,
    doc: "the daemon derives each new capture's history (SPEC §8) right after storing it",
  }),
] as const;

/** The settings every source has under `sources.<Name>`, besides its own. */
export const SOURCE_BASE_SETTINGS = [
  setting({
    key: "enabled",
    schema: z.boolean(),
    doc: "enable or disable the source",
    defaultDoc: "enabled when its needs are met",
  }),
  setting({
    key: "interval",
    schema: duration(),
    doc: "the source's interval (its slots)",
    defaultDoc: "its default interval",
  }),
  /** First wait after a failed run; doubles with each failure, capped at the interval. */
  setting({
    key: "cooldown",
    schema: duration(100),
    doc: "first wait after a failed run (doubles, capped at the interval)",
    defaultDoc: "2m",
  }),
] as const satisfies readonly Setting[];

export interface SourceSettings {
  /** undefined: enabled when its needs are met. */
  enabled: boolean | undefined;
  interval: number;
  cooldown: number;
}

/** The crawler's own settings, resolved. */
export type CoreConfig = Omit<Resolved<typeof CORE_SETTINGS>, "lake"> & {
  /** Normalised: `s3://bucket[/prefix]` or an absolute directory path. */
  lake: { kind: "s3"; bucket: string; prefix: string } | { kind: "local"; dir: string };
  lakeUrl: string;
  /** The setting that chose the lake (`--lake`, `CONTRAIL_LAKE`, `lake`, `AWS_BUCKET_NAME`): named in lake errors. */
  lakeFrom: string;
  http: Resolved<typeof HTTP_SETTINGS>;
  history: Resolved<typeof HISTORY_SETTINGS>;
};

/** Each provider's section (`aws`, `azure`), as its folder declares it. */
export type ProviderConfigs = { [P in (typeof PROVIDERS)[number] as P["key"]]: ProviderConfig<P> };

/** What a source sees of the configuration: everything but the other sources' settings. */
export type BaseConfig = CoreConfig & ProviderConfigs;

type StaticSource = (typeof SOURCES)[number];

/**
 * Every source's settings: the registry's sources by name, with their own settings' types; sources made at config
 * time (e.g. from `aws.services`) have at least the common ones.
 */
export type SourcesConfig = {
  [S in StaticSource as S["name"]]: SourceSettings & Resolved<S["settings"]>;
} & Record<string, SourceSettings>;

export type Config = BaseConfig & { sources: SourcesConfig };
