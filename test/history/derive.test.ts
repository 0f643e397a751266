// Derivation (SPEC §8): captures become Parquet files with the expected rows, checked against values written by hand
// from the fixtures and read back by hyparquet (not the DuckDB that wrote them); idempotent and atomic on both lakes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalLake } from "../../src/lake/local.js";
import { deriveCapture, deriveMissing, OneThreadOnOutOfMemory } from "../../src/history/derive.js";
import { openDuck } from "../../src/history/duck.js";
import { TABLES } from "../../src/history/tables.js";
import type { Lake } from "../../src/types.js";
import { generatedProduct, offerFragments } from "../fakes/aws-offer.js";
import { startS3, type FakeS3 } from "../fakes/s3.js";
import { tempDir } from "../helpers.js";
import { fixture, parquetCodecs, parquetColumns, putCapture, readParquet, s3Lake } from "./helpers.js";

const signal = new AbortController().signal;
const AT = "2019-03-29T12:00:00.000Z";
const at = new Date(AT);

async function historyFile(lake: Lake, key: string): Promise<Buffer> {
  const bytes = await lake.getBytes(key);
  assert.ok(bytes, `${key} is in the lake`);
  return bytes;
}

/** A generated offer's text, and its rates as JSON.parse reads them (not the scanner and DuckDB under test). */
function generatedOffer(seed: string, region: string, count: number) {
  const doc = [
    ...offerFragments({
      version: "20260116160258",
      count,
      product: (i) => generatedProduct(seed, region, i),
    }),
  ].join("");
  type Dim = {
    rateCode: string;
    beginRange?: string;
    endRange?: string;
    pricePerUnit: Record<string, string>;
  };
  type Terms = Record<string, Record<string, { priceDimensions: Record<string, Dim> }>>;
  const offer = JSON.parse(doc) as {
    products: Record<string, { attributes: Record<string, string> }>;
    terms: Record<string, Terms>;
  };
  const rates = Object.entries(offer.terms).flatMap(([type, bySku]) =>
    Object.entries(bySku).flatMap(([sku, terms]) =>
      Object.values(terms).flatMap((t) =>
        Object.values(t.priceDimensions).flatMap((d) =>
          Object.entries(d.pricePerUnit).map(([currency, price]) => ({ sku, type, dim: d, currency, price })),
        ),
      ),
    ),
  );
  return { doc, products: offer.products, rates };
}

describe("history derivation into a local lake", () => {
  let dir: string;
  let lake: LocalLake;
  before(() => {
    dir = tempDir().dir;
    lake = new LocalLake(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("an EC2 offer (terms before products) gives one row per price dimension and currency of OnDemand and Reserved terms", async () => {
    const m = await putCapture(lake, "AmazonEC2", "us-east-1", AT, fixture("ec2-offer-small.json"));
    const r = await deriveCapture(lake, m, { signal });
    assert.equal(r.key, `history/aws_ec2_prices/region=us-east-1/${AT}.parquet`);
    assert.equal(r.rows, 7);
    const rows = await readParquet(await historyFile(lake, r.key));
    const byRate = new Map(rows.map((row) => [row.rate_code as string, row]));
    const m5 = {
      product_family: "Compute Instance",
      instance_type: "m5.large",
      vcpu: 2,
      memory: "8 GiB",
      operating_system: "Linux",
      tenancy: "Shared",
      pre_installed_sw: "NA",
      license_model: "No License required",
      capacity_status: "Used",
      operation: "RunInstances",
    };
    const expected: Record<string, Record<string, unknown>> = {
      "AAAAAAAAAAAAAAA1.JRTCKXETXF.6YS6EN2CT7": {
        sku: "AAAAAAAAAAAAAAA1",
        term_type: "OnDemand",
        offer_term_code: "JRTCKXETXF",
        unit: "Hrs",
        price: 0.096,
        currency: "USD",
        begin_range: 0,
        end_range: Infinity,
        description: '$0.096 per On Demand Linux m5.large Instance Hour, "quoted" and café',
        effective_date: new Date("2019-03-01T00:00:00Z"),
        lease_contract_length: null,
        ...m5,
        usage_type: "BoxUsage:m5.large",
        location: "US East (N. Virginia)",
      },
      "BBBBBBBBBBBBBBB2.JRTCKXETXF.8EEUB22XNJ": {
        term_type: "OnDemand",
        price: 0,
        currency: "USD",
        begin_range: 0,
        end_range: 1,
        product_family: "IP Address",
        instance_type: null,
        vcpu: null,
        usage_type: "ElasticIP:Address",
      },
      "BBBBBBBBBBBBBBB2.JRTCKXETXF.JTU8TKNAMW": { price: 0.005, begin_range: 1, end_range: Infinity },
      "CCCCCCCCCCCCCCC3.JRTCKXETXF.6YS6EN2CT7": {
        price: 0.672,
        currency: "CNY",
        location: "China (Beijing)",
        ...m5,
      },
      "DDDDDDDDDDDDDDD4.JRTCKXETXF.6YS6EN2CT7": {
        sku: "DDDDDDDDDDDDDDD4",
        price: 1.5,
        product_family: null,
        attributes: null,
      },
      "AAAAAAAAAAAAAAA1.6QCMYABX3D.2TG2D8R56U": {
        term_type: "Reserved",
        offer_term_code: "6QCMYABX3D",
        description: "Upfront Fee",
        unit: "Quantity",
        price: 504,
        begin_range: null,
        end_range: null,
        effective_date: new Date("2018-03-31T23:59:59Z"),
        lease_contract_length: "1yr",
        purchase_option: "All Upfront",
        offering_class: "standard",
        instance_type: "m5.large",
      },
      "AAAAAAAAAAAAAAA1.6QCMYABX3D.6YS6EN2CT7": {
        term_type: "Reserved",
        unit: "Hrs",
        price: 0,
        lease_contract_length: "1yr",
      },
    };
    assert.deepEqual(
      [...byRate.keys()].sort(),
      Object.keys(expected).sort(),
      "no FlatRate rows, nothing missing",
    );
    for (const [rate, want] of Object.entries(expected)) {
      const row = byRate.get(rate)!;
      for (const [col, value] of Object.entries(want)) assert.deepEqual(row[col], value, `${rate} ${col}`);
      assert.deepEqual(row.captured_at, at);
      assert.equal(row.offer_version, "20190329040654");
    }
    const attrs = JSON.parse(byRate.get("AAAAAAAAAAAAAAA1.JRTCKXETXF.6YS6EN2CT7")!.attributes as string);
    assert.equal(attrs.regionCode, "us-east-1");
    assert.equal(attrs.servicecode, "AmazonEC2");
  });

  test("the files state exact DECIMAL(38,10) prices, UTC timestamps and the columns of tables.ts; DuckDB prints the served digits", async () => {
    const m = await putCapture(lake, "AmazonEC2", "eu-west-1", AT, fixture("ec2-offer-small.json"));
    const r = await deriveCapture(lake, m, { signal });
    const buf = await historyFile(lake, r.key);
    const cols = parquetColumns(buf);
    assert.deepEqual(
      cols.map((c) => c.name),
      TABLES.aws_ec2_prices.columns.map(([n]) => n),
    );
    const price = cols.find((c) => c.name === "price")!;
    assert.equal(price.type, "FIXED_LEN_BYTE_ARRAY(16)");
    assert.equal(price.logical, "DECIMAL(38,10)");
    assert.equal(cols.find((c) => c.name === "captured_at")!.logical, "TIMESTAMP(utc=true)");
    assert.ok(!cols.some((c) => c.name === "region"), "region comes from the path");

    const duck = await openDuck();
    try {
      const res = await duck.connection.runAndReadAll(
        `SELECT region, price::VARCHAR, currency FROM read_parquet('${join(dir, r.key)}', hive_partitioning = true) ORDER BY price`,
      );
      const got = res.getRowsJson().map((row) => row.join(" "));
      assert.ok(got.includes("eu-west-1 0.0960000000 USD"), got.join("\n"));
      assert.ok(got.includes("eu-west-1 0.6720000000 CNY"), got.join("\n"));
      assert.ok(got.includes("eu-west-1 504.0000000000 USD"), got.join("\n"));
    } finally {
      duck.close();
    }
  });

  test("an offer joined a bucket at a time (as a large one is) gives the rows it gives in one go", async () => {
    const whole = await putCapture(lake, "AmazonEC2", "us-west-2", AT, fixture("ec2-offer-small.json"));
    const split = await putCapture(lake, "AmazonEC2", "us-west-1", AT, fixture("ec2-offer-small.json"));
    const one = await deriveCapture(lake, whole, { signal });
    // 7 KB in buckets of 1 KB: 8 buckets, most SKUs' products and terms in different staging files from the others'.
    const many = await deriveCapture(lake, split, { signal, bucketBytes: 1000 });
    const sorted = async (key: string) =>
      (await readParquet(await historyFile(lake, key))).sort((a, b) =>
        `${a.rate_code as string}|${a.currency as string}`.localeCompare(
          `${b.rate_code as string}|${b.currency as string}`,
        ),
      );
    assert.equal(many.rows, 7);
    assert.deepEqual(await sorted(many.key), await sorted(one.key));
    // The buckets' temporary files are LZ4; the capture's one file is ZSTD however it was made.
    for (const key of [one.key, many.key])
      assert.deepEqual([...parquetCodecs(await historyFile(lake, key))], ["ZSTD"], key);
  });

  test("an offer with products first is written in product order (type, OS, …, SKU), a bucket at a time too", async () => {
    const { doc, products, rates } = generatedOffer("order", "eu-west-1", 96);
    // Products by these attributes (a missing one last), then by SKU; a product's rows by term type, rate code and
    // currency.
    const by = ["instanceType", "operatingSystem", "preInstalledSw", "tenancy", "licenseModel", "capacitystatus", "usagetype"]; // prettier-ignore
    const cmp = (a: string | undefined, b: string | undefined) =>
      a === b ? 0 : a === undefined ? 1 : b === undefined ? -1 : a < b ? -1 : 1;
    const productOrder = Object.keys(products).sort((x, y) => {
      for (const name of by) {
        const c = cmp(products[x]!.attributes[name], products[y]!.attributes[name]);
        if (c !== 0) return c;
      }
      return cmp(x, y);
    });
    const rank = new Map(productOrder.map((sku, i) => [sku, i]));
    const expected = rates
      .sort((a, b) => rank.get(a.sku)! - rank.get(b.sku)! || cmp(a.type, b.type) || cmp(a.dim.rateCode, b.dim.rateCode) || cmp(a.currency, b.currency))
      .map((r) => `${r.sku} ${r.type} ${r.dim.rateCode} ${r.currency}`); // prettier-ignore
    assert.ok(expected.length > 500, `${expected.length} rows`);
    const rowsOf = async (region: string, bucketBytes?: number) => {
      const m = await putCapture(lake, "AmazonEC2", region, AT, doc);
      const r = await deriveCapture(lake, m, { signal, ...(bucketBytes ? { bucketBytes } : {}) });
      return (await readParquet(await historyFile(lake, r.key))).map(
        (row) =>
          `${row.sku as string} ${row.term_type as string} ${row.rate_code as string} ${row.currency as string}`,
      );
    };
    assert.deepEqual(await rowsOf("me-central-1"), expected);
    // Six buckets: each a range of products, sorted by itself, written one after another.
    assert.deepEqual(await rowsOf("me-south-1", Math.ceil(doc.length / 6)), expected);
  });

  test("CSV-staged sources are never bucketed: a large Azure capture gives each item once", async () => {
    const m = await putCapture(lake, "AzureRetail", "bucketed", AT, fixture("azure-retail-small.json"));
    const r = await deriveCapture(lake, m, { signal, bucketBytes: 100 });
    assert.equal(r.rows, 3);
  });

  test("a generated China offer: every dimension of every OnDemand and Reserved term, tiers and CNY as served", async () => {
    const { doc, rates } = generatedOffer("d", "cn-north-1", 64);
    const range = (v: string | undefined) => (v === undefined ? null : v === "Inf" ? Infinity : Number(v));
    const expected = rates.map(({ type, dim: d, currency, price }) =>
      [type, d.rateCode, currency, Number(price), range(d.beginRange), range(d.endRange)].join(" "),
    );
    const m = await putCapture(lake, "AmazonEC2", "cn-north-1", AT, doc);
    const rows = await readParquet(await historyFile(lake, (await deriveCapture(lake, m, { signal })).key));
    const got = rows.map((r) =>
      [r.term_type, r.rate_code, r.currency, r.price, r.begin_range, r.end_range].join(" "),
    );
    assert.deepEqual(got.sort(), expected.sort());
    assert.ok(rows.some((r) => r.product_family === "Data Transfer" && r.end_range === 51200));
    assert.ok(rows.every((r) => r.currency === "CNY"));
  });

  test("a spot capture: one row per record, enrichment kept as JSON", async () => {
    const m = await putCapture(lake, "AmazonEC2Spot", "eu-west-3", AT, fixture("spot-2019-three.json"));
    const r = await deriveCapture(lake, m, { signal });
    assert.equal(r.key, `history/aws_spot_prices/region=eu-west-3/${AT}.parquet`);
    const rows = await readParquet(await historyFile(lake, r.key));
    assert.deepEqual(
      rows.map((x) => [x.availability_zone, x.instance_type, x.product_description, x.price, x.timestamp]),
      [
        ["eu-west-3b", "m5d.12xlarge", "Linux/UNIX", 0.9523, new Date("2019-04-28T22:29:01Z")],
        ["eu-west-3a", "c5.2xlarge", "Windows", 0.1298, new Date("2019-04-28T22:20:07Z")],
        ["eu-west-3c", "t3.nano", "Linux/UNIX", 0.0059, new Date("2019-04-28T21:58:20Z")],
      ],
    );
    assert.equal(JSON.parse(rows[0]!.attributes as string).vcpu, "48");
  });

  test("Azure Retail items: every field in snake_case, JSON-number prices exact (1.4E-05 too)", async () => {
    const m = await putCapture(lake, "AzureRetail", "global", AT, fixture("azure-retail-small.json"));
    const r = await deriveCapture(lake, m, { signal });
    const buf = await historyFile(lake, r.key);
    const rows = await readParquet(buf);
    assert.equal(rows.length, 3);
    const [d4s, blob, reserved] = rows;
    assert.equal(d4s!.retail_price, 0.192);
    assert.equal(d4s!.is_primary_meter_region, true);
    assert.equal(d4s!.arm_sku_name, "Standard_D4s_v3");
    assert.equal(d4s!.reservation_term, null);
    assert.deepEqual(JSON.parse(d4s!.savings_plan as string)[1], {
      unitPrice: 0.09,
      retailPrice: 0.09,
      term: "3 Years",
    });
    assert.deepEqual(d4s!.effective_start_date, new Date("2023-09-01T00:00:00Z"));
    assert.equal(blob!.tier_minimum_units, 100);
    assert.deepEqual(blob!.effective_end_date, new Date("2024-06-30T23:59:59Z"));
    assert.equal(blob!.is_primary_meter_region, false);
    assert.equal(blob!.arm_sku_name, "", "an empty string stays empty, not NULL");
    assert.equal(reserved!.type, "Reservation");
    assert.equal(reserved!.reservation_term, "3 Years");
    assert.equal(reserved!.unit_price, 2978);
    const duck = await openDuck();
    try {
      const res = await duck.connection.runAndReadAll(
        `SELECT retail_price::VARCHAR FROM read_parquet('${join(dir, r.key)}') WHERE meter_name = 'Read Operations'`,
      );
      assert.deepEqual(res.getRowsJson(), [["0.0000140000"]]);
    } finally {
      duck.close();
    }
  });

  test("an Azure RateCard: one row per rate tier, with the top-level currency", async () => {
    const m = await putCapture(lake, "Azure", "US", AT, fixture("azure-ratecard-small.json"));
    const r = await deriveCapture(lake, m, { signal });
    const rows = await readParquet(await historyFile(lake, r.key));
    assert.deepEqual(
      rows.map((x) => [x.meter_name, x.tier_minimum, x.rate, x.included_quantity, x.currency, x.unit]),
      [
        ["F2/F2s Low Priority", 0, 0.0766, 0, "USD", "1 Hour"],
        ["Data Transfer Out (GB)", 0, 0.087, 5, "USD", "1 GB"],
        ["Data Transfer Out (GB)", 10240, 0.083, 5, "USD", "1 GB"],
        ["Data Transfer Out (GB)", 51200, 0.07, 5, "USD", "1 GB"],
      ],
    );
  });

  test("a capture with no rows still gets its (empty) file", async () => {
    const m = await putCapture(lake, "AmazonEC2Spot", "ap-east-1", AT, "[]");
    const r = await deriveCapture(lake, m, { signal });
    assert.equal(r.rows, 0);
    const buf = await historyFile(lake, r.key);
    assert.deepEqual(await readParquet(buf), []);
    assert.deepEqual(
      parquetColumns(buf).map((c) => c.name),
      TABLES.aws_spot_prices.columns.map(([n]) => n),
    );
  });

  test("an EC2 offer with products but no terms, or with neither, gets its empty file", async () => {
    const { doc } = generatedOffer("empty", "eu-west-1", 8);
    const productsOnly = `${doc.slice(0, doc.indexOf(`"terms"`))}"terms" : { } }`;
    for (const [region, text] of [
      ["ap-south-2", productsOnly],
      ["ap-southeast-3", `{ "version" : "1", "products" : { }, "terms" : { } }`],
    ] as const) {
      // Two buckets' worth of capture, so that held products are split into buckets that no term joins.
      const m = await putCapture(lake, "AmazonEC2", region, AT, text);
      const r = await deriveCapture(lake, m, { signal, bucketBytes: Math.ceil(text.length / 2) });
      assert.equal(r.rows, 0, region);
      const buf = await historyFile(lake, r.key);
      assert.deepEqual(await readParquet(buf), [], region);
      assert.deepEqual(
        parquetColumns(buf).map((c) => c.name),
        TABLES.aws_ec2_prices.columns.map(([n]) => n),
      );
    }
  });
});

for (const kind of ["local", "s3"] as const) {
  describe(`contrail history's derivation on a ${kind} lake`, () => {
    let s3: FakeS3 | undefined;
    let lake: Lake;
    let cleanup: () => void = () => undefined;
    before(async () => {
      if (kind === "local") {
        const t = tempDir();
        cleanup = t.cleanup;
        lake = new LocalLake(t.dir);
      } else {
        s3 = await startS3();
        lake = s3Lake(s3);
      }
    });
    after(async () => {
      await lake.close?.();
      await s3?.stop();
      cleanup();
    });

    test("derives every capture without a history file, and a second run changes nothing", async () => {
      await putCapture(lake, "AmazonEC2", "us-east-1", AT, fixture("ec2-offer-small.json"));
      await putCapture(lake, "AmazonEC2Spot", "eu-west-3", AT, fixture("spot-2019-three.json"));
      const first = await deriveMissing(lake, { signal });
      assert.deepEqual(first.failed, []);
      assert.deepEqual(first.derived.sort(), [
        `history/aws_ec2_prices/region=us-east-1/${AT}.parquet`,
        `history/aws_spot_prices/region=eu-west-3/${AT}.parquet`,
      ]);
      const listing = async () => {
        const out: string[] = [];
        for await (const e of lake.list("history/")) out.push(`${e.key} ${e.size}`);
        return out;
      };
      const before = await listing();
      const second = await deriveMissing(lake, { signal });
      assert.deepEqual(second, { derived: [], failed: [] });
      assert.deepEqual(await listing(), before);
      if (s3) {
        const keys = await s3.listKeys("prices/history/");
        assert.equal(keys.length, 2, keys.join("\n"));
      }
    });

    test("--source limits it; an invalid capture fails and leaves nothing, in the lake or in the temp directory", async () => {
      await putCapture(lake, "AzureRetail", "global", AT, '{"Items":[{"retailPrice":0.1},');
      const tmpRoot = mkdtempSync(join(tmpdir(), "contrail-history-test-"));
      try {
        const onlySpot = await deriveMissing(lake, { signal, source: "AmazonEC2Spot", tmpRoot });
        assert.deepEqual(onlySpot, { derived: [], failed: [] });
        const r = await deriveMissing(lake, { signal, source: "AzureRetail", tmpRoot });
        assert.equal(r.derived.length, 0);
        assert.equal(r.failed.length, 1);
        assert.match(r.failed[0]!.error.message, /AzureRetail\/global\/.*\.json\.gz/);
        const keys: string[] = [];
        for await (const e of lake.list("history/azure_retail_prices/")) keys.push(e.key);
        assert.deepEqual(keys, []);
        assert.deepEqual(readdirSync(tmpRoot), []);
      } finally {
        rmSync(tmpRoot, { recursive: true, force: true });
      }
    });
  });
}

describe("a derivation step that runs out of memory on two threads", () => {
  // DuckDB's out-of-memory depends on how two threads' buffers happen to fall, so the steps here fail on cue.
  function steps(failures: string[]) {
    const sql: string[] = [];
    const db = { run: async (s: string) => void sql.push(s) };
    let fallbacks = 0;
    const threads = new OneThreadOnOutOfMemory(db, () => fallbacks++);
    const step = (name: string) => async () => {
      sql.push(name);
      const failure = failures.shift();
      if (failure) throw new Error(failure);
      return name;
    };
    return { sql, threads, step, fallbacks: () => fallbacks };
  }

  test("runs again on one thread, and every later step too; a second out-of-memory or another error is thrown", async () => {
    const oom = "Out of Memory Error: could not allocate block of size 256.0 KiB (182.9 MiB/183.1 MiB used)";
    const s = steps(["", oom]);
    assert.equal(await s.threads.run(s.step("bucket 0")), "bucket 0");
    assert.equal(await s.threads.run(s.step("bucket 1")), "bucket 1");
    assert.equal(await s.threads.run(s.step("rewrite")), "rewrite");
    assert.deepEqual(s.sql, ["bucket 0", "bucket 1", "SET threads = 1", "bucket 1", "rewrite"]);
    assert.equal(s.fallbacks(), 1);

    const again = steps([oom, oom]);
    await assert.rejects(again.threads.run(again.step("bucket 0")), /Out of Memory/);
    assert.deepEqual(again.sql, ["bucket 0", "SET threads = 1", "bucket 0"]);

    const other = steps(["Conversion Error: Could not convert string 'x' to DECIMAL(38,10)"]);
    await assert.rejects(other.threads.run(other.step("bucket 0")), /Conversion Error/);
    assert.deepEqual(other.sql, ["bucket 0"]);
    assert.equal(other.fallbacks(), 0);
  });

  test("with DuckDB: SET threads = 1 is what the connection then runs on", async () => {
    const duck = await openDuck({ threads: 2 });
    try {
      const threads = new OneThreadOnOutOfMemory(duck.connection, () => {});
      const current = async () =>
        Number((await duck.connection.runAndReadAll("SELECT current_setting('threads')")).getRows()[0]![0]);
      assert.equal(await current(), 2);
      let first = true;
      await threads.run(async () => {
        if (first) {
          first = false;
          throw new Error("Out of Memory Error: failed to allocate data of size 512.0 KiB");
        }
      });
      assert.equal(await current(), 1);
    } finally {
      duck.close();
    }
  });
});
