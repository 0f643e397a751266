// `contrail history` then `contrail query` through the real CLI: the views' period rules across versions of an
// offer, spot records seen twice counted once, exact prices, output formats, errors; a local lake and an S3 lake
// (whose history files are fetched into the user's cache directory).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lake } from "../../src/types.js";
import { namedIn } from "../../src/history/query.js";
import { TABLE_NAMES } from "../../src/history/tables.js";
import { VIEWS } from "../../src/history/views.js";
import { startS3, type FakeS3 } from "../fakes/s3.js";
import { ROOT, cleanEnv, filesUnder, runCli, tempDir } from "../helpers.js";
import { fixture, putCapture, s3Lake, useLocalLakeCli } from "./helpers.js";

const T1 = "2019-03-29T12:00:00.000Z";
const T2 = "2019-04-10T12:00:00.000Z";
const T3 = "2019-05-01T00:00:00.000Z";

type Offer = {
  version: string;
  products: Record<string, unknown>;
  terms: Record<
    string,
    Record<
      string,
      Record<string, { priceDimensions: Record<string, { pricePerUnit: Record<string, string> }> }>
    >
  >;
};

/** Three versions of the small offer: A's price changes at T2 (and is re-served as 0.10 at T3, the same number),
 *  B's tiers never change, C disappears at T2 and comes back at T3, D disappears at T3, E appears at T2. */
function versions(): string[] {
  const base = () => JSON.parse(fixture("ec2-offer-small.json").toString("utf8")) as Offer;
  const setA = (o: Offer, price: string) => {
    o.terms.OnDemand!.AAAAAAAAAAAAAAA1!["AAAAAAAAAAAAAAA1.JRTCKXETXF"]!.priceDimensions[
      "AAAAAAAAAAAAAAA1.JRTCKXETXF.6YS6EN2CT7"
    ]!.pricePerUnit.USD = price;
  };
  const v1 = base();
  const v2 = base();
  v2.version = "20190410000000";
  setA(v2, "0.1000000000");
  delete v2.terms.OnDemand!.CCCCCCCCCCCCCCC3;
  v2.terms.OnDemand!.EEEEEEEEEEEEEEE5 = {
    "EEEEEEEEEEEEEEE5.JRTCKXETXF": JSON.parse(
      JSON.stringify(v1.terms.OnDemand!.DDDDDDDDDDDDDDD4!["DDDDDDDDDDDDDDD4.JRTCKXETXF"]).replaceAll(
        "DDDDDDDDDDDDDDD4",
        "EEEEEEEEEEEEEEE5",
      ),
    ),
  };
  const v3 = JSON.parse(JSON.stringify(v2)) as Offer;
  v3.version = "20190501000000";
  setA(v3, "0.10");
  v3.terms.OnDemand!.CCCCCCCCCCCCCCC3 = v1.terms.OnDemand!.CCCCCCCCCCCCCCC3!;
  delete v3.terms.OnDemand!.DDDDDDDDDDDDDDD4;
  return [v1, v2, v3].map((o) => JSON.stringify(o, null, 2));
}

const spotRecord = (az: string, price: string, ts: string) => ({
  AvailabilityZone: az,
  InstanceType: "m5.large",
  ProductDescription: "Linux/UNIX",
  SpotPrice: price,
  Timestamp: ts,
});

async function fill(lake: Lake): Promise<void> {
  const [v1, v2, v3] = versions();
  await putCapture(lake, "AmazonEC2", "us-east-1", T1, v1!);
  await putCapture(lake, "AmazonEC2", "us-east-1", T2, v2!);
  await putCapture(lake, "AmazonEC2", "us-east-1", T3, v3!);
  // The second spot capture repeats the price in force at its window's start (as AWS returns it).
  const spot = (at: string, records: [string, string][]) =>
    putCapture(
      lake,
      "AmazonEC2Spot",
      "us-east-1",
      at,
      JSON.stringify(records.map(([p, ts]) => spotRecord("us-east-1a", p, ts))),
    );
  await spot(T1, [
    ["0.035000", "2019-03-29T11:10:00+00:00"],
    ["0.036000", "2019-03-29T11:40:00+00:00"],
  ]);
  await spot(T2, [
    ["0.036000", "2019-03-29T11:40:00+00:00"],
    ["0.034000", "2019-03-29T12:30:00+00:00"],
  ]);
}

const PERIODS = `SELECT sku, rate_code, price, valid_from, valid_to FROM aws_ec2_price_history
  WHERE term_type = 'OnDemand' ORDER BY rate_code, valid_from`;

function checkPeriods(csv: string): void {
  const ts = (iso: string) => iso.replace("T", " ").replace(".000Z", "+00");
  const rows = csv.trim().split("\n");
  assert.equal(rows[0], "sku,rate_code,price,valid_from,valid_to");
  const r = (code: string, price: string, from: string, to?: string) =>
    `${code.slice(0, 16)},${code},${price},${ts(from)},${to ? ts(to) : ""}`;
  assert.deepEqual(rows.slice(1), [
    r("AAAAAAAAAAAAAAA1.JRTCKXETXF.6YS6EN2CT7", "0.0960000000", T1, T2),
    r("AAAAAAAAAAAAAAA1.JRTCKXETXF.6YS6EN2CT7", "0.1000000000", T2),
    r("BBBBBBBBBBBBBBB2.JRTCKXETXF.8EEUB22XNJ", "0.0000000000", T1),
    r("BBBBBBBBBBBBBBB2.JRTCKXETXF.JTU8TKNAMW", "0.0050000000", T1),
    r("CCCCCCCCCCCCCCC3.JRTCKXETXF.6YS6EN2CT7", "0.6720000000", T1, T2),
    r("CCCCCCCCCCCCCCC3.JRTCKXETXF.6YS6EN2CT7", "0.6720000000", T3),
    r("DDDDDDDDDDDDDDD4.JRTCKXETXF.6YS6EN2CT7", "1.5000000000", T1, T3),
    r("EEEEEEEEEEEEEEE5.JRTCKXETXF.6YS6EN2CT7", "1.5000000000", T2),
  ]);
}

const SPOT = `SELECT availability_zone, price, valid_from, valid_to FROM aws_spot_price_history ORDER BY valid_from`;
const SPOT_EXPECTED = [
  "availability_zone,price,valid_from,valid_to",
  "us-east-1a,0.0350000000,2019-03-29 11:10:00+00,2019-03-29 11:40:00+00",
  "us-east-1a,0.0360000000,2019-03-29 11:40:00+00,2019-03-29 12:30:00+00",
  "us-east-1a,0.0340000000,2019-03-29 12:30:00+00,",
].join("\n");

describe("contrail history and query on a local lake", () => {
  const work = useLocalLakeCli(fill);
  const cli = work.cli;

  test("history derives each capture once; a second run derives nothing", async () => {
    const first = await cli(["history"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /5 history files derived/);
    const files = filesUnder(join(work.dir, "lake", "history"));
    assert.equal(files.length, 5, files.join("\n"));
    const second = await cli(["history"]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^0 history files derived/m);
    assert.deepEqual(filesUnder(join(work.dir, "lake", "history")), files);
  });

  test("aws_ec2_price_history: a changed price, an unchanged one, a rate gone (and back), a rate new", async () => {
    const r = await cli(["query", "--format", "csv", PERIODS]);
    assert.equal(r.code, 0, r.stderr);
    checkPeriods(r.stdout);
  });

  test("aws_spot_price_history: a record seen in two captures counts once", async () => {
    const r = await cli(["query", SPOT]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), SPOT_EXPECTED, "csv by default when not on a terminal");
  });

  test("aws_ec2_price_history: a filter on instance_type is applied at the Parquet scan, before the periods", async () => {
    // Applied after the windows instead, it would cost the periods of every rate of every capture (seconds on a
    // lake of 20 regions × 10 versions), whatever the type asked for.
    const sql = "SELECT price FROM aws_ec2_price_history WHERE instance_type = 'm5.large'";
    const plan = await cli(["query", "--format", "csv", `EXPLAIN ${sql}`]);
    assert.equal(plan.code, 0, plan.stderr);
    // A scan's filters print as `instance_type='m5.large'`; a FILTER above the windows as `(instance_type = …)`.
    assert.match(plan.stdout, /instance_type='m5\.large'/, plan.stdout);
  });

  test("json keeps exact decimals as strings; table prints them exactly", async () => {
    const sql =
      "SELECT price, currency FROM aws_ec2_prices WHERE currency = 'CNY' ORDER BY captured_at LIMIT 1";
    const json = await cli(["query", "--format", "json", sql]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [{ price: "0.6720000000", currency: "CNY" }]);
    const table = await cli(["query", "--format", "table", sql]);
    assert.match(table.stdout, /^price\s+currency\n0\.6720000000\s+CNY\n\(1 row\)\n$/);
  });

  test("price: the on-demand periods of a type as a person means them, and spot per availability zone", async () => {
    const r = await cli(["price", "m5.large", "--region", "us-east-1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /On-demand m5\.large Linux/);
    // A (USD) changed at T2; C (CNY, China-priced m5.large) is gone in between; the IP address tiers are not "the price".
    assert.match(
      r.stdout,
      /us-east-1\s+0\.0960000000\s+USD\s+2019-03-29 12:00:00\+00\s+2019-04-10 12:00:00\+00\n/,
    );
    assert.match(r.stdout, /us-east-1\s+0\.1000000000\s+USD\s+2019-04-10 12:00:00\+00\s+NULL\n/);
    assert.doesNotMatch(r.stdout, /0\.0050000000/);
    assert.match(r.stdout, /us-east-1a\s+Linux\/UNIX\s+0\.0340000000\s+2019-03-29 12:30:00\+00\s+NULL\n/);
    assert.doesNotMatch(r.stdout, /┤/, "no chart when the output is not a terminal");
    const since = await cli(["price", "m5.large", "--since", "2019-04-20"]);
    assert.doesNotMatch(since.stdout, /0\.0960000000/, "periods over before --since are left out");
    const none = await cli(["price", "x9.huge"]);
    assert.equal(none.code, 1);
    assert.equal((await cli(["price", "m5.large", "--since", "yesterday"])).code, 2);
  });

  test("the example queries of docs/history.md run as printed, and DuckDB reads the files straight from the lake", async () => {
    const doc = readFileSync(join(ROOT, "docs", "history.md"), "utf8");
    const examples = doc.slice(
      doc.indexOf("## Example queries"),
      doc.indexOf("## Reading the files elsewhere"),
    );
    const queries = [...examples.matchAll(/```sh\ncontrail query "([^"]+)"\n```/g)].map((m) => m[1]!);
    assert.equal(queries.length, 4, "the four example queries");
    const results = [];
    for (const sql of queries) {
      const r = await cli(["query", sql]);
      assert.equal(r.code, 0, `${sql}\n${r.stderr}`);
      results.push(r.stdout);
    }
    assert.match(results[0]!, /^region,price,currency,valid_from,valid_to\n/);
    assert.match(results[0]!, /\nus-east-1,0\.1000000000,USD,2019-04-10 12:00:00\+00,\n/);
    assert.match(results[1]!, /^region,price\nus-east-1,0\.1000000000\n$/);
    assert.match(results[2]!, /^region,instance_type,operating_system,price,valid_from\n/);
    assert.match(
      results[3]!,
      /^availability_zone,instance_type,changes,low,high,stddev\nus-east-1a,m5\.large,3,/,
    );
    // The DuckDB example of "Reading the files elsewhere", with the lake's path as printed (relative to tmp/demo).
    const direct = /```sql\n(SELECT \* FROM read_parquet[^`]+);\n```/.exec(doc)?.[1];
    assert.ok(direct, "the DuckDB example");
    const r = await cli(["query", direct.replace("LIMIT 10", "ORDER BY captured_at, rate_code LIMIT 1")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^captured_at,offer_version,sku,/);
    assert.match(r.stdout, /,us-east-1\n$/, "region comes from the path");
  });

  test("tables without files exist, empty; a bad statement exits 1 with DuckDB's message; two statements exit 2", async () => {
    const empty = await cli(["query", "SELECT count(*) AS n FROM azure_retail_price_history"]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, "n\n0\n");
    const bad = await cli(["query", "SELEC 1"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Parser Error: syntax error at or near "SELEC"/);
    const missing = await cli(["query", "SELECT nope FROM aws_ec2_prices"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Binder Error: .*nope/);
    const two = await cli(["query", "SELECT 1; SELECT 2"]);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /expected one SQL statement, got 2/);
    const format = await cli(["query", "--format", "xml", "SELECT 1"]);
    assert.equal(format.code, 2);
  });

  test("a statement binds only the tables it names (and its views' tables): a broken spot file fails only spot queries", async () => {
    const dir = join(work.dir, "lake", "history", "aws_spot_prices", "region=zz");
    mkdirSync(dir, { recursive: true });
    const broken = join(dir, "2019-01-01T00:00:00.000Z.parquet");
    writeFileSync(broken, "not a Parquet file");
    try {
      const ec2 = await cli([
        "query",
        "SELECT count(*) AS n FROM aws_ec2_price_history WHERE currency = 'USD'",
      ]);
      assert.equal(ec2.code, 0, ec2.stderr);
      assert.match(ec2.stdout, /^n\n[1-9]\d*\n$/);
      const spot = await cli(["query", "SELECT count(*) AS n FROM aws_spot_price_history"]);
      assert.equal(spot.code, 1, spot.stdout);
      assert.match(spot.stderr, /region=zz/);
    } finally {
      rmSync(join(work.dir, "lake", "history", "aws_spot_prices", "region=zz"), { recursive: true });
    }
    assert.deepEqual(namedIn("select * from AWS_EC2_PRICE_HISTORY join aws_spot_prices using (region)"), {
      tables: ["aws_ec2_prices", "aws_spot_prices"],
      views: VIEWS.filter((v) => v.name === "aws_ec2_price_history"),
    });
    assert.deepEqual(namedIn("SHOW TABLES"), { tables: TABLE_NAMES, views: VIEWS });
  });
});

describe("contrail history and query on an S3 lake", () => {
  let s3: FakeS3;
  let dir: string;
  let cleanup: () => void;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]) => runCli(args, { cwd: dir, env });

  before(async () => {
    s3 = await startS3();
    ({ dir, cleanup } = tempDir());
    env = cleanEnv({
      CONTRAIL_LAKE: `s3://${s3.bucket}/prices`,
      ...s3.env,
      XDG_CACHE_HOME: join(dir, "cache"),
    });
    const lake = s3Lake(s3);
    await fill(lake);
    await lake.close();
  });
  after(async () => {
    await s3.stop();
    cleanup();
  });

  test("history writes to the bucket; query fetches only new files into the cache and answers the same", async () => {
    const h = await cli(["history"]);
    assert.equal(h.code, 0, h.stderr);
    assert.equal((await s3.listKeys("prices/history/")).length, 5);

    const gets = () => s3.proxy.requestsFor("GetObject").filter((r) => r.key?.includes("/history/")).length;
    const r = await cli(["query", PERIODS]);
    assert.equal(r.code, 0, r.stderr);
    checkPeriods(r.stdout);
    assert.equal(gets(), 5, "each history file fetched once");
    const cached = readdirSync(join(dir, "cache", "contrail"));
    assert.equal(cached.length, 1);
    assert.match(cached[0]!, /^lake-prices-[0-9a-f]{10}$/);

    const again = await cli(["query", SPOT]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), SPOT_EXPECTED);
    assert.equal(gets(), 5, "a warm cache fetches nothing");
  });
});
