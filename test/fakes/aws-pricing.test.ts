import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { generatedProduct, offerFragments } from "./aws-offer.js";
import { FakeAwsPricing, offerStream, prettyJson } from "./aws-pricing.js";

const md5 = (b: Buffer | string) => createHash("md5").update(b).digest("hex");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
async function collect(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c);
  return Buffer.concat(parts);
}
interface Offer {
  formatVersion: string;
  offerCode: string;
  version: string;
  publicationDate: string;
  products: Record<string, { sku: string; productFamily: string; attributes: Record<string, string> }>;
  terms: Record<
    string,
    Record<
      string,
      Record<
        string,
        { priceDimensions: Record<string, Record<string, unknown>>; termAttributes: Record<string, string> }
      >
    >
  >;
}

describe("fake AWS Price List bulk API", () => {
  const aws = new FakeAwsPricing({ regions: ["us-east-1", "eu-west-1"], products: 40 });
  let base = "";
  before(async () => {
    base = await aws.start();
  });
  after(() => aws.close());

  test("index → region_index → offer file, with relative URLs", async () => {
    const index = (await (await fetch(`${base}/offers/v1.0/aws/index.json`)).json()) as {
      offers: Record<string, { currentRegionIndexUrl: string }>;
    };
    const regionIndexUrl = index.offers.AmazonEC2!.currentRegionIndexUrl;
    assert.equal(regionIndexUrl, "/offers/v1.0/aws/AmazonEC2/current/region_index.json");
    const ri = (await (await fetch(base + regionIndexUrl)).json()) as {
      regions: Record<string, { regionCode: string; currentVersionUrl: string }>;
    };
    assert.deepEqual(Object.keys(ri.regions), ["us-east-1", "eu-west-1"]);
    const entry = ri.regions["eu-west-1"]!;
    assert.equal(entry.regionCode, "eu-west-1");
    assert.match(
      entry.currentVersionUrl,
      /^\/offers\/v1\.0\/aws\/AmazonEC2\/\d{14}\/eu-west-1\/index\.json$/,
    );
    assert.equal(base + entry.currentVersionUrl, aws.offerUrl("eu-west-1"));

    const res = await fetch(base + entry.currentVersionUrl);
    assert.equal(res.status, 200);
    const text = await res.text();
    const offer = JSON.parse(text) as Offer;
    assert.equal(offer.formatVersion, "v1.0");
    assert.equal(offer.offerCode, "AmazonEC2");
    assert.match(offer.version, /^\d{14}$/);
    assert.equal(offer.publicationDate.replace(/[-:TZ]/g, ""), offer.version);
    assert.equal(Object.keys(offer.products).length, 40);
    const [sku, product] = Object.entries(offer.products).find(
      ([, p]) => p.productFamily === "Compute Instance",
    )!;
    for (const a of [
      "servicecode",
      "location",
      "locationType",
      "instanceType",
      "vcpu",
      "memory",
      "storage",
      "instanceFamily",
      "tenancy",
      "operatingSystem",
      "capacitystatus",
      "preInstalledSw",
      "regionCode",
    ]) {
      assert.equal(typeof product.attributes[a], "string", a);
    }
    assert.equal(product.attributes.regionCode, "eu-west-1");
    const od = Object.values(offer.terms.OnDemand![sku]!)[0]!;
    const dim = Object.values(od.priceDimensions)[0]!;
    assert.equal(typeof (dim.pricePerUnit as { USD: unknown }).USD, "string");
    assert.deepEqual([dim.beginRange, dim.endRange, od.termAttributes], ["0", "Inf", {}]);
    const reserved = Object.values(offer.terms.Reserved!).flatMap((t) => Object.values(t));
    const upfront = reserved
      .flatMap((t) => Object.values(t.priceDimensions))
      .find((d) => d.description === "Upfront Fee")!;
    assert.ok(
      upfront && !("beginRange" in upfront) && !("endRange" in upfront) && upfront.unit === "Quantity",
    );
    assert.ok(reserved.every((t) => ["1yr", "3yr"].includes(t.termAttributes.LeaseContractLength!)));
    // AWS's pretty printing: `"key" : value`, `{ }`, `[ ]`, two-space indent.
    assert.equal(prettyJson(JSON.parse(text)), text);
    assert.match(text, /^\{\n {2}"formatVersion" : "v1\.0",\n {2}"disclaimer" : "/);
    assert.match(text, /"appliesTo" : \[ \]/);
    assert.match(text, /"termAttributes" : \{ \}/);
  });

  test("ETag, Last-Modified, Content-Length; If-None-Match → 304; Range → 206 (switchable)", async () => {
    const url = aws.offerUrl("us-east-1");
    const bytes = aws.offerBytes("us-east-1");
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(body, bytes, "offerBytes is exactly what is served");
    const etag = res.headers.get("etag")!;
    assert.equal(etag, `"${md5(bytes)}"`);
    assert.equal(etag, aws.etag("us-east-1"));
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("content-length"), String(bytes.length));
    assert.equal(
      res.headers.get("last-modified"),
      new Date(JSON.parse(body.toString()).publicationDate).toUTCString(),
    );

    const notModified = await fetch(url, { headers: { "if-none-match": etag } });
    assert.equal(notModified.status, 304);
    assert.equal((await notModified.arrayBuffer()).byteLength, 0);
    assert.equal((await fetch(url, { headers: { "if-none-match": '"other"' } })).status, 200);

    const partial = await fetch(url, { headers: { range: "bytes=10-19" } });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get("content-range"), `bytes 10-19/${bytes.length}`);
    assert.deepEqual(Buffer.from(await partial.arrayBuffer()), bytes.subarray(10, 20));
    aws.ranges = false;
    try {
      const full = await fetch(url, { headers: { range: "bytes=10-19" } });
      assert.equal(full.status, 200);
      assert.equal((await full.arrayBuffer()).byteLength, bytes.length);
    } finally {
      aws.ranges = true;
    }
  });

  test("bumpVersion publishes a later version with new bytes; the old one stays fetchable; unknown → 404 NoSuchKey", async () => {
    const oldUrl = aws.offerUrl("eu-west-1");
    const seen = aws.offerRequests("eu-west-1").length;
    const [oldVersion, oldEtag, oldBytes] = [
      aws.version("eu-west-1"),
      aws.etag("eu-west-1"),
      aws.offerBytes("eu-west-1"),
    ];
    const v = aws.bumpVersion("eu-west-1");
    assert.ok(v > oldVersion);
    assert.equal(aws.version("eu-west-1"), v);
    assert.notEqual(aws.etag("eu-west-1"), oldEtag);
    const ri = (await (
      await fetch(`${base}/offers/v1.0/aws/AmazonEC2/current/region_index.json`)
    ).json()) as {
      regions: Record<string, { currentVersionUrl: string }>;
    };
    assert.equal(base + ri.regions["eu-west-1"]!.currentVersionUrl, aws.offerUrl("eu-west-1"));
    const fresh = await fetch(aws.offerUrl("eu-west-1"));
    assert.equal(fresh.headers.get("etag"), aws.etag("eu-west-1"));
    assert.equal((JSON.parse(await fresh.text()) as Offer).version, v);
    assert.deepEqual(Buffer.from(await (await fetch(oldUrl)).arrayBuffer()), oldBytes);
    const missing = await fetch(oldUrl.replace(oldVersion, "20990101000000"));
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /<Error><Code>NoSuchKey<\/Code>/);
    assert.equal(aws.offerRequests("eu-west-1").length - seen, 3, "fresh, old and missing");
  });

  test("explicit products, region removal, and deterministic generation", async () => {
    aws.setRegion("ap-south-1", {
      version: "20250301000000",
      products: [
        { sku: "AAAAAAAAAAAAAAA1", attributes: { instanceType: "m5.large" } },
        {
          sku: "AAAAAAAAAAAAAAA2",
          attributes: { instanceType: "m5.large", storage: "1 x 75 NVMe SSD", capacitystatus: null },
        },
        {
          productFamily: "Storage",
          attributes: { instanceType: null, volumeApiName: "gp3" },
          price: "0.0800000000",
        },
      ],
    });
    const offer = JSON.parse(aws.offerBytes("ap-south-1").toString()) as Offer;
    const p1 = offer.products.AAAAAAAAAAAAAAA1!.attributes;
    const p2 = offer.products.AAAAAAAAAAAAAAA2!.attributes;
    assert.equal(p1.vcpu, p2.vcpu);
    assert.notEqual(p1.storage, p2.storage);
    assert.equal(p2.capacitystatus, undefined);
    assert.equal(p1.regionCode, "ap-south-1");
    assert.equal(Object.keys(offer.products).length, 3);
    assert.equal(offer.version, "20250301000000");

    aws.removeRegion("ap-south-1");
    assert.equal(aws.regions().includes("ap-south-1"), false);
    assert.equal(
      (await fetch(`${base}/offers/v1.0/aws/AmazonEC2/20250301000000/ap-south-1/index.json`)).status,
      404,
    );

    const twin = new FakeAwsPricing({ regions: ["us-east-1"], products: 40 });
    assert.deepEqual(twin.offerBytes("us-east-1"), aws.offerBytes("us-east-1"));
  });

  test("a streamed region is served chunked, without Content-Length, with a stable ETag", async () => {
    aws.setRegion("sa-east-1", { stream: { targetBytes: 2e6, seed: 7 } });
    const res = await fetch(aws.offerUrl("sa-east-1"));
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    const etag = res.headers.get("etag")!;
    assert.equal(etag, aws.etag("sa-east-1"));
    const offer = JSON.parse(await res.text()) as Offer;
    assert.equal(offer.version, aws.version("sa-east-1"));
    assert.equal(
      (await fetch(aws.offerUrl("sa-east-1"), { headers: { "if-none-match": etag } })).status,
      304,
    );
    assert.throws(() => aws.offerBytes("sa-east-1"), /streamed/);
  });
});

test("offerStream produces valid JSON of about targetBytes, deterministically", async () => {
  const a = await collect(offerStream({ targetBytes: 20e6, seed: 42 }));
  assert.ok(Math.abs(a.length - 20e6) / 20e6 < 0.05, `size ${a.length}`);
  const doc = JSON.parse(a.toString()) as Offer;
  assert.ok(Object.keys(doc.products).length > 1000);
  assert.equal(Object.keys(doc.terms.OnDemand!).length, Object.keys(doc.products).length);
  const b = await collect(offerStream({ targetBytes: 20e6, seed: 42 }));
  assert.equal(sha256(a), sha256(b));
  const c = await collect(offerStream({ targetBytes: 20e6, seed: 43 }));
  assert.notEqual(sha256(a), sha256(c));
});

test("offers price like AWS's: Reserved terms with an upfront fee and an hourly rate, data transfer in tiers, CNY in China", () => {
  const offer = (region: string) => {
    const doc = [
      ...offerFragments({
        version: "20260116160258",
        count: 48,
        product: (i) => generatedProduct("t", region, i),
      }),
    ].join("");
    assert.equal(prettyJson(JSON.parse(doc)), doc);
    return JSON.parse(doc) as Offer;
  };
  type Dim = { beginRange?: string; endRange?: string; unit: string; pricePerUnit: Record<string, string> };
  const dims = (o: Offer, type: string) =>
    Object.values(o.terms[type]!).flatMap((bySku) =>
      Object.values(bySku).map((t) => Object.values(t.priceDimensions) as unknown as Dim[]),
    );
  for (const [region, currency] of [
    ["us-east-1", "USD"],
    ["cn-north-1", "CNY"],
  ] as const) {
    const o = offer(region);
    const all = [...dims(o, "OnDemand"), ...dims(o, "Reserved")].flat();
    assert.deepEqual([...new Set(all.flatMap((d) => Object.keys(d.pricePerUnit)))], [currency], region);

    const tiered = dims(o, "OnDemand").filter((d) => d.length > 1);
    assert.equal(tiered.length, 3, "one data transfer product in 16");
    for (const tiers of tiered) {
      assert.equal(tiers[0]!.beginRange, "0");
      assert.equal(tiers.at(-1)!.endRange, "Inf");
      for (let i = 1; i < tiers.length; i++) {
        assert.equal(tiers[i]!.beginRange, tiers[i - 1]!.endRange, "tiers are contiguous");
        assert.ok(
          Number(tiers[i]!.pricePerUnit[currency]) <= Number(tiers[i - 1]!.pricePerUnit[currency]) || i === 1,
        );
      }
      assert.ok(tiers.every((d) => d.unit === "GB"));
    }
    const reserved = dims(o, "Reserved");
    assert.ok(
      reserved.some(
        (d) => d.length === 2 && d.some((x) => x.unit === "Quantity") && d.some((x) => x.unit === "Hrs"),
      ),
    );
  }
});

describe("fake AWS Price List: other services and Savings Plans", () => {
  const aws = new FakeAwsPricing({ regions: ["us-east-1"], products: 3 });
  let base = "";
  before(async () => {
    base = await aws.start();
  });
  after(() => aws.close());

  test("other services: the service index lists them (keyed by code), each region index in EC2's shape", async () => {
    const index = (await (await fetch(`${base}/offers/v1.0/aws/index.json`)).json()) as {
      offers: Record<string, Record<string, string>>;
    };
    assert.deepEqual(Object.keys(index.offers), ["AmazonEC2", "AmazonRDS", "AmazonS3", "AWSLambda"]);
    assert.equal(index.offers.AmazonRDS!.offerCode, "AmazonRDS");
    assert.equal(index.offers.AmazonS3!.currentSavingsPlanIndexUrl, undefined, "no plans for S3");
    const rds = aws.service("AmazonRDS");
    const ri = (await (await fetch(base + index.offers.AmazonRDS!.currentRegionIndexUrl!)).json()) as {
      formatVersion: string;
      regions: Record<string, { regionCode: string; currentVersionUrl: string }>;
    };
    assert.equal(ri.formatVersion, "v1.0");
    assert.deepEqual(Object.keys(ri.regions), rds.regions());
    const entry = ri.regions["us-east-1"]!;
    assert.match(
      entry.currentVersionUrl,
      /^\/offers\/v1\.0\/aws\/AmazonRDS\/\d{14}\/us-east-1\/index\.json$/,
    );
    const res = await fetch(base + entry.currentVersionUrl);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(bytes, rds.bytes("us-east-1"));
    assert.equal(res.headers.get("etag"), `"${md5(bytes)}"`);
    const offer = JSON.parse(bytes.toString("utf8")) as Offer;
    assert.equal(offer.offerCode, "AmazonRDS");
    assert.equal(offer.version, rds.version("us-east-1"));
    assert.match(bytes.toString("utf8"), /^\{\n {2}"formatVersion" : "v1\.0",/, "AWS's formatting");
    const missing = await fetch(`${base}/offers/v1.0/aws/AmazonFoo/current/region_index.json`);
    assert.equal(missing.status, 404);
  });

  test("Savings Plans: the region index is a list of {regionCode, versionUrl} without formatVersion; rate files", async () => {
    const sp = aws.savingsPlans;
    const path = "/savingsPlan/v1.0/aws/AWSComputeSavingsPlan/current/region_index.json";
    const ri = (await (await fetch(base + path)).json()) as Record<string, unknown> & {
      regions: { regionCode: string; versionUrl: string }[];
    };
    assert.deepEqual(Object.keys(ri), ["disclaimer", "publicationDate", "regions"]);
    assert.ok(Array.isArray(ri.regions));
    assert.deepEqual(
      ri.regions.map((r) => r.regionCode),
      ["us-east-1", "eu-west-1", "us-west-2-den-1"],
    );
    const den = ri.regions[2]!;
    assert.match(
      den.versionUrl,
      /^\/savingsPlan\/v1\.0\/aws\/AWSComputeSavingsPlan\/\d{14}\/us-west-2-den-1\/index\.json$/,
    );
    const res = await fetch(base + den.versionUrl);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(bytes, sp.bytes("us-west-2-den-1"));
    const inm = await fetch(base + den.versionUrl, {
      headers: { "if-none-match": res.headers.get("etag")! },
    });
    assert.equal(inm.status, 304);
    const file = JSON.parse(bytes.toString("utf8")) as {
      products: { sku: string; usageType: string; attributes: Record<string, string> }[];
      terms: {
        savingsPlan: {
          sku: string;
          leaseContractLength: { duration: number; unit: string };
          rates: { rateCode: string; discountedRegionCode: string; discountedRate: { price: string } }[];
        }[];
      };
    };
    assert.deepEqual(Object.keys(file), ["version", "publicationDate", "regionCode", "products", "terms"]);
    assert.equal(file.products.length, 6);
    assert.ok(file.products.some((p) => p.usageType === "ComputeSP:1yrNoUpfront"));
    const plan = file.terms.savingsPlan.find((p) => p.leaseContractLength.duration === 3)!;
    assert.equal(plan.leaseContractLength.unit, "year");
    for (const r of plan.rates) {
      assert.equal(r.rateCode.split(".")[0], plan.sku);
      assert.equal(r.discountedRegionCode, "us-west-2-den-1");
      assert.equal(typeof r.discountedRate.price, "string");
    }
    assert.match(bytes.toString("utf8"), /"products" : \[ \{/, "AWS's `[ {` formatting");
    const v = sp.bump("eu-west-1");
    const after = (await (await fetch(base + path)).json()) as typeof ri;
    assert.ok(after.regions.find((r) => r.regionCode === "eu-west-1")!.versionUrl.includes(`/${v}/`));
  });
});
