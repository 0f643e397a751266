// aws_savings_plan_rates and aws_savings_plan_rate_history (SPEC §8; issue 11 item 8): one row per rate of every plan
// of an AWSComputeSavingsPlan capture, checked against values written by hand from the fixture (a rate file in AWS's
// shape) and read back by hyparquet; the view's periods through the real CLI (`contrail history`, `contrail query`).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { deriveCapture } from "../../src/history/derive.js";
import { TABLES } from "../../src/history/tables.js";
import { LocalLake } from "../../src/lake/local.js";
import { tempDir } from "../helpers.js";
import { fixture, parquetColumns, putCapture, readParquet, useLocalLakeCli } from "./helpers.js";

const signal = new AbortController().signal;
const T1 = "2023-04-08T00:00:00.000Z";
const T2 = "2023-04-09T00:00:00.000Z";
const T3 = "2023-04-10T00:00:00.000Z";
const NO_UPFRONT = "24CDN3YC2HM6J5BS";
const ALL_UPFRONT = "7ZZ3XMRGRE6HQ6YB";

interface Plan {
  sku: string;
  rates: { rateCode: string; discountedRate: { price: string } }[];
}
interface RateFile {
  version: string;
  products: unknown[];
  terms: { savingsPlan: Plan[] };
}
const small = () => JSON.parse(fixture("aws-savings-plan-small.json").toString("utf8")) as RateFile;

/** The rows the fixture must give, written by hand from it (rate as a number, exact to 10 decimals). */
const EXPECTED = [
  [
    `${NO_UPFRONT}.2S47E3PRB8XVH9QV`,
    NO_UPFRONT,
    "1 year No Upfront Compute Savings Plan",
    "1yr",
    "No Upfront",
    "USW2-BoxUsage:m5.large",
    "RunInstances",
    0.069,
    "USD",
    "Hrs",
    "AmazonEC2",
    "m5.large",
    "ComputeSP:1yrNoUpfront",
  ],
  [
    `${NO_UPFRONT}.3DG6WFZ5QW4JAAHJ`,
    NO_UPFRONT,
    "1 year No Upfront Compute Savings Plan",
    "1yr",
    "No Upfront",
    "USW2-Fargate-vCPU-Hours:perCPU",
    "",
    0.03236,
    "USD",
    "Hrs",
    "AmazonECS",
    "",
    "ComputeSP:1yrNoUpfront",
  ],
  [
    `${ALL_UPFRONT}.2S47E3PRB8XVH9QV`,
    ALL_UPFRONT,
    "3 year All Upfront Compute Savings Plan",
    "3yr",
    "All Upfront",
    "USW2-BoxUsage:m5.large",
    "RunInstances",
    0.0404,
    "USD",
    "Hrs",
    "AmazonEC2",
    "m5.large",
    "ComputeSP:3yrAllUpfront",
  ],
  [
    `${ALL_UPFRONT}.9XK7BWNGQZ4DDJ3T`,
    ALL_UPFRONT,
    "3 year All Upfront Compute Savings Plan",
    "3yr",
    "All Upfront",
    "USW2-Lambda-GB-Second",
    "Invoke",
    0.0000141667,
    "USD",
    "Lambda-GB-Second",
    "AWSLambda",
    "",
    "ComputeSP:3yrAllUpfront",
  ],
];

function picked(rows: Record<string, unknown>[]): unknown[][] {
  return rows
    .map((x) => [
      x.rate_code,
      x.sku,
      x.savings_plan_offering,
      x.lease_contract_length,
      x.purchase_option,
      x.usage_type,
      x.operation,
      x.rate,
      x.currency,
      x.unit,
      x.discounted_service_code,
      x.discounted_instance_type,
      x.plan_usage_type,
    ])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

describe("aws_savings_plan_rates", () => {
  let dir: string;
  let cleanup: () => void;
  let lake: LocalLake;
  before(() => {
    ({ dir, cleanup } = tempDir());
    lake = new LocalLake(join(dir, "lake"));
  });
  after(() => cleanup());

  test("a rate file gives one row per rate of every plan, with its plan's offering, lease and purchase option", async () => {
    const m = await putCapture(
      lake,
      "AWSComputeSavingsPlan",
      "us-west-2",
      T1,
      fixture("aws-savings-plan-small.json"),
    );
    const r = await deriveCapture(lake, m, { signal });
    assert.equal(r.key, `history/aws_savings_plan_rates/region=us-west-2/${T1}.parquet`);
    const buf = (await lake.getBytes(r.key))!;
    const rows = await readParquet(buf);
    assert.deepEqual(picked(rows), EXPECTED);
    for (const row of rows) {
      assert.deepEqual(row.captured_at, new Date(T1));
      assert.deepEqual(row.effective_date, new Date("2023-04-01T00:00:00Z"));
      assert.equal(row.version, "20230407145705");
      assert.equal(row.discounted_region_code, "us-west-2");
    }
    assert.deepEqual(
      parquetColumns(buf).map((c) => c.name),
      TABLES.aws_savings_plan_rates.columns.map(([n]) => n),
    );
    const rate = parquetColumns(buf).find((c) => c.name === "rate")!;
    assert.equal(rate.logical, "DECIMAL(38,10)");
  });

  test("terms before products, and a plan's own fields after its rates: the same rows", async () => {
    const f = small();
    const plans = f.terms.savingsPlan.map(({ sku, rates, ...rest }) => ({ rates, ...rest, sku }));
    const reordered = JSON.stringify({
      terms: { savingsPlan: plans },
      version: f.version,
      products: f.products,
    });
    const m = await putCapture(lake, "AWSComputeSavingsPlan", "eu-west-1", T1, reordered);
    const r = await deriveCapture(lake, m, { signal });
    assert.deepEqual(picked(await readParquet((await lake.getBytes(r.key))!)), EXPECTED);
  });
});

describe("aws_savings_plan_rate_history through contrail history and query", () => {
  // T2: the m5.large 1-year rate is lower and the Lambda rate gone; T3: the same rate re-served with another number
  // of decimals (the same number: no new period).
  const { cli } = useLocalLakeCli(async (lake) => {
    const v1 = small();
    const v2 = small();
    v2.terms.savingsPlan[0]!.rates[0]!.discountedRate.price = "0.0650";
    v2.terms.savingsPlan[1]!.rates.pop();
    const v3 = JSON.parse(JSON.stringify(v2)) as RateFile;
    v3.terms.savingsPlan[0]!.rates[0]!.discountedRate.price = "0.065";
    await putCapture(lake, "AWSComputeSavingsPlan", "us-west-2", T1, JSON.stringify(v1));
    await putCapture(lake, "AWSComputeSavingsPlan", "us-west-2", T2, JSON.stringify(v2));
    await putCapture(lake, "AWSComputeSavingsPlan", "us-west-2", T3, JSON.stringify(v3));
  });

  test("a changed rate opens a period, a rate gone closes one, the same number re-served does not", async () => {
    const h = await cli(["history"]);
    assert.equal(h.code, 0, h.stderr);
    const q = await cli([
      "query",
      "--format",
      "csv",
      "SELECT rate_code, rate, valid_from, valid_to FROM aws_savings_plan_rate_history ORDER BY rate_code, valid_from",
    ]);
    assert.equal(q.code, 0, q.stderr);
    const ts = (iso: string) => iso.replace("T", " ").replace(".000Z", "+00");
    const row = (code: string, rate: string, from: string, to?: string) =>
      `${code},${rate},${ts(from)},${to ? ts(to) : ""}`;
    assert.deepEqual(q.stdout.trim().split("\n"), [
      "rate_code,rate,valid_from,valid_to",
      row(`${NO_UPFRONT}.2S47E3PRB8XVH9QV`, "0.0690000000", T1, T2),
      row(`${NO_UPFRONT}.2S47E3PRB8XVH9QV`, "0.0650000000", T2),
      row(`${NO_UPFRONT}.3DG6WFZ5QW4JAAHJ`, "0.0323600000", T1),
      row(`${ALL_UPFRONT}.2S47E3PRB8XVH9QV`, "0.0404000000", T1),
      row(`${ALL_UPFRONT}.9XK7BWNGQZ4DDJ3T`, "0.0000141667", T1, T2),
    ]);
  });
});
