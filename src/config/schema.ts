// One schema for every setting: the config file's shape, the resolved Config, and each setting's env var name.
import { z } from "zod";
import { parseDuration } from "./duration.js";
import type { SourceName } from "../types.js";

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

const sourceBase = {
  enabled: z.boolean().optional(),
  interval: duration().optional(),
  /** First wait after a failed run; doubles with each failure, capped at the interval. */
  cooldown: duration(100).optional(),
};

/** The config file (contrail.config.json): every key optional, unknown keys rejected. */
export const fileSchema = z
  .object({
    lake: z.string().min(1).optional(),
    bucket: z.string().min(1).optional(),
    logLevel: logLevel.optional(),
    metricsPort: port.optional(),
    /** gzip level of stored captures, 1 (fastest) to 9 (smallest). */
    gzipLevel: z.number().int().min(1).max(9).optional(),
    /** How long a unit's lease lasts without renewal: what a killed crawler costs the next one (default 3m). */
    leaseTtl: duration(1000).optional(),
    aws: z
      .object({
        region: z.string().min(1).optional(),
        s3Endpoint: httpUrl.optional(),
        s3ForcePathStyle: bool.optional(),
        ec2Endpoint: httpUrl.optional(),
        pricingUrl: httpUrl.optional(),
        regions: regionList.optional(),
        profile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    azure: z
      .object({
        tenantId: z
          .string()
          .regex(/^[0-9a-zA-Z.-]+$/, "expected a tenant ID (GUID or domain)")
          .optional(),
        clientId: z.string().min(1).optional(),
        subscriptionId: z.string().min(1).optional(),
        authorityHost: httpsUrl.optional(),
        managementUrl: httpsUrl.optional(),
        retailUrl: httpUrl.optional(),
      })
      .strict()
      .optional(),
    history: z
      .object({
        /** Derive each new capture's history file (SPEC §8) in the daemon, right after storing it. */
        enabled: z.boolean().optional(),
      })
      .strict()
      .optional(),
    http: z
      .object({
        connectTimeout: duration(100).optional(),
        stallTimeout: duration(100).optional(),
        attempts: z.number().int().min(1).max(20).optional(),
        baseDelay: duration(1).optional(),
        maxDelay: duration(1).optional(),
      })
      .strict()
      .optional(),
    sources: z
      .object({
        AmazonEC2: z
          .object({ ...sourceBase, regionDelay: duration(0).optional() })
          .strict()
          .optional(),
        AmazonEC2Spot: z
          .object({ ...sourceBase, concurrency: z.number().int().min(1).max(64).optional() })
          .strict()
          .optional(),
        Azure: z.object(sourceBase).strict().optional(),
        AzureRetail: z
          .object({ ...sourceBase, concurrency: z.number().int().min(1).max(32).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof fileSchema>;

export const schemas = { duration, httpUrl, httpsUrl, regionList, port, logLevel, bool };

export interface SourceSettings {
  /** undefined: enabled when its needs are met. */
  enabled: boolean | undefined;
  interval: number;
  cooldown: number;
}

export interface Config {
  /** Normalised: `s3://bucket[/prefix]` or an absolute directory path. */
  lake: { kind: "s3"; bucket: string; prefix: string } | { kind: "local"; dir: string };
  lakeUrl: string;
  /** The setting that chose the lake (`--lake`, `CONTRAIL_LAKE`, `lake`, `AWS_BUCKET_NAME`): named in lake errors. */
  lakeFrom: string;
  logLevel: z.infer<typeof logLevel>;
  metricsPort: number | undefined;
  gzipLevel: number;
  /** Lease time-to-live in ms; the holder renews every third of it (src/schedule/units.ts). */
  leaseTtl: number;
  aws: {
    region: string;
    s3Endpoint: string | undefined;
    s3ForcePathStyle: boolean;
    ec2Endpoint: string | undefined;
    pricingUrl: string;
    /** Spot regions; undefined: every region of the EC2 price-list region index. */
    regions: string[] | undefined;
    profile: string | undefined;
    /** Explicit keys from the environment; undefined: the SDK's default credential chain. */
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
    /** Whether anything suggests the default chain can find credentials (env, profile, container or web identity). */
    credentialsHint: boolean;
  };
  azure: {
    tenantId: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    subscriptionId: string | undefined;
    authorityHost: string;
    managementUrl: string;
    retailUrl: string;
  };
  history: { enabled: boolean };
  http: {
    connectTimeout: number;
    stallTimeout: number;
    attempts: number;
    baseDelay: number;
    maxDelay: number;
  };
  sources: {
    AmazonEC2: SourceSettings & { regionDelay: number };
    AmazonEC2Spot: SourceSettings & { concurrency: number };
    Azure: SourceSettings;
    AzureRetail: SourceSettings & { concurrency: number };
  } & Record<SourceName, SourceSettings>;
}

export const DEFAULT_INTERVALS: Record<SourceName, number> = {
  AmazonEC2: 12 * 3_600_000,
  AmazonEC2Spot: 60 * 60_000,
  Azure: 60 * 60_000,
  AzureRetail: 24 * 3_600_000,
};
