// The `aws` section: settings every AWS source shares (and the S3 lake), declared once for the provider.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import * as z from "zod";
import { schemas } from "../../config/schema.js";
import { envSet, nonEmpty, setting } from "../../config/settings.js";
import { ConfigError } from "../../errors.js";
import { defineProvider } from "../define.js";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Price List service codes (`AmazonRDS,AmazonS3`): each names a source, so no two alike but for case. */
const serviceCodes = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((c) => c.trim()).filter(Boolean))
  .refine((l) => l.every((c) => /^[A-Za-z][A-Za-z0-9_-]*$/.test(c)), {
    message: "expected comma-separated AWS Price List service codes such as AmazonRDS,AmazonS3",
  })
  .refine((l) => new Set(l.map((c) => c.toLowerCase())).size === l.length, {
    message: "expected each service code once",
  });

export const aws = defineProvider({
  key: "aws",
  settings: [
    setting({
      key: "accessKeyId",
      env: "AWS_ACCESS_KEY_ID",
      schema: schemas.nonBlank(),
      inFile: false,
      doc: "AWS access key",
      defaultDoc: "the AWS SDK's default chain (also `AWS_PROFILE`, instance and container roles)",
    }),
    setting({
      key: "secretAccessKey",
      env: ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET"],
      schema: schemas.secret(),
      secret: true,
      doc: "AWS secret key (`AWS_SECRET` is an alias)",
      defaultDoc: "with `AWS_ACCESS_KEY_ID`",
    }),
    setting({
      key: "sessionToken",
      env: "AWS_SESSION_TOKEN",
      schema: schemas.secret(),
      secret: true,
      doc: "AWS session token",
      defaultDoc: "none",
    }),
    setting({
      key: "profile",
      env: "AWS_PROFILE",
      schema: schemas.nonBlank(),
      doc: "AWS profile",
      defaultDoc: "`default`",
    }),
    setting({
      key: "region",
      // As the AWS CLI v2: AWS_REGION > AWS_DEFAULT_REGION > (our config file) > the profile's `region`.
      env: ["AWS_REGION", "AWS_DEFAULT_REGION"],
      schema: schemas.nonBlank(),
      default: (resolved, env) => profileRegion(env, resolved.profile as string | undefined) ?? "us-east-1",
      doc: "S3 region (the JS SDK alone reads only `AWS_REGION`)",
      defaultDoc:
        "the `region` of the AWS profile in use (`AWS_PROFILE` or `default`, in `AWS_CONFIG_FILE` or " +
        "`~/.aws/config`), else `us-east-1`; a bucket in another region is found at start-up and used",
    }),
    setting({
      key: "s3Endpoint",
      env: "AWS_ENDPOINT_URL_S3",
      schema: schemas.httpUrl,
      doc: "S3 endpoint",
      defaultDoc: "AWS",
    }),
    setting({
      key: "s3ForcePathStyle",
      env: "CONTRAIL_S3_FORCE_PATH_STYLE",
      schema: schemas.bool,
      default: false,
      doc: "S3 path-style addressing",
    }),
    setting({
      key: "ec2Endpoint",
      env: "AWS_ENDPOINT_URL_EC2",
      schema: schemas.httpUrl,
      doc: "EC2 endpoint",
      defaultDoc: "each region's endpoint",
    }),
    setting({
      key: "pricingUrl",
      env: "CONTRAIL_AWS_PRICING_URL",
      schema: schemas.baseUrl(),
      default: "https://pricing.us-east-1.amazonaws.com",
      doc: "Price List base URL",
    }),
    setting({
      key: "regions",
      env: "CONTRAIL_AWS_REGIONS",
      schema: schemas.regionList,
      doc: "spot regions (comma-separated)",
      defaultDoc: "every region of the EC2 price-list region index",
    }),
    setting({
      key: "services",
      env: "CONTRAIL_AWS_SERVICES",
      schema: serviceCodes,
      default: [],
      doc: "more AWS Price List services (comma-separated codes), each a source",
      defaultDoc: "none; e.g. `AmazonRDS,AmazonS3`",
    }),
  ],
  derive(values, env) {
    const { accessKeyId, secretAccessKey, sessionToken, profile } = values;
    if (accessKeyId && !secretAccessKey) {
      throw new ConfigError(
        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY (or AWS_SECRET) is not: set both",
      );
    }
    const credentials: AwsCredentials | undefined =
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
        : undefined;
    return {
      /** Explicit keys from the environment; undefined: the SDK's default credential chain. */
      credentials,
      /** Whether anything suggests the default chain can find credentials (env, profile, container or web identity). */
      credentialsHint:
        credentials !== undefined ||
        profile !== undefined ||
        envSet(env, [
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI",
          "AWS_WEB_IDENTITY_TOKEN_FILE",
        ]) !== undefined ||
        existsSync(resolve(homedir(), ".aws/credentials")),
    };
  },
  derivedSecrets: ["credentials"],
});

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
