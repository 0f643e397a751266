// Opens the lake the configuration names.
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { Lake } from "../types.js";
import { LocalLake } from "./local.js";

/** Opens the lake; the S3 SDK is loaded only for an S3 lake (it costs memory and start-up time). */
export async function openLake(config: Config, log?: Logger): Promise<Lake> {
  if (config.lake.kind === "local") return new LocalLake(config.lake.dir);
  const { S3Lake } = await import("./s3.js");
  return new S3Lake({
    bucket: config.lake.bucket,
    prefix: config.lake.prefix,
    region: config.aws.region,
    ...(config.aws.s3Endpoint ? { endpoint: config.aws.s3Endpoint } : {}),
    forcePathStyle: config.aws.s3ForcePathStyle,
    ...(config.aws.credentials ? { credentials: { ...config.aws.credentials } } : {}),
    ...(config.aws.profile ? { profile: config.aws.profile } : {}),
    maxAttempts: config.http.attempts,
    connectTimeout: config.http.connectTimeout,
    stallTimeout: config.http.stallTimeout,
    ...(log ? { log } : {}),
  });
}
