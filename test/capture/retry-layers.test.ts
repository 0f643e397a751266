// One retry layer (issue 8 items 7 and 12): a request is retried by the HTTP client up to its headers, the capture
// retries only a body that broke after them, and a 404 for an offer file the region index has just listed is a
// publication race, retried. Driven in-process: the real AmazonEC2 source, client, capture and local lake against
// the pricing fake, whose request log gives the counts.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import pino from "pino";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { tempDir, writeConfig } from "../helpers.js";
import { loadConfig } from "../../src/config/load.js";
import { NodeHttpClient } from "../../src/http/client.js";
import { LocalLake } from "../../src/lake/local.js";
import { makeContext } from "../../src/schedule/context.js";
import { amazonEc2 } from "../../src/sources/aws-ec2.js";
import type { RegionOutcome } from "../../src/types.js";

const ATTEMPTS = 3;
const REGION = "us-east-1";

describe("retry layers", () => {
  const aws = new FakeAwsPricing({ regions: [REGION], products: 40 });
  let pricingUrl: string;
  let work: { dir: string; cleanup: () => void };
  let n = 0;

  before(async () => {
    pricingUrl = await aws.start();
    work = tempDir("contrail-retry-layers-");
  });
  after(async () => {
    await aws.close();
    work.cleanup();
  });
  beforeEach(() => aws.server.clearFaults());

  /** One AmazonEC2 run into a fresh local lake; the outcome of the region and how many offer requests it made. */
  async function run(): Promise<{ outcome: RegionOutcome; requests: number }> {
    const dir = `${work.dir}/${++n}`;
    mkdirSync(dir, { recursive: true });
    writeConfig(dir, {
      http: { attempts: ATTEMPTS, baseDelay: "5ms", maxDelay: "20ms", stallTimeout: "300ms" },
      sources: { AmazonEC2: { regionDelay: "0s" } },
    });
    const config = loadConfig({
      cwd: dir,
      env: { CONTRAIL_AWS_PRICING_URL: pricingUrl, CONTRAIL_LAKE: dir },
    });
    const http = new NodeHttpClient({
      connectTimeout: config.http.connectTimeout,
      stallTimeout: config.http.stallTimeout,
      retry: { attempts: ATTEMPTS, baseDelay: 5, maxDelay: 20 },
    });
    const before = aws.offerRequests(REGION).length;
    try {
      const ctx = makeContext(
        { config, lake: new LocalLake(dir), http, log: pino({ level: "silent" }) },
        amazonEc2,
        AbortSignal.timeout(30_000),
      );
      const [outcome] = await amazonEc2.run(ctx);
      assert.ok(outcome);
      return { outcome, requests: aws.offerRequests(REGION).length - before };
    } finally {
      http.close();
    }
  }
  const offer = () => ({ path: aws.offerPath(REGION) });

  test("a persistent 503 costs exactly http.attempts requests (the client's), not attempts × attempts", async () => {
    aws.server.fault(offer(), { kind: "status", status: 503 }, 1000);
    const { outcome, requests } = await run();
    assert.equal(outcome.status, "failed");
    assert.match((outcome as { error: Error }).error.message, /HTTP 503/);
    assert.equal(requests, ATTEMPTS);
  });

  test("a body truncated every time: one request per capture attempt", async () => {
    aws.server.fault(offer(), { kind: "truncate", afterBytes: 1000 }, 1000);
    const { outcome, requests } = await run();
    assert.equal(outcome.status, "failed");
    assert.match((outcome as { error: Error }).error.message, /broke off after 1000 bytes/);
    assert.equal(requests, ATTEMPTS);
  });

  // (A TCP reset can overtake the bytes before it, making it a failure before the headers: truncation is exact.)
  test("a truncated body, then a 503 for good: the capture's second attempt gets the client's attempts, no more", async () => {
    aws.server.fault(offer(), { kind: "truncate", afterBytes: 1000 }, 1);
    aws.server.fault(offer(), { kind: "status", status: 503 }, 1000);
    const { outcome, requests } = await run();
    assert.equal(outcome.status, "failed");
    assert.equal(requests, 1 + ATTEMPTS);
  });

  test("a 503, then a truncated body, then the file: captured in three requests", async () => {
    aws.server.fault(offer(), { kind: "status", status: 503 }, 1);
    aws.server.fault(offer(), { kind: "truncate", afterBytes: 1000 }, 1);
    const { outcome, requests } = await run();
    assert.equal(outcome.status, "captured");
    assert.equal(requests, 3);
  });

  test("a complete body that is not JSON is not fetched again", async () => {
    aws.server.fault(offer(), { kind: "invalidJson" }, 1000);
    const { outcome, requests } = await run();
    assert.equal(outcome.status, "failed");
    assert.equal((outcome as { error: { code?: string } }).error.code, "INVALID_JSON");
    assert.equal(requests, 1);
  });

  test("publication race: an offer file the index just listed answers 404 twice, then is captured", async () => {
    aws.unpublished(REGION, 2);
    const { outcome, requests } = await run();
    assert.equal(outcome.status, "captured");
    assert.equal(requests, 3);
  });

  test("publication race: a listed file that stays 404 fails after the client's attempts, not a capture's more", async () => {
    aws.unpublished(REGION, 1000);
    const { outcome, requests } = await run();
    aws.unpublished(REGION, 0);
    assert.equal(outcome.status, "failed");
    assert.match((outcome as { error: Error }).error.message, /HTTP 404 .*NoSuchKey/);
    assert.equal(requests, ATTEMPTS);
  });
});
