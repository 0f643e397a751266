import { writeFileSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.js";
import { parseDuration, formatDuration } from "../../src/config/duration.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir, writeConfig, runCli, cleanEnv } from "../helpers.js";

test("defaults: ./lake, SPEC intervals, AWS and Azure endpoints", () => {
  const { dir, cleanup } = tempDir();
  try {
    const c = loadConfig({ env: {}, cwd: dir });
    assert.deepEqual(c.lake, { kind: "local", dir: `${dir}/lake` });
    assert.equal(c.sources.AmazonEC2.interval, 12 * 3600_000);
    assert.equal(c.sources.AmazonEC2Spot.interval, 3600_000);
    assert.equal(c.sources.Azure.interval, 3600_000);
    assert.equal(c.sources.AzureRetail.interval, 24 * 3600_000);
    assert.equal(c.sources.AmazonEC2.regionDelay, 10_000);
    assert.equal(c.aws.pricingUrl, "https://pricing.us-east-1.amazonaws.com");
    assert.equal(c.aws.region, "us-east-1");
    assert.equal(c.azure.authorityHost, "https://login.microsoftonline.com");
    assert.equal(c.azure.managementUrl, "https://management.azure.com");
    assert.equal(c.azure.retailUrl, "https://prices.azure.com");
    assert.equal(c.logLevel, "info");
    assert.equal(c.metricsPort, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.sources.AmazonEC2));
  } finally {
    cleanup();
  }
});

test("precedence: flag > environment > config file > default", () => {
  const { dir, cleanup } = tempDir();
  try {
    writeConfig(dir, { lake: "s3://from-file/p", logLevel: "warn", aws: { region: "eu-west-1" } });
    let c = loadConfig({ env: {}, cwd: dir });
    assert.equal(c.lakeUrl, "s3://from-file/p");
    assert.equal(c.logLevel, "warn");
    assert.equal(c.aws.region, "eu-west-1");
    c = loadConfig({
      env: { CONTRAIL_LAKE: "s3://from-env", CONTRAIL_LOG_LEVEL: "debug", AWS_REGION: "us-west-2" },
      cwd: dir,
    });
    assert.deepEqual(c.lake, { kind: "s3", bucket: "from-env", prefix: "" });
    assert.equal(c.logLevel, "debug");
    assert.equal(c.aws.region, "us-west-2");
    c = loadConfig({
      flags: { lake: "file:///data/lake" },
      env: { CONTRAIL_LAKE: "s3://from-env" },
      cwd: dir,
    });
    assert.deepEqual(c.lake, { kind: "local", dir: "/data/lake" });
  } finally {
    cleanup();
  }
});

test("AWS_BUCKET_NAME makes the lake s3://bucket when no lake is given; AWS_SECRET is an alias", () => {
  const c = loadConfig({
    env: { AWS_BUCKET_NAME: "old-bucket", AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET: "s3cr3t" },
    cwd: "/tmp",
  });
  assert.equal(c.lakeUrl, "s3://old-bucket");
  assert.deepEqual(c.aws.credentials, { accessKeyId: "AKID", secretAccessKey: "s3cr3t" });
  const d = loadConfig({ env: { AWS_BUCKET_NAME: "old-bucket", CONTRAIL_LAKE: "./x" }, cwd: "/tmp" });
  assert.equal(d.lakeUrl, "/tmp/x");
});

test("config file: intervals, per-source settings; unknown keys and bad values name the key", () => {
  const { dir, cleanup } = tempDir();
  try {
    writeConfig(dir, {
      sources: { AmazonEC2: { interval: "90m", enabled: false }, AzureRetail: { interval: "30s" } },
    });
    const c = loadConfig({ env: {}, cwd: dir });
    assert.equal(c.sources.AmazonEC2.interval, 90 * 60_000);
    assert.equal(c.sources.AmazonEC2.enabled, false);
    assert.equal(c.sources.AzureRetail.interval, 30_000);

    writeConfig(dir, { sources: { AmazonEC2: { intervl: "90m" } } });
    assert.throws(() => loadConfig({ env: {}, cwd: dir }), /sources\.AmazonEC2: unknown key "intervl"/);
    writeConfig(dir, { sources: { AmazonEC2: { interval: "soon" } } });
    assert.throws(
      () => loadConfig({ env: {}, cwd: dir }),
      /sources\.AmazonEC2\.interval: expected a duration like "12h"/,
    );
    writeConfig(dir, { bogus: 1 });
    assert.throws(() => loadConfig({ env: {}, cwd: dir }), ConfigError);
  } finally {
    cleanup();
  }
});

test("bad environment values name the variable and the expected form", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ CONTRAIL_METRICS_PORT: "http" }, /CONTRAIL_METRICS_PORT="http": expected a port number/],
    [{ CONTRAIL_LOG_LEVEL: "loud" }, /CONTRAIL_LOG_LEVEL="loud": expected one of trace/],
    [{ CONTRAIL_LAKE: "gs://bucket" }, /CONTRAIL_LAKE="gs:\/\/bucket": expected s3:\/\/bucket/],
    [
      { CONTRAIL_AWS_REGIONS: "us east" },
      /CONTRAIL_AWS_REGIONS="us east": expected comma-separated AWS region codes/,
    ],
    [{ AZURE_AUTHORITY_HOST: "http://login.example" }, /AZURE_AUTHORITY_HOST=.*expected an https URL/],
    [{ AWS_ENDPOINT_URL_S3: "localhost:9000" }, /AWS_ENDPOINT_URL_S3=.*expected an http\(s\) URL/],
    [{ CONTRAIL_S3_FORCE_PATH_STYLE: "yes please" }, /CONTRAIL_S3_FORCE_PATH_STYLE/],
  ];
  for (const [env, re] of cases) assert.throws(() => loadConfig({ env, cwd: "/tmp" }), re);
});

test("regions: comma-separated list", () => {
  const c = loadConfig({ env: { CONTRAIL_AWS_REGIONS: "us-east-1, eu-west-1" }, cwd: "/tmp" });
  assert.deepEqual(c.aws.regions, ["us-east-1", "eu-west-1"]);
});

test("durations", () => {
  assert.equal(parseDuration("12h"), 43_200_000);
  assert.equal(parseDuration("90m"), 5_400_000);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("12"), undefined);
  assert.equal(parseDuration("h"), undefined);
  assert.equal(formatDuration(43_200_000), "12h");
  assert.equal(formatDuration(5_400_000), "90m");
});

test("the CLI exits 2 with one line naming the setting, and never echoes a secret", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const secret = "VERY-SECRET-VALUE-123";
    const r = await runCli(["crawl", "--once"], {
      cwd: dir,
      env: cleanEnv({
        CONTRAIL_METRICS_PORT: "nope",
        AZURE_CLIENT_SECRET: secret,
        AWS_SECRET_ACCESS_KEY: secret,
        AWS_ACCESS_KEY_ID: "AKID",
      }),
    });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /CONTRAIL_METRICS_PORT/);
    assert.ok(!(r.stdout + r.stderr).includes(secret));

    writeConfig(dir, { azure: { clientSecret: secret } });
    const f = await runCli(["sources"], { cwd: dir, env: cleanEnv() });
    assert.equal(f.code, 2);
    assert.match(f.stderr, /azure: unknown key "clientSecret"/);
    assert.ok(!(f.stdout + f.stderr).includes(secret));
  } finally {
    cleanup();
  }
});

test("S3 region as the AWS CLI v2 finds it: AWS_REGION > AWS_DEFAULT_REGION > config file > profile's region", () => {
  const { dir, cleanup } = tempDir();
  try {
    const awsConfig = `${dir}/aws-config`;
    writeFileSync(
      awsConfig,
      "[default]\nregion = eu-north-1\n\n[profile work] # a comment\noutput = json\nregion=ap-southeast-2\n",
    );
    const region = (env: Record<string, string>) =>
      loadConfig({ env: { AWS_CONFIG_FILE: awsConfig, ...env }, cwd: dir }).aws.region;
    assert.equal(region({}), "eu-north-1", "the default profile's region");
    assert.equal(region({ AWS_PROFILE: "work" }), "ap-southeast-2", "the named profile's region");
    assert.equal(region({ AWS_PROFILE: "other" }), "us-east-1", "a profile without a region: the default");
    assert.equal(region({ AWS_PROFILE: "work", AWS_DEFAULT_REGION: "eu-west-3" }), "eu-west-3");
    assert.equal(region({ AWS_DEFAULT_REGION: "eu-west-3", AWS_REGION: "ca-central-1" }), "ca-central-1");
    writeConfig(dir, { aws: { region: "sa-east-1" } });
    assert.equal(region({ AWS_PROFILE: "work" }), "sa-east-1", "the config file over the profile");
    assert.equal(region({ AWS_DEFAULT_REGION: "eu-west-3" }), "eu-west-3", "the environment over the file");
    assert.equal(loadConfig({ env: { HOME: dir }, cwd: dir }).aws.region, "sa-east-1");
  } finally {
    cleanup();
  }
});

test("lease TTL: 3 minutes by default; CONTRAIL_LEASE_TTL over the file's leaseTtl; a bad one is named", () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.equal(loadConfig({ env: {}, cwd: dir }).leaseTtl, 180_000);
    writeConfig(dir, { leaseTtl: "5m" });
    assert.equal(loadConfig({ env: {}, cwd: dir }).leaseTtl, 300_000);
    assert.equal(loadConfig({ env: { CONTRAIL_LEASE_TTL: "90s" }, cwd: dir }).leaseTtl, 90_000);
    assert.throws(
      () => loadConfig({ env: { CONTRAIL_LEASE_TTL: "soon" }, cwd: dir }),
      /CONTRAIL_LEASE_TTL="soon": expected a duration/,
    );
  } finally {
    cleanup();
  }
});
