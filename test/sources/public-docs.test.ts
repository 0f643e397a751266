// The single public document sources end to end through the real CLI, into a local lake: AmazonEC2SpotAdvisor,
// AmazonEC2SpotFeed (plain JSON and JSONP) and OracleCloud against their fakes; no waste (304 to the latest ETag,
// and the same bytes under a new ETag); what is refused (an empty catalogue, a missing key, JavaScript keys); and
// `contrail crawl --once` with no configuration capturing all three.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/sources/public-docs.test.ts
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { FakeRetail } from "../fakes/azure.js";
import { FakeOraclePrices, OCI_PATH } from "../fakes/oracle.js";
import {
  ADVISOR_PATH,
  FEED_JSONP_PATH,
  FEED_LEGACY_PATH,
  FEED_PATH,
  FakeSpotAdvisor,
  FakeSpotFeed,
} from "../fakes/spot-web.js";
import { cleanEnv, filesUnder, gunzipFile, readJson, runCli, tempDir, type CliResult } from "../helpers.js";
import type { CheckRecord, Manifest } from "../../src/types.js";
import { SOURCES } from "../../src/sources/index.js";

interface Run {
  r: CliResult;
  captures: string[];
  checks: string[];
}

/** A lake in a fresh directory, crawled as often as the test likes. */
function lakeDir() {
  const { dir, cleanup } = tempDir();
  const lake = join(dir, "lake");
  return {
    dir,
    cleanup,
    async crawl(source: string, env: Record<string, string>): Promise<Run> {
      const r = await runCli(["crawl", "--once", "--source", source], { cwd: dir, env: cleanEnv(env) });
      const files = filesUnder(lake);
      return {
        r,
        captures: files.filter((f) => f.startsWith(`${source}/global/`)),
        checks: files.filter((f) => f.startsWith(`_contrail/checks/${source}/global/`)),
      };
    },
    content: (key: string) => gunzipFile(join(lake, key)),
    manifest: (key: string) =>
      readJson<Manifest>(join(lake, `_contrail/manifests/${key.replace(/\.gz$/, "")}`)),
    check: (key: string) => readJson<CheckRecord>(join(lake, key)),
  };
}

describe("AmazonEC2SpotAdvisor", () => {
  let advisor: FakeSpotAdvisor;
  before(async () => {
    advisor = new FakeSpotAdvisor();
    await advisor.start();
  });
  after(() => advisor.close());
  const env = () => ({ CONTRAIL_AWS_SPOT_ADVISOR_URL: advisor.url });

  test("captures the bytes served under global, with the ETag; then 304 to that ETag records a check", async () => {
    const l = lakeDir();
    try {
      const first = await l.crawl("AmazonEC2SpotAdvisor", env());
      assert.equal(first.r.code, 0, first.r.stderr);
      assert.equal(first.captures.length, 1);
      const key = first.captures[0]!;
      assert.match(key, /^AmazonEC2SpotAdvisor\/global\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\.json\.gz$/);
      assert.ok(l.content(key).equals(advisor.bytes()), "the bytes as served");
      const m = l.manifest(key);
      assert.equal(m.etag, advisor.etag());
      assert.deepEqual(m.urls, [advisor.url]);
      const doc = JSON.parse(l.content(key).toString("utf8")) as {
        spot_advisor: Record<string, Record<string, Record<string, { s: number; r: number }>>>;
        ranges: { index: number }[];
      };
      const bands = Object.values(doc.spot_advisor["us-east-1"]?.Linux ?? {});
      assert.ok(bands.length > 0 && bands.every((b) => doc.ranges[b.r] !== undefined), "r indexes ranges");

      const second = await l.crawl("AmazonEC2SpotAdvisor", env());
      assert.equal(second.r.code, 0, second.r.stderr);
      const last = advisor.server.requestsTo(ADVISOR_PATH).at(-1)!;
      assert.equal(last.headers["if-none-match"], advisor.etag(), "asked with the latest capture's ETag");
      assert.deepEqual(second.captures, first.captures, "no second copy");
      assert.equal(second.checks.length, 1);
      const check = l.check(second.checks[0]!);
      assert.equal(check.sameAs, key);
      assert.equal(check.etag, advisor.etag());
    } finally {
      l.cleanup();
    }
  });

  test("the same bytes under a new ETag record a check; new bytes are a new capture", async () => {
    const l = lakeDir();
    try {
      assert.equal((await l.crawl("AmazonEC2SpotAdvisor", env())).r.code, 0);
      advisor.reupload('"0123456789abcdef0123456789abcdef-2"');
      const same = await l.crawl("AmazonEC2SpotAdvisor", env());
      assert.equal(same.r.code, 0, same.r.stderr);
      assert.equal(same.captures.length, 1, "the same content is not stored twice");
      assert.equal(same.checks.length, 1);
      assert.equal(l.check(same.checks[0]!).etag, advisor.etag(), "the check names the ETag now served");

      // The next run names both ETags: the new one is answered 304, nothing is downloaded again.
      const again = await l.crawl("AmazonEC2SpotAdvisor", env());
      assert.equal(again.r.code, 0, again.r.stderr);
      const asked = advisor.server.requestsTo(ADVISOR_PATH).at(-1)!.headers["if-none-match"] ?? "";
      assert.ok(asked.split(", ").includes(advisor.etag()), `If-None-Match: ${asked}`);
      assert.equal(again.checks.length, 2);
      assert.equal(again.captures.length, 1);

      advisor.publish({ types: 30, seed: 99 });
      const changed = await l.crawl("AmazonEC2SpotAdvisor", env());
      assert.equal(changed.r.code, 0, changed.r.stderr);
      assert.equal(changed.captures.length, 2);
      assert.ok(l.content(changed.captures[1]!).equals(advisor.bytes()));
    } finally {
      advisor.publish({});
      l.cleanup();
    }
  });

  for (const [what, body, message] of [
    [
      "without ranges",
      '{"instance_types": {"m5.large": {"emr": true}}, "spot_advisor": {"us-east-1": {"Linux": {}}}}',
      /lacks required top-level key: ranges/,
    ],
    [
      "with no region in spot_advisor",
      '{"instance_types": {"m5.large": {"emr": true, "cores": 2, "ram_gb": 8.0}}, "ranges": [{"index": 0}], "spot_advisor": {}}',
      /"spot_advisor" is empty/,
    ],
  ] as const) {
    test(`a document ${what} is never stored`, async () => {
      const l = lakeDir();
      try {
        advisor.server.fault(
          { path: ADVISOR_PATH },
          { kind: "replace", reply: { headers: { "content-type": "application/json" }, body } },
          10,
        );
        const run = await l.crawl("AmazonEC2SpotAdvisor", env());
        assert.equal(run.r.code, 1, run.r.stderr);
        assert.match(run.r.stderr, /AmazonEC2SpotAdvisor global failed: /);
        assert.match(run.r.stderr, message);
        assert.deepEqual(run.captures, []);
      } finally {
        advisor.server.clearFaults();
        l.cleanup();
      }
    });
  }
});

describe("AmazonEC2SpotFeed", () => {
  let feed: FakeSpotFeed;
  before(async () => {
    feed = new FakeSpotFeed();
    await feed.start();
  });
  after(() => feed.close());
  const env = (url: string) => ({ CONTRAIL_AWS_SPOT_FEED_URL: url });

  test("spot.json: the bytes served, no JSONP in the manifest; the fake's quirks are there", async () => {
    const l = lakeDir();
    try {
      const run = await l.crawl("AmazonEC2SpotFeed", env(feed.url(FEED_PATH)));
      assert.equal(run.r.code, 0, run.r.stderr);
      const text = l.content(run.captures[0]!);
      assert.ok(text.equals(feed.jsonBytes()));
      assert.equal(l.manifest(run.captures[0]!).jsonp, undefined);
      const s = text.toString("utf8");
      for (const quirk of ['"N/A*"', '"9.0E-4"', '"region":"eu-ireland"', '"sizes":[]'])
        assert.ok(s.includes(quirk), quirk);
    } finally {
      l.cleanup();
    }
  });

  for (const style of ["tight", "spaced"] as const) {
    test(`spot.js (JSONP, ${style}): the JSON inside is stored; the manifest names the callback`, async () => {
      const l = lakeDir();
      try {
        feed.jsonpStyle = style;
        const name = "jQuery3_1700000000";
        const run = await l.crawl("AmazonEC2SpotFeed", env(`${feed.url(FEED_JSONP_PATH)}?callback=${name}`));
        assert.equal(run.r.code, 0, run.r.stderr);
        const key = run.captures[0]!;
        assert.ok(l.content(key).equals(feed.jsonBytes()), "exactly the JSON inside the wrapper");
        const m = l.manifest(key);
        assert.equal(m.jsonp, name);
        assert.equal(m.bytes, feed.jsonBytes().length);
      } finally {
        feed.jsonpStyle = "tight";
        l.cleanup();
      }
    });
  }

  test("the legacy spot.js with JavaScript keys (unquoted) is refused, not rewritten", async () => {
    const l = lakeDir();
    try {
      const run = await l.crawl("AmazonEC2SpotFeed", env(feed.url(FEED_LEGACY_PATH)));
      assert.equal(run.r.code, 1, run.r.stderr);
      assert.match(run.r.stderr, /AmazonEC2SpotFeed global failed: .*unquoted/);
      assert.deepEqual(run.captures, []);
    } finally {
      l.cleanup();
    }
  });

  test("a JSONP body whose wrapper does not close is never stored", async () => {
    const l = lakeDir();
    try {
      const body = Buffer.concat([Buffer.from("callback("), feed.jsonBytes(), Buffer.from(";")]);
      feed.server.fault({ path: FEED_JSONP_PATH }, { kind: "replace", reply: { body } }, 10);
      const run = await l.crawl("AmazonEC2SpotFeed", env(feed.url(FEED_JSONP_PATH)));
      assert.equal(run.r.code, 1, run.r.stderr);
      assert.match(run.r.stderr, /does not end with "\)" or "\);"/);
      assert.deepEqual(run.captures, []);
    } finally {
      feed.server.clearFaults();
      l.cleanup();
    }
  });

  test("hourly: a new ETag on the same JSON records a check (content hash); new prices are captured", async () => {
    const l = lakeDir();
    const url = feed.url(FEED_JSONP_PATH);
    try {
      assert.equal((await l.crawl("AmazonEC2SpotFeed", env(url))).r.code, 0);
      feed.newEtag();
      const same = await l.crawl("AmazonEC2SpotFeed", env(url));
      assert.equal(same.r.code, 0, same.r.stderr);
      assert.equal(same.captures.length, 1);
      assert.equal(same.checks.length, 1);
      assert.equal(l.check(same.checks[0]!).sameAs, same.captures[0]);

      feed.publish({ seed: 12 });
      const changed = await l.crawl("AmazonEC2SpotFeed", env(url));
      assert.equal(changed.captures.length, 2, changed.r.stderr);
      assert.ok(l.content(changed.captures[1]!).equals(feed.jsonBytes()));
    } finally {
      feed.publish({});
      l.cleanup();
    }
  });
});

describe("OracleCloud", () => {
  let oci: FakeOraclePrices;
  before(async () => {
    oci = new FakeOraclePrices({ items: 40 });
    await oci.start();
  });
  after(() => oci.close());
  const env = () => ({ CONTRAIL_OCI_PRICES_URL: oci.url });

  test("every product in USD as served, counted; its strong ETag then answers 304 and a check is recorded", async () => {
    const l = lakeDir();
    try {
      const run = await l.crawl("OracleCloud", env());
      assert.equal(run.r.code, 0, run.r.stderr);
      const req = oci.server.requestsTo(OCI_PATH).at(-1)!;
      assert.equal(new URL(req.url, "https://x").searchParams.get("currencyCode"), "USD");
      const key = run.captures[0]!;
      assert.ok(l.content(key).equals(oci.bytes("USD")));
      const m = l.manifest(key);
      assert.equal(m.items, 40);
      assert.equal(m.version, oci.lastUpdated, "lastUpdated is the upstream version");
      assert.equal(m.etag, oci.etag("USD"));
      const doc = JSON.parse(l.content(key).toString("utf8")) as {
        items: { currencyCodeLocalizations: { currencyCode: string }[] }[];
      };
      assert.ok(doc.items.every((i) => i.currencyCodeLocalizations.every((c) => c.currencyCode === "USD")));

      const second = await l.crawl("OracleCloud", env());
      assert.equal(second.r.code, 0, second.r.stderr);
      assert.equal(oci.server.requestsTo(OCI_PATH).at(-1)!.headers["if-none-match"], oci.etag("USD"));
      assert.equal(second.captures.length, 1);
      assert.equal(second.checks.length, 1);
    } finally {
      l.cleanup();
    }
  });

  test("a page of a longer list (APEX's hasMore: true) is never stored as the price list", async () => {
    const l = lakeDir();
    try {
      oci.pageLimit = 25;
      const run = await l.crawl("OracleCloud", env());
      assert.equal(run.r.code, 1, run.r.stderr);
      assert.match(run.r.stderr, /OracleCloud global failed: .*"hasMore": true, one page of a longer list/);
      assert.deepEqual(run.captures, []);
    } finally {
      oci.pageLimit = undefined;
      l.cleanup();
    }
  });

  test("an empty items list is an upstream fault: failed, nothing stored", async () => {
    const l = lakeDir();
    try {
      oci.setItems([]);
      const run = await l.crawl("OracleCloud", env());
      assert.equal(run.r.code, 1, run.r.stderr);
      assert.match(run.r.stderr, /OracleCloud global failed: .*"items" is empty/);
      assert.deepEqual(run.captures, []);
      assert.deepEqual(run.checks, []);
    } finally {
      oci.setItems(40);
      l.cleanup();
    }
  });
});

describe("zero configuration", () => {
  let pricing: FakeAwsPricing;
  let retail: FakeRetail;
  let advisor: FakeSpotAdvisor;
  let feed: FakeSpotFeed;
  let oci: FakeOraclePrices;
  before(async () => {
    pricing = new FakeAwsPricing({ regions: ["us-east-1"], products: 5 });
    retail = new FakeRetail({ items: 20, pageSize: 10 });
    advisor = new FakeSpotAdvisor();
    feed = new FakeSpotFeed();
    oci = new FakeOraclePrices();
    await Promise.all([pricing.start(), retail.start(), advisor.start(), feed.start(), oci.start()]);
  });
  after(() => Promise.all([pricing, retail, advisor, feed, oci].map((f) => f.close())));

  test("contrail crawl --once with no configuration captures every source that needs nothing, the three public documents too", async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Only the endpoints move to the fakes (the defaults are the real hosts); no config file, no source named.
      const r = await runCli(["crawl", "--once"], {
        cwd: dir,
        env: cleanEnv({
          CONTRAIL_AWS_PRICING_URL: pricing.baseUrl,
          CONTRAIL_AZURE_RETAIL_URL: retail.baseUrl,
          CONTRAIL_AWS_SPOT_ADVISOR_URL: advisor.url,
          CONTRAIL_AWS_SPOT_FEED_URL: feed.url(FEED_PATH),
          CONTRAIL_OCI_PRICES_URL: oci.url,
        }),
      });
      // Every source that needs nothing ran (against a fake) and succeeded: exit 0.
      assert.equal(r.code, 0, r.stderr);
      const files = filesUnder(join(dir, "lake"));
      for (const source of ["AmazonEC2SpotAdvisor", "AmazonEC2SpotFeed", "OracleCloud"])
        assert.equal(
          files.filter((f) => f.startsWith(`${source}/global/`)).length,
          1,
          `${source}: ${r.stderr}\n${files.join("\n")}`,
        );
      // And so did every other source of the registry that needs nothing, each with at least one capture.
      const needNothing = SOURCES.filter((s) => s.needs === "nothing").map((s) => s.name);
      assert.ok(needNothing.length >= 6, needNothing.join(", "));
      for (const source of needNothing)
        assert.ok(
          files.some((f) => f.startsWith(`${source}/`) && f.endsWith(".json.gz")),
          `${source} captured nothing: ${r.stderr}`,
        );
    } finally {
      cleanup();
    }
  });
});
