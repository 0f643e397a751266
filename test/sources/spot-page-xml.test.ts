// The fast reader of DescribeSpotPriceHistory pages (src/sources/aws-spot/page-xml.ts) gives exactly what the AWS
// SDK's own deserializer gives, page by page, against the fake EC2 API; anything that is not a success page is left
// to the SDK.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EC2Client, paginateDescribeSpotPriceHistory } from "@aws-sdk/client-ec2";
import { FakeEc2, generateHistory, type SpotRecord } from "../fakes/ec2.js";
import { fastRows, readSpotPage, time, useFastSpotPages } from "../../src/sources/aws-spot/page-xml.js";
import { SeriesTable, rowOf, type SpotRow } from "../../src/sources/aws-spot/records.js";

const NOW = new Date("2026-11-29T22:00:00.000Z");
const HOUR = 3_600_000;

let fastPages = { read: 0, passed: 0 };

function client(endpoint: string, fast: boolean): EC2Client {
  const c = new EC2Client({
    region: "eu-west-3",
    endpoint,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
    maxAttempts: 3,
  });
  if (fast) fastPages = useFastSpotPages(c);
  return c;
}

interface Item {
  az: string;
  type: string;
  product: string;
  price: string;
  time: number;
}

const item = (r: SpotRow): Item => ({
  az: r.series.availabilityZone,
  type: r.series.instanceType,
  product: r.series.productDescription,
  price: r.spotPrice,
  time: r.time,
});

/** Every page's records: the fast reader's rows, or the rows of the SDK's own deserialization. */
async function pages(c: EC2Client, pageSize: number): Promise<{ items: Item[]; token?: string }[]> {
  const out: { items: Item[]; token?: string }[] = [];
  const table = new SeriesTable();
  const input = { StartTime: new Date(NOW.getTime() - 3 * HOUR), EndTime: NOW, MaxResults: pageSize };
  for await (const p of paginateDescribeSpotPriceHistory({ client: c, pageSize }, input)) {
    const sdk = (p.SpotPriceHistory ?? []).map((x) => rowOf(x, table)!);
    const rows = fastRows(p) ?? sdk;
    if (fastRows(p)) assert.deepEqual(p.SpotPriceHistory, [], "a fast page leaves the SDK's list empty");
    out.push({ items: rows.map(item), ...(p.NextToken ? { token: "set" } : {}) });
  }
  return out;
}

describe("fast DescribeSpotPriceHistory pages", () => {
  const ec2 = new FakeEc2({ now: () => NOW });
  let endpoint = "";
  before(async () => {
    endpoint = await ec2.start();
  });
  after(() => ec2.close());

  test("the same records, page by page, as the SDK's deserializer: escapes, optional fields, both last-page forms", async () => {
    const odd: SpotRecord = {
      availabilityZone: "eu-west-3a",
      availabilityZoneId: "euw3-az1",
      instanceType: "m5.large",
      productDescription: `SUSE & <"Linux"> 'É' &#233;`,
      spotPrice: "0.012345",
      timestamp: new Date(NOW.getTime() - HOUR + 123),
    };
    const history = generateHistory({
      region: "eu-west-3",
      from: new Date(NOW.getTime() - 3 * HOUR),
      to: NOW,
      types: ["m5.large", "c5.large"],
      products: ["Linux/UNIX", "Windows"],
      everyMinutes: 7,
    });
    ec2.setHistory("eu-west-3", [...history, odd]);
    for (const last of ["absent", "empty"] as const) {
      ec2.lastToken = last;
      const slow = await pages(client(endpoint, false), 50);
      const fast = await pages(client(endpoint, true), 50);
      assert.ok(slow.length > 2, "several pages");
      assert.deepEqual(fast, slow, `last page with nextToken ${last}`);
      assert.deepEqual(fastPages, { read: fast.length, passed: 0 }, "every page read by the fast reader");
      const got = fast.flatMap((p) => p.items).find((r) => r.time === odd.timestamp.getTime());
      assert.equal(got?.product, odd.productDescription);
    }
    ec2.setHistory("eu-west-3", []);
    assert.deepEqual(await pages(client(endpoint, true), 50), [{ items: [] }], "an empty set is []");
  });

  test("errors and bodies that are not a success page are the SDK's to read", async () => {
    ec2.throttle("eu-west-3", 1);
    ec2.setHistory(
      "eu-west-3",
      generateHistory({
        region: "eu-west-3",
        from: new Date(NOW.getTime() - HOUR),
        to: NOW,
        types: ["m5.large"],
        products: ["Linux/UNIX"],
        everyMinutes: 10,
      }),
    );
    const items = (await pages(client(endpoint, true), 1000)).flatMap((p) => p.items);
    assert.deepEqual(fastPages, { read: 1, passed: 0 }, "the 503 never reached the reader; the retry did");
    assert.equal(
      items.length,
      ec2.expected("eu-west-3", { startTime: new Date(NOW.getTime() - 3 * HOUR), endTime: NOW }).length,
    );
    assert.equal(readSpotPage("<html><body>503 Service Unavailable</body></html>"), undefined);
    assert.equal(
      readSpotPage(
        '<?xml version="1.0"?><Response><Errors><Error><Code>X</Code></Error></Errors></Response>',
      ),
      undefined,
    );
    assert.equal(
      readSpotPage(
        "<DescribeSpotPriceHistoryResponse><spotPriceHistorySet><item><a><b>1</b></a></item></spotPriceHistorySet></DescribeSpotPriceHistoryResponse>",
      ),
      undefined,
      "a nested element: not a shape this reader knows",
    );
  });

  test("timestamps read digit by digit are Date.parse's, edge values and other forms included", () => {
    const texts = [
      "2026-11-29T22:08:37.000Z",
      "2026-11-29T22:08:37.123Z",
      "2026-11-29T22:59:59.999Z",
      "2026-11-29T23:00:00.000Z",
      "2026-11-29T22:00:00.001Z", // back to the hour before
      "1970-01-01T00:00:00.000Z",
      "9999-12-31T23:59:59.999Z",
      "2026-02-29T00:00:00.000Z", // not a leap year: Date.parse rolls into March, as Date.UTC does
      "2026-04-31T12:00:00.000Z",
      "2026-04-32T12:00:00.000Z",
      "2026-04-00T12:00:00.000Z",
      "2026-00-10T12:00:00.000Z",
      "2026-13-10T12:00:00.000Z",
      "2026-04-10T24:00:00.000Z",
      "2026-04-10T23:60:00.000Z",
      "2026-04-10T23:59:60.000Z",
      "0099-04-10T23:59:59.000Z",
      "1969-12-31T23:59:59.999Z",
      "2026-11-29T22:08:37Z",
      "2026-11-29T22:08:37.5Z",
      "2026-11-29T22:08:37.000+01:00",
      "2026-11-29 22:08:37.000Z",
      "2026-11-29T22:08:3x.000Z",
      "2026-11-29T22:08:37.000z",
      "2026-11-29T22-08:37.000Z",
      "2026-11-29T22:08:37.000Z", // the same hour again, after the odd ones
      "",
      "not a time",
    ];
    for (const text of texts) {
      const bytes = Buffer.from(`<timestamp>${text}</timestamp>`);
      assert.equal(time(bytes, 11, 11 + bytes.length - 23), Date.parse(text), text);
    }
  });
});
