// Opens the lake the configuration names.
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { Lake } from "../types.js";
import { LocalLake } from "./local.js";
import { S3Lake } from "./s3.js";

export function openLake(config: Config, log?: Logger): Lake {
  if (config.lake.kind === "local") return new LocalLake(config.lake.dir);
  return new S3Lake({
    bucket: config.lake.bucket,
    prefix: config.lake.prefix,
    region: config.aws.region,
    ...(config.aws.s3Endpoint ? { endpoint: config.aws.s3Endpoint } : {}),
    forcePathStyle: config.aws.s3ForcePathStyle,
    ...(config.aws.credentials ? { credentials: { ...config.aws.credentials } } : {}),
    ...(config.aws.profile ? { profile: config.aws.profile } : {}),
    maxAttempts: config.http.attempts,
    ...(log ? { log } : {}),
  });
}
