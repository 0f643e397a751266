// The Price List sources beside AmazonEC2, end to end through the real CLI into a local lake: each service of
// aws.services (the same offer source as AmazonEC2, made from the configuration) and AWSComputeSavingsPlan (its
// own region index, a list): byte-identical captures of every region, no waste, the index's shape, and the
// start-up check of the configured service codes against the Price List's service index.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SOURCES } from "../../src/sources/index.js";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import type { VersionedFiles } from "../fakes/aws-pricelist-files.js";
import { cleanEnv, filesUnder, gunzipFile, readJson, runCli, tempDir, writeConfig } from "../helpers.js";
import type { CheckRecord, Manifest } from "../../src/types.js";

const FAST = { http: { attempts: 2, baseDelay: "10ms" } };

describe("Price List sources: aws.services and AWSComputeSavingsPlan", () => {
  let aws: FakeAwsPricing;
  let pricingUrl: string;
  let work: { dir: string; cleanup: () => void };
  let n = 0;

  before(async () => {
    aws = new FakeAwsPricing({
      regions: ["us-east-1"],
      products: 5,
      services: { AmazonRDS: ["us-east-1", "eu-west-1"], AmazonS3: ["us-east-1"], AWSLambda: ["us-east-1"] },
      savingsPlanRegions: ["us-east-1", "eu-west-1", "us-west-2-den-1"],
    });
    pricingUrl = await aws.start();
    work = tempDir("contrail-pricelist-");
  });
  after(async () => {
    await aws.close();
    work.cleanup();
  });

  /** A fresh working directory whose config file has no pause between regions for `sources`. */
  function prepare(sources: string[], extra: Record<string, unknown> = {}): string {
    const dir = join(work.dir, String(++n));
    mkdirSync(dir);
    writeConfig(dir, {
      ...FAST,
      sources: Object.fromEntries(sources.map((s) => [s, { regionDelay: "0s" }])),
      ...extra,
    });
    return dir;
  }
  const crawl = (dir: string, source: string, env: Record<string, string> = {}) =>
    runCli(["crawl", "--once", "--source", source], {
      cwd: dir,
      env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl, ...env }),
    });
  const lakeFiles = (dir: string, prefix: string) =>
    filesUnder(join(dir, "lake")).filter((f) => f.startsWith(prefix));
  const manifestOf = (dir: string, key: string) =>
    readJson<Manifest>(join(dir, "lake", `_contrail/manifests/${key.replace(/\.gz$/, "")}`));

  /** Every region of `files` captured once under `name`, byte for byte, with its version and ETag. */
  function assertCaptured(dir: string, name: string, files: VersionedFiles): void {
    for (const region of files.regions()) {
      const keys = lakeFiles(dir, `${name}/${region}/`);
      assert.equal(keys.length, 1, `one capture of ${name} ${region}`);
      assert.deepEqual(
        gunzipFile(join(dir, "lake", keys[0]!)),
        files.bytes(region),
        `${region}: bytes served`,
      );
      const m = manifestOf(dir, keys[0]!);
      assert.equal(m.source, name);
      assert.equal(m.version, files.version(region));
      assert.equal(m.etag, aws.fileEtag(files, region));
      assert.equal(m.urls[0], pricingUrl + files.path(region));
    }
  }

  test("CONTRAIL_AWS_SERVICES=AmazonRDS: a source of that name captures every region's offer file byte for byte", async () => {
    const dir = prepare(["AmazonRDS"]);
    const r = await crawl(dir, "AmazonRDS", { CONTRAIL_AWS_SERVICES: "AmazonRDS" });
    assert.equal(r.code, 0, r.stderr);
    assertCaptured(dir, "AmazonRDS", aws.service("AmazonRDS"));
    assert.equal(lakeFiles(dir, "AmazonEC2/").length, 0, "only the selected source ran");
  });

  test("aws.services in the config file: two services, each its own source with a 24 h interval", async () => {
    const dir = prepare(["AmazonRDS", "AWSLambda"], { aws: { services: ["AmazonRDS", "AWSLambda"] } });
    const r = await crawl(dir, "amazonrds,AWSLambda");
    assert.equal(r.code, 0, r.stderr);
    assertCaptured(dir, "AmazonRDS", aws.service("AmazonRDS"));
    assertCaptured(dir, "AWSLambda", aws.service("AWSLambda"));
    const sources = await runCli(["sources"], {
      cwd: dir,
      env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl }),
    });
    assert.equal(sources.code, 0, sources.stderr);
    assert.match(sources.stdout, /^AmazonRDS\s+enabled\s+1d/m);
    assert.match(sources.stdout, /^AWSLambda\s+enabled\s+1d/m);
    assert.match(sources.stdout, /^AmazonEC2\s+enabled\s+12h/m);
  });

  test("a service's unchanged versions download nothing and record checks; a new version is captured", async () => {
    const dir = prepare(["AmazonRDS"]);
    const env = { CONTRAIL_AWS_SERVICES: "AmazonRDS" };
    const rds = aws.service("AmazonRDS");
    assert.equal((await crawl(dir, "AmazonRDS", env)).code, 0);
    const downloads = () => rds.regions().reduce((s, r) => s + aws.fileRequests(rds, r).length, 0);
    const before = downloads();
    const second = await crawl(dir, "AmazonRDS", env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(downloads(), before, "no offer file downloaded again");
    const checks = lakeFiles(dir, "_contrail/checks/AmazonRDS/");
    assert.equal(checks.length, 2);
    const check = readJson<CheckRecord>(join(dir, "lake", checks[0]!));
    assert.match(check.sameAs, /^AmazonRDS\/[a-z0-9-]+\/.*\.json\.gz$/);

    const version = rds.bump("eu-west-1");
    const third = await crawl(dir, "AmazonRDS", env);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(downloads(), before + 1, "only the new version is downloaded");
    const eu = lakeFiles(dir, "AmazonRDS/eu-west-1/");
    assert.equal(eu.length, 2);
    assert.deepEqual(gunzipFile(join(dir, "lake", eu.at(-1)!)), rds.bytes("eu-west-1"));
    assert.equal(manifestOf(dir, eu.at(-1)!).version, version);
  });

  test("an unknown service code: exit 2 at start-up naming it and the codes offered, nothing downloaded", async () => {
    const dir = prepare([]);
    const from = aws.server.requests.length;
    const r = await crawl(dir, "AmazonRDS", { CONTRAIL_AWS_SERVICES: "AmazonRDS,AmazonFoo" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /CONTRAIL_AWS_SERVICES \(aws\.services\): AmazonFoo is not a service code of the AWS Price List; expected some of AWSLambda, AmazonEC2, AmazonRDS, AmazonS3/,
    );
    const paths = aws.server.requests.slice(from).map((q) => q.path);
    assert.deepEqual(paths, ["/offers/v1.0/aws/index.json"], "only the service index was read");
    assert.deepEqual(
      filesUnder(join(dir, "lake")).filter((f) => !f.startsWith("_contrail/")),
      [],
    );
  });

  test("service codes that are no codes, or name a source of their own: exit 2 before any request", async () => {
    const dir = prepare([]);
    const from = aws.server.requests.length;
    const bad = await crawl(dir, "AmazonEC2", { CONTRAIL_AWS_SERVICES: "AmazonRDS,Amazon RDS" });
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /CONTRAIL_AWS_SERVICES="AmazonRDS,Amazon RDS": expected comma-separated AWS Price List service codes/,
    );
    const twice = await crawl(dir, "AmazonEC2", { CONTRAIL_AWS_SERVICES: "AmazonRDS,amazonrds" });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /expected each service code once/);
    const own = await crawl(dir, "AmazonEC2", { CONTRAIL_AWS_SERVICES: "AmazonEC2" });
    assert.equal(own.code, 2);
    assert.match(own.stderr, /CONTRAIL_AWS_SERVICES \(aws\.services\): AmazonEC2 is a source of its own/);
    assert.equal(aws.server.requests.length, from, "nothing requested");
  });

  test("without aws.services there is no such source: --source AmazonRDS is a usage error; AWSComputeSavingsPlan needs nothing", async () => {
    const dir = prepare([]);
    const r = await crawl(dir, "AmazonRDS");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--source "AmazonRDS": expected one of AmazonEC2, .*AWSComputeSavingsPlan/);
    const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl });
    const sources = await runCli(["sources"], { cwd: dir, env });
    assert.equal(sources.code, 0, sources.stderr);
    assert.match(sources.stdout, /^AWSComputeSavingsPlan\s+enabled\s+1d/m);
    assert.doesNotMatch(sources.stdout, /AmazonRDS\s+(enabled|off)/);
    // Every kind of source is listed: the registry's, and the one made from aws.services with what to set.
    for (const { name } of SOURCES) assert.match(sources.stdout, new RegExp(`^${name}\\s`, "m"));
    assert.match(sources.stdout, /^<service code>\s+off: needs CONTRAIL_AWS_SERVICES \(aws\.services\)/m);
    const rows = sources.stdout.split("\n").slice(2).filter(Boolean);
    assert.equal(rows.length, SOURCES.length + 1, sources.stdout);
    const configured = await runCli(["sources"], {
      cwd: dir,
      env: { ...env, CONTRAIL_AWS_SERVICES: "AmazonRDS" },
    });
    assert.match(configured.stdout, /^AmazonRDS\s+enabled\s+1d/m);
    assert.doesNotMatch(configured.stdout, /<service code>/, "once configured, the service's own row");
  });

  test("the service index unreachable at start-up: a warning, and the runs go on", async () => {
    const dir = prepare(["AmazonS3"]);
    aws.server.fault({ path: "/offers/v1.0/aws/index.json" }, { kind: "status", status: 503 }, 10);
    try {
      const r = await crawl(dir, "AmazonS3", { CONTRAIL_AWS_SERVICES: "AmazonS3" });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.logs.some((l) => /CONTRAIL_AWS_SERVICES is not checked/.test(String(l.msg))));
      assertCaptured(dir, "AmazonS3", aws.service("AmazonS3"));
    } finally {
      aws.server.clearFaults();
    }
  });

  test("AWSComputeSavingsPlan: every entry of the list-shaped region index, Local Zones too, byte for byte", async () => {
    const dir = prepare(["AWSComputeSavingsPlan"]);
    const r = await crawl(dir, "AWSComputeSavingsPlan");
    assert.equal(r.code, 0, r.stderr);
    assertCaptured(dir, "AWSComputeSavingsPlan", aws.savingsPlans);
    assert.equal(lakeFiles(dir, "AWSComputeSavingsPlan/").length, 3);
    const m = manifestOf(dir, lakeFiles(dir, "AWSComputeSavingsPlan/us-west-2-den-1/")[0]!);
    assert.equal(m.region, "us-west-2-den-1");
  });

  test("AWSComputeSavingsPlan: unchanged versions download nothing; a new version of one region is captured", async () => {
    const dir = prepare(["AWSComputeSavingsPlan"]);
    const sp = aws.savingsPlans;
    assert.equal((await crawl(dir, "AWSComputeSavingsPlan")).code, 0);
    const downloads = () => sp.regions().reduce((s, r) => s + aws.fileRequests(sp, r).length, 0);
    const before = downloads();
    assert.equal((await crawl(dir, "AWSComputeSavingsPlan")).code, 0);
    assert.equal(downloads(), before, "nothing downloaded again");
    assert.equal(lakeFiles(dir, "_contrail/checks/AWSComputeSavingsPlan/").length, 3);
    const version = sp.bump("us-east-1");
    assert.equal((await crawl(dir, "AWSComputeSavingsPlan")).code, 0);
    assert.equal(downloads(), before + 1);
    const us = lakeFiles(dir, "AWSComputeSavingsPlan/us-east-1/");
    assert.equal(us.length, 2);
    assert.deepEqual(gunzipFile(join(dir, "lake", us.at(-1)!)), sp.bytes("us-east-1"));
    assert.equal(manifestOf(dir, us.at(-1)!).version, version);
  });

  test("AWSComputeSavingsPlan: an index in the offers' shape (an object of regions) fails the run, nothing stored", async () => {
    const dir = prepare(["AWSComputeSavingsPlan"]);
    const path = "/savingsPlan/v1.0/aws/AWSComputeSavingsPlan/current/region_index.json";
    const body = JSON.stringify({ regions: { "us-east-1": { regionCode: "us-east-1", versionUrl: "/x" } } });
    aws.server.fault({ path }, { kind: "replace", reply: { body } }, 10);
    try {
      const r = await crawl(dir, "AWSComputeSavingsPlan");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /region_index\.json has no "regions" list/);
      assert.deepEqual(lakeFiles(dir, "AWSComputeSavingsPlan/"), []);
    } finally {
      aws.server.clearFaults();
    }
  });

  test("AWSComputeSavingsPlan: a rate file without its terms is never stored", async () => {
    const dir = prepare(["AWSComputeSavingsPlan"]);
    const sp = aws.savingsPlans;
    const doc = JSON.parse(sp.bytes("eu-west-1").toString("utf8")) as Record<string, unknown>;
    delete doc.terms;
    aws.server.fault(
      { path: sp.path("eu-west-1") },
      { kind: "replace", reply: { body: JSON.stringify(doc) } },
      10,
    );
    try {
      const r = await crawl(dir, "AWSComputeSavingsPlan");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /AWSComputeSavingsPlan eu-west-1 failed: .*terms/);
      assert.deepEqual(lakeFiles(dir, "AWSComputeSavingsPlan/eu-west-1/"), []);
      assert.equal(
        lakeFiles(dir, "AWSComputeSavingsPlan/us-east-1/").length,
        1,
        "the other regions are captured",
      );
    } finally {
      aws.server.clearFaults();
    }
  });
});
