// gcp_sku_prices and gcp_sku_price_history (SPEC §8) from GoogleCloud captures, through `contrail history` and
// `contrail query` (DuckDB prints decimals exactly), and the Parquet file's own types read by hyparquet. Expected
// prices are written by hand from `units` and `nanos`: a price no double can hold (123456789012.999999999), a
// discount with both negative, a negative one below a unit (units "0"), fields proto3 JSON leaves out when zero.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalLake } from "../../src/lake/local.js";
import { moneyText } from "../../src/history/rows/gcp.js";
import { cleanEnv, runCli, tempDir } from "../helpers.js";
import { parquetColumns, putCapture, readParquet } from "./helpers.js";

const SERVICE = "6F81-5844-456A";
const T1 = "2026-11-01T00:00:00.000Z";
const T2 = "2026-11-02T00:00:00.000Z";

const money = (units: string | undefined, nanos: number | undefined) => ({
  currencyCode: "USD",
  ...(units !== undefined ? { units } : {}),
  ...(nanos !== undefined ? { nanos } : {}),
});

function sku(
  id: string,
  opts: { tiers: [number | undefined, ReturnType<typeof money>][]; regions?: string[] },
) {
  return {
    name: `services/${SERVICE}/skus/${id}`,
    skuId: id,
    description: `SKU ${id} running in Virginia, "quoted" and café`,
    category: {
      serviceDisplayName: "Compute Engine",
      resourceFamily: "Compute",
      resourceGroup: "CPU",
      usageType: "OnDemand",
    },
    serviceRegions: opts.regions ?? ["us-east4"],
    pricingInfo: [
      {
        summary: "",
        pricingExpression: {
          usageUnit: "h",
          usageUnitDescription: "hour",
          baseUnit: "s",
          baseUnitDescription: "second",
          baseUnitConversionFactor: 3600,
          displayQuantity: 1,
          tieredRates: opts.tiers.map(([start, unitPrice]) => ({
            ...(start !== undefined ? { startUsageAmount: start } : {}),
            unitPrice,
          })),
        },
        currencyConversionRate: 1,
        effectiveTime: "2026-10-05T10:18:44.165Z",
      },
    ],
    serviceProviderName: "Google",
    geoTaxonomy: { type: "REGIONAL", regions: opts.regions ?? ["us-east4"] },
  };
}

function capture(aNanos: number, withD: boolean): string {
  const skus = [
    sku("AAAA-0000-0001", { tiers: [[0, money("0", aNanos)]] }),
    sku("BBBB-0000-0002", {
      tiers: [
        [0, money("0", 0)],
        [1024, money("0", 120000000)],
      ],
      regions: ["us-east4", "global"],
    }),
    sku("CCCC-0000-0003", { tiers: [[0, money("-1", -500000000)]] }),
    ...(withD ? [sku("DDDD-0000-0004", { tiers: [[0, money("0", -7370235)]] })] : []),
    sku("EEEE-0000-0005", { tiers: [[0, money("123456789012", 999999999)]] }),
    // proto3 JSON leaves zeros out: no startUsageAmount, no nanos.
    sku("FFFF-0000-0006", { tiers: [[undefined, money("2", undefined)]] }),
  ];
  const service = {
    name: `services/${SERVICE}`,
    serviceId: SERVICE,
    displayName: "Compute Engine",
    businessEntityName: "businessEntities/GCP",
  };
  return JSON.stringify({ service, skus });
}

test("moneyText: units + nanos / 10⁹, exactly, in integers", () => {
  assert.equal(moneyText("0", "31611000"), "0.031611000");
  assert.equal(moneyText("-1", "-500000000"), "-1.500000000");
  assert.equal(moneyText("0", "-7370235"), "-0.007370235");
  assert.equal(moneyText("123456789012", "999999999"), "123456789012.999999999");
  assert.equal(moneyText("2", undefined), "2.000000000");
  assert.equal(moneyText(undefined, undefined), undefined);
});

describe("gcp_sku_prices through contrail history and query", () => {
  let dir: string;
  let cleanup: () => void;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]) => runCli(args, { cwd: dir, env });

  before(async () => {
    ({ dir, cleanup } = tempDir());
    env = cleanEnv({ XDG_CACHE_HOME: join(dir, "cache") });
    const lake = new LocalLake(join(dir, "lake"));
    await putCapture(lake, "GoogleCloud", SERVICE, T1, capture(31611000, true));
    // A's price changes; D is gone; the rest is unchanged.
    await putCapture(lake, "GoogleCloud", SERVICE, T2, capture(29000000, false));
    const r = await cli(["history"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 history files derived/);
  });
  after(() => cleanup());

  test("one row per tiered rate; prices exact from units and nanos; regions a list", async () => {
    const sql =
      "SELECT sku_id, tier_start, price, currency, unit, service_id, region, regions, usage_type, " +
      "resource_family, resource_group, effective_time FROM gcp_sku_prices " +
      `WHERE captured_at = '${T1}' ORDER BY sku_id, tier_start`;
    const r = await cli(["query", "--format", "json", sql]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((x) => [x.sku_id, x.tier_start, x.price]),
      [
        ["AAAA-0000-0001", "0.0000000000", "0.0316110000"],
        ["BBBB-0000-0002", "0.0000000000", "0.0000000000"],
        ["BBBB-0000-0002", "1024.0000000000", "0.1200000000"],
        ["CCCC-0000-0003", "0.0000000000", "-1.5000000000"],
        ["DDDD-0000-0004", "0.0000000000", "-0.0073702350"],
        ["EEEE-0000-0005", "0.0000000000", "123456789012.9999999990"],
        ["FFFF-0000-0006", "0.0000000000", "2.0000000000"],
      ],
    );
    const b = rows[2]!;
    assert.deepEqual(
      [
        b.currency,
        b.unit,
        b.service_id,
        b.region,
        b.regions,
        b.usage_type,
        b.resource_family,
        b.resource_group,
      ],
      ["USD", "h", SERVICE, SERVICE, ["us-east4", "global"], "OnDemand", "Compute", "CPU"],
    );
    assert.match(String(b.effective_time), /^2026-10-05 10:18:44\.165(\+00)?/);
  });

  test("the Parquet file's types: DECIMAL(38,10) prices, a list of regions, UTC timestamps", async () => {
    const file = join(dir, "lake", `history/gcp_sku_prices/region=${SERVICE}/${T1}.parquet`);
    const { readFileSync } = await import("node:fs");
    const bytes = readFileSync(file);
    const cols = new Map(parquetColumns(bytes).map((c) => [c.name, c.logical]));
    assert.equal(cols.get("price"), "DECIMAL(38,10)");
    assert.equal(cols.get("tier_start"), "DECIMAL(38,10)");
    assert.equal(cols.get("effective_time"), "TIMESTAMP(utc=true)");
    const rows = await readParquet(bytes);
    assert.equal(rows.length, 7);
    assert.deepEqual(rows.find((x) => x.sku_id === "BBBB-0000-0002")?.regions, ["us-east4", "global"]);
    assert.equal(
      rows.find((x) => x.sku_id === "CCCC-0000-0003")?.description,
      'SKU CCCC-0000-0003 running in Virginia, "quoted" and café',
    );
  });

  test("gcp_sku_price_history: a changed price ends a period; a rate gone ends one; unchanged ones stay open", async () => {
    const sql =
      "SELECT sku_id, tier_start, price, valid_from, valid_to FROM gcp_sku_price_history " +
      "ORDER BY sku_id, tier_start, valid_from";
    const r = await cli(["query", "--format", "csv", sql]);
    assert.equal(r.code, 0, r.stderr);
    const t1 = "2026-11-01 00:00:00+00";
    const t2 = "2026-11-02 00:00:00+00";
    assert.equal(
      r.stdout,
      [
        "sku_id,tier_start,price,valid_from,valid_to",
        `AAAA-0000-0001,0.0000000000,0.0316110000,${t1},${t2}`,
        `AAAA-0000-0001,0.0000000000,0.0290000000,${t2},`,
        `BBBB-0000-0002,0.0000000000,0.0000000000,${t1},`,
        `BBBB-0000-0002,1024.0000000000,0.1200000000,${t1},`,
        `CCCC-0000-0003,0.0000000000,-1.5000000000,${t1},`,
        `DDDD-0000-0004,0.0000000000,-0.0073702350,${t1},${t2}`,
        `EEEE-0000-0005,0.0000000000,123456789012.9999999990,${t1},`,
        `FFFF-0000-0006,0.0000000000,2.0000000000,${t1},`,
        "",
      ].join("\n"),
    );
  });
});
