// The fake EC2 API, driven by the real AWS SDK v3 client.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeSpotPriceHistoryCommand,
  EC2Client,
  paginateDescribeSpotPriceHistory,
  type DescribeSpotPriceHistoryCommandInput,
  type SpotPrice,
} from "@aws-sdk/client-ec2";
import { FakeEc2, generateHistory, type DisabledVariant, type SpotRecord } from "./ec2.js";
import { AWS_REGIONS, DEFAULT_REGIONS, NOT_EC2_REGIONS, todaysRegionIndex } from "./ec2-regions.js";

const NOW = new Date("2026-11-29T22:00:00.000Z");
const HOUR = 3_600_000;

function client(endpoint: string, region: string, maxAttempts = 3): EC2Client {
  return new EC2Client({
    region,
    endpoint,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
    maxAttempts,
  });
}

async function collect(
  c: EC2Client,
  input: DescribeSpotPriceHistoryCommandInput,
  pageSize?: number,
): Promise<SpotPrice[]> {
  const out: SpotPrice[] = [];
  for await (const page of paginateDescribeSpotPriceHistory({ client: c, pageSize }, input)) {
    out.push(...(page.SpotPriceHistory ?? []));
  }
  return out;
}

function asWire(r: SpotRecord): SpotPrice {
  return {
    AvailabilityZone: r.availabilityZone,
    InstanceType: r.instanceType as SpotPrice["InstanceType"],
    ProductDescription: r.productDescription as SpotPrice["ProductDescription"],
    SpotPrice: r.spotPrice,
    Timestamp: r.timestamp,
  };
}

function rec(az: string, type: string, price: string, at: Date, product = "Linux/UNIX"): SpotRecord {
  return {
    availabilityZone: az,
    instanceType: type,
    productDescription: product,
    spotPrice: price,
    timestamp: at,
  };
}

/** Starts `ec2` for a suite; before each test: faults and calls cleared, then `reset`. */
function serve(ec2: FakeEc2, reset: () => void = () => undefined): { endpoint: string } {
  const srv = { endpoint: "" };
  before(async () => {
    srv.endpoint = await ec2.start();
  });
  after(() => ec2.close());
  beforeEach(() => {
    ec2.clearFaults();
    ec2.calls.length = 0;
    reset();
  });
  return srv;
}

describe("FakeEc2 DescribeSpotPriceHistory", () => {
  const ec2 = new FakeEc2({ now: () => NOW, accessKeyId: "AKIDTEST" });
  const history = generateHistory({
    region: "eu-west-3",
    from: new Date(NOW.getTime() - 6 * HOUR),
    to: NOW,
    types: ["m5.large", "m5d.12xlarge", "c5.2xlarge", "r5.xlarge", "t3.micro"],
    products: ["Linux/UNIX", "Windows", "Red Hat Enterprise Linux"],
    azs: ["eu-west-3a", "eu-west-3b", "eu-west-3c"],
    everyMinutes: 4,
  });

  const srv = serve(ec2, () => {
    ec2.lastToken = "absent";
    ec2.setHistory("eu-west-3", history);
  });

  it("generates deterministic, 6-decimal, seeded history", () => {
    const again = generateHistory({
      region: "eu-west-3",
      from: new Date(NOW.getTime() - 6 * HOUR),
      to: NOW,
      types: ["m5.large", "m5d.12xlarge", "c5.2xlarge", "r5.xlarge", "t3.micro"],
      products: ["Linux/UNIX", "Windows", "Red Hat Enterprise Linux"],
      azs: ["eu-west-3a", "eu-west-3b", "eu-west-3c"],
      everyMinutes: 4,
    });
    assert.deepEqual(again, history);
    assert.ok(history.length > 3000, `got ${history.length}`);
    assert.ok(history.every((r) => /^\d+\.\d{6}$/.test(r.spotPrice)));
  });

  for (const lastToken of ["absent", "empty"] as const) {
    it(`returns every page, complete, ending with a ${lastToken} nextToken`, async () => {
      ec2.lastToken = lastToken;
      const start = new Date(NOW.getTime() - 5 * HOUR);
      const got = await collect(client(srv.endpoint, "eu-west-3"), { StartTime: start, EndTime: NOW });
      const want = ec2.expected("eu-west-3", { startTime: start, endTime: NOW });
      assert.ok(want.length > 2000);
      assert.deepEqual(got, want.map(asWire));
      const calls = ec2.callsFor("eu-west-3");
      assert.equal(calls.length, Math.ceil(want.length / 1000));
      assert.deepEqual(
        calls.map((c) => c.returned),
        calls.map((_, i) => Math.min(1000, want.length - i * 1000)),
      );
      assert.equal(calls.at(-1)!.nextToken, undefined);
      assert.ok(
        calls.slice(1).every((c) => c.params.nextToken && c.params.startTime?.getTime() === start.getTime()),
      );
    });
  }

  it("honours MaxResults and caps it at 1000", async () => {
    const got = await collect(
      client(srv.endpoint, "eu-west-3"),
      { StartTime: new Date(NOW.getTime() - HOUR) },
      250,
    );
    const calls = ec2.callsFor("eu-west-3");
    assert.equal(got.length, ec2.expected("eu-west-3", { startTime: new Date(NOW.getTime() - HOUR) }).length);
    assert.ok(calls.every((c) => c.params.maxResults === 250 && c.returned <= 250));
    ec2.calls.length = 0;
    await client(srv.endpoint, "eu-west-3").send(new DescribeSpotPriceHistoryCommand({ MaxResults: 5000 }));
    assert.equal(ec2.calls[0]!.returned, 1000);
  });

  it("answers a window with its records plus the price in effect at its start, most recent first", async () => {
    const t = (h: number) => new Date(NOW.getTime() - h * HOUR);
    ec2.setHistory("eu-west-3", [
      rec("eu-west-3a", "m5.large", "0.030000", t(5)),
      rec("eu-west-3a", "m5.large", "0.031000", t(3)), // in effect at the window start
      rec("eu-west-3a", "m5.large", "0.032000", t(1.5)),
      rec("eu-west-3a", "m5.large", "0.033000", t(0.5)), // after EndTime
      rec("eu-west-3b", "m5.large", "0.040000", t(4)), // in effect (no change inside the window)
      rec("eu-west-3a", "c5.large", "0.050000", t(2)), // exactly at StartTime: inside
      rec("eu-west-3a", "c5.large", "0.049000", t(2.5)), // in effect before StartTime
    ]);
    const got = await collect(client(srv.endpoint, "eu-west-3"), { StartTime: t(2), EndTime: t(1) });
    assert.deepEqual(
      got.map((r) => [r.AvailabilityZone, r.InstanceType, r.SpotPrice, r.Timestamp?.toISOString()]),
      [
        ["eu-west-3a", "m5.large", "0.032000", t(1.5).toISOString()],
        ["eu-west-3a", "c5.large", "0.050000", t(2).toISOString()],
        ["eu-west-3a", "c5.large", "0.049000", t(2.5).toISOString()],
        ["eu-west-3a", "m5.large", "0.031000", t(3).toISOString()],
        ["eu-west-3b", "m5.large", "0.040000", t(4).toISOString()],
      ],
    );
    const now = await collect(client(srv.endpoint, "eu-west-3"), { StartTime: NOW });
    assert.equal(now.length, 3, "StartTime=now gives the current price of each series");
  });

  it("filters by InstanceType.N, ProductDescription.N, AvailabilityZone and Filter.N", async () => {
    const c = client(srv.endpoint, "eu-west-3");
    const start = new Date(NOW.getTime() - HOUR);
    const a = await collect(c, {
      StartTime: start,
      InstanceTypes: ["m5.large", "t3.micro"],
      ProductDescriptions: ["Windows"],
      AvailabilityZone: "eu-west-3b",
    });
    assert.ok(a.length > 0);
    assert.ok(
      a.every(
        (r) =>
          ["m5.large", "t3.micro"].includes(r.InstanceType!) &&
          r.ProductDescription === "Windows" &&
          r.AvailabilityZone === "eu-west-3b",
      ),
    );
    const b = await collect(c, {
      StartTime: start,
      Filters: [
        { Name: "instance-type", Values: ["m5*"] },
        { Name: "product-description", Values: ["Linux/UNIX", "Red Hat Enterprise Linux"] },
        { Name: "availability-zone", Values: ["eu-west-3c"] },
      ],
    });
    assert.ok(b.length > 0);
    assert.ok(
      b.every(
        (r) =>
          r.InstanceType!.startsWith("m5") &&
          r.ProductDescription !== "Windows" &&
          r.AvailabilityZone === "eu-west-3c",
      ),
    );
    const first = ec2.callsFor("eu-west-3")[0]!;
    assert.deepEqual(first.params.instanceTypes, ["m5.large", "t3.micro"]);
    assert.equal(first.raw.Action, "DescribeSpotPriceHistory");
    assert.equal(first.raw.Version, "2016-11-15");
    await assert.rejects(
      c.send(new DescribeSpotPriceHistoryCommand({ Filters: [{ Name: "colour", Values: ["red"] }] })),
      {
        name: "InvalidParameterValue",
      },
    );
  });

  it("throttles with 503 RequestLimitExceeded; the SDK retries and ends complete", async () => {
    ec2.throttle("eu-west-3", 2);
    const start = new Date(NOW.getTime() - 5 * HOUR);
    const got = await collect(client(srv.endpoint, "eu-west-3"), { StartTime: start, EndTime: NOW });
    assert.equal(got.length, ec2.expected("eu-west-3", { startTime: start, endTime: NOW }).length);
    const calls = ec2.callsFor("eu-west-3");
    assert.deepEqual(
      calls.slice(0, 2).map((c) => [c.status, c.error]),
      [
        [503, "RequestLimitExceeded"],
        [503, "RequestLimitExceeded"],
      ],
    );
    assert.equal(calls[2]!.status, 200);
  });

  it("fails a disabled region with AuthFailure (401) or OptInRequired", async () => {
    ec2.setHistory("ap-east-1", history);
    ec2.disableRegion("ap-east-1");
    const c = client(srv.endpoint, "ap-east-1");
    await assert.rejects(
      collect(c, { StartTime: NOW }),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, "AuthFailure");
        assert.equal(err.$metadata?.httpStatusCode, 401);
        return true;
      },
    );
    assert.equal(ec2.callsFor("ap-east-1").length, 1, "AuthFailure is not retried");
    ec2.disableRegion("ap-east-1", "OptInRequired");
    await assert.rejects(collect(c, { StartTime: NOW }), { name: "OptInRequired" });
    ec2.enableRegion("ap-east-1");
    assert.ok((await collect(c, { StartTime: NOW })).length > 0);
  });

  it("rejects another access key and an unknown action", async () => {
    const wrong = new EC2Client({
      region: "eu-west-3",
      endpoint: srv.endpoint,
      credentials: { accessKeyId: "OTHER", secretAccessKey: "x" },
    });
    await assert.rejects(wrong.send(new DescribeSpotPriceHistoryCommand({})), { name: "AuthFailure" });
    await assert.rejects(client(srv.endpoint, "eu-west-3").send(new DescribeInstancesCommand({})), {
      name: "InvalidAction",
    });
  });

  it("keeps regions apart by the signing region", async () => {
    ec2.setHistory("us-east-1", [rec("us-east-1a", "m5.large", "0.011000", new Date(NOW.getTime() - HOUR))]);
    ec2.setHistory("us-west-2", [rec("us-west-2a", "m5.large", "0.022000", new Date(NOW.getTime() - HOUR))]);
    const east = await collect(client(srv.endpoint, "us-east-1"), { StartTime: NOW });
    const west = await collect(client(srv.endpoint, "us-west-2"), { StartTime: NOW });
    assert.deepEqual(
      east.map((r) => r.SpotPrice),
      ["0.011000"],
    );
    assert.deepEqual(
      west.map((r) => r.SpotPrice),
      ["0.022000"],
    );
    assert.deepEqual(await collect(client(srv.endpoint, "eu-north-1"), { StartTime: NOW }), []);
    assert.equal(ec2.callsFor("us-east-1").length, 1);
    assert.equal(ec2.callsFor("us-west-2").length, 1);
  });

  it("speaks the EC2 wire format", async () => {
    ec2.setHistory("us-east-1", [
      rec("us-east-1a", "m1.xlarge", "0.080000", new Date("2014-01-06T04:32:53Z"), "Linux/UNIX (Amazon VPC)"),
    ]);
    const headers = {
      "content-type": "application/x-www-form-urlencoded",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDTEST/20140106/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00",
    };
    const ok = await fetch(`${srv.endpoint}/`, {
      method: "POST",
      headers,
      body: "Action=DescribeSpotPriceHistory&Version=2016-11-15&StartTime=2014-01-07T00%3A00%3A00Z&EndTime=2014-01-07T00%3A00%3A00Z",
    });
    assert.equal(ok.headers.get("content-type"), "text/xml;charset=UTF-8");
    const xml = await ok.text();
    assert.match(
      xml,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeSpotPriceHistoryResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/">/,
    );
    assert.match(xml, /<requestId>[0-9a-f-]{36}<\/requestId>/);
    assert.match(
      xml,
      /<item>\s*<availabilityZone>us-east-1a<\/availabilityZone>\s*<instanceType>m1.xlarge<\/instanceType>\s*<productDescription>Linux\/UNIX \(Amazon VPC\)<\/productDescription>\s*<spotPrice>0.080000<\/spotPrice>\s*<timestamp>2014-01-06T04:32:53.000Z<\/timestamp>\s*<\/item>/,
    );
    assert.doesNotMatch(xml, /nextToken/);
    const bad = await fetch(`${srv.endpoint}/`, {
      method: "POST",
      headers,
      body: "Action=RunInstances&Version=2016-11-15",
    });
    assert.equal(bad.status, 400);
    assert.match(
      await bad.text(),
      /^<\?xml[^>]*>\n<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });
});

describe("FakeEc2 regions", () => {
  const ec2 = new FakeEc2({ now: () => NOW });
  const srv = serve(ec2);

  it("DescribeRegions: the partition's Regions with their opt-in status; without AllRegions the enabled ones", async () => {
    ec2.disableRegion("af-south-1");
    const c = client(srv.endpoint, "us-east-1");
    const all = await c.send(new DescribeRegionsCommand({ AllRegions: true }));
    assert.deepEqual(all.Regions?.map((r) => r.RegionName).sort(), [...AWS_REGIONS].sort());
    const status = new Map(all.Regions?.map((r) => [r.RegionName, r.OptInStatus]));
    assert.equal(status.get("us-east-1"), "opt-in-not-required");
    assert.equal(status.get("me-south-1"), "opted-in");
    assert.equal(status.get("af-south-1"), "not-opted-in");
    assert.equal(
      all.Regions?.find((r) => r.RegionName === "eu-west-1")?.Endpoint,
      "ec2.eu-west-1.amazonaws.com",
    );
    const enabled = await c.send(new DescribeRegionsCommand({}));
    assert.equal(enabled.Regions?.length, AWS_REGIONS.length - 1);
    assert.ok(!enabled.Regions?.some((r) => r.RegionName === "af-south-1"));
  });

  it("DescribeRegions denied: 403 UnauthorizedOperation, not retried", async () => {
    ec2.denyDescribeRegions = true;
    await assert.rejects(
      client(srv.endpoint, "us-east-1").send(new DescribeRegionsCommand({ AllRegions: true })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, "UnauthorizedOperation");
        assert.equal(err.$metadata?.httpStatusCode, 403);
        assert.match(err.message, /not authorized to perform: ec2:DescribeRegions/);
        return true;
      },
    );
    assert.equal(ec2.calls.filter((c) => c.action === "DescribeRegions").length, 1);
  });

  it("a disabled region refuses as its credentials would: each code with its status", async () => {
    const cases: [DisabledVariant, number][] = [
      ["AuthFailure", 401],
      ["OptInRequired", 401],
      ["InvalidClientTokenId", 403],
      ["RegionDisabledException", 403],
    ];
    for (const [variant, status] of cases) {
      ec2.disableRegion("ap-east-1", variant);
      await assert.rejects(
        client(srv.endpoint, "ap-east-1").send(new DescribeSpotPriceHistoryCommand({ StartTime: NOW })),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.name, variant);
          assert.equal(err.$metadata?.httpStatusCode, status);
          return true;
        },
      );
    }
    // Not opted in, nothing else said: AuthFailure, as with long-term keys.
    ec2.regionStatus.set("il-central-1", "not-opted-in");
    await assert.rejects(
      client(srv.endpoint, "il-central-1").send(new DescribeSpotPriceHistoryCommand({ StartTime: NOW })),
      { name: "AuthFailure" },
    );
    ec2.denyRegion("eu-south-1");
    await assert.rejects(
      client(srv.endpoint, "eu-south-1").send(new DescribeSpotPriceHistoryCommand({ StartTime: NOW })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, "UnauthorizedOperation");
        assert.equal(err.$metadata?.httpStatusCode, 403);
        assert.match(err.message, /explicit deny in a service control policy/);
        return true;
      },
    );
  });

  it("a name that is not an EC2 Region has no endpoint: no answer at all", async () => {
    for (const zone of ["us-west-2-lax-1", "us-east-1-wl1-bos-wlz-1", "cn-north-1-pkx-1"]) {
      await assert.rejects(
        client(srv.endpoint, zone, 1).send(new DescribeSpotPriceHistoryCommand({ StartTime: NOW })),
        (err: Error & { $metadata?: unknown }) => {
          assert.ok(
            !(err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
            "no status",
          );
          return true;
        },
      );
      assert.equal(ec2.callsFor(zone).at(-1)?.error, "NoEndpoint");
    }
  });

  it("today's price-list region index: every Region plus zones and other partitions", () => {
    const index = todaysRegionIndex();
    for (const r of [...DEFAULT_REGIONS, "us-west-2-lax-1", "us-east-1-wl1-bos-wlz-1", "cn-north-1-pkx-1"])
      assert.ok(index.includes(r), r);
    assert.equal(index.length, AWS_REGIONS.length + NOT_EC2_REGIONS.length);
    assert.ok(NOT_EC2_REGIONS.every((r) => !AWS_REGIONS.includes(r)));
  });
});
