// Fault suite, throttling (SPEC §6): 429 and 503 are retried with backoff, honouring Retry-After and the
// provider's own rate-limit headers (Azure Retail's `x-ms-ratelimit-retailPrices-retry-after`, EC2's
// `RequestLimitExceeded`), and the capture completes. Where the server names a wait, the retried request comes
// no sooner (the fakes' request logs carry arrival times). Throttled on every attempt → the capture fails.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/throttling.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BASE_CONFIG,
  PERSISTENT,
  REGION,
  bodyFault,
  bodyRequests,
  useHarness,
  type Fakes,
} from "./harness.js";
import type { KitSource } from "./kits.js";

/** A server's one-second wait, less a little timer slack. */
const WAITED_MS = 950;

const RATECARD = /\/Microsoft\.Commerce\/RateCard$/i;
const EC2_THROTTLED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>' +
  "<Message>Request limit exceeded.</Message></Error></Errors><RequestID>5f3c-throttle</RequestID></Response>";

/** Arrival times of the requests a source's throttled endpoint got since `from` (an index into its log). */
function arrivals(f: Fakes, source: KitSource, from: number): number[] {
  if (source === "Azure")
    return f.azure.arm.server
      .requestsTo(RATECARD)
      .slice(from)
      .map((r) => r.at);
  return bodyRequests(f, source)
    .slice(from)
    .map((r) => r.at);
}

function logLength(f: Fakes, source: KitSource): number {
  return source === "Azure" ? f.azure.arm.server.requestsTo(RATECARD).length : bodyRequests(f, source).length;
}

/** The first request since `from` was throttled; the one after it came at least `min` ms later. */
function assertRetryWaited(f: Fakes, source: KitSource, from: number, min: number): void {
  const at = arrivals(f, source, from);
  assert.ok(at.length >= 2, `throttled, then retried (${at.length} requests)`);
  const gap = at[1]! - at[0]!;
  assert.ok(
    gap >= min,
    `the retry came ${gap} ms after the throttled request; the server asked for ${min}+ ms`,
  );
}

/**
 * One retry layer (issue 8 item 7): a request throttled for good costs exactly the client's attempts; the capture
 * does not retry, from scratch, what the client has already retried (that would be attempts × attempts).
 */
function assertClientAttemptsOnly(f: Fakes, source: KitSource, from: number): void {
  assert.equal(
    arrivals(f, source, from).length,
    BASE_CONFIG.http.attempts,
    "requests: http.attempts, no more",
  );
}

function assertRetriedQuickly(f: Fakes, source: KitSource, from: number, throttled: number): void {
  const at = arrivals(f, source, from);
  assert.ok(at.length > throttled, `${throttled} throttled, then served (${at.length} requests)`);
  const gap = at[throttled]! - at[0]!;
  assert.ok(gap < WAITED_MS, `no Retry-After: backoff only (${gap} ms for ${throttled} retries)`);
}

describe("fault: throttling (429, 503, Retry-After)", () => {
  const h = useHarness("throttling");
  let from = 0;
  const mark = (f: Fakes, source: KitSource) => (from = logLength(f, source));

  // AmazonEC2: the price list (S3 behind CloudFront) answers 429/503 with or without Retry-After.
  test("AmazonEC2, local lake: 429 with Retry-After: 1 → complete; the retry waited ≥ 1 s", async (t) => {
    await h.scenario(
      {
        source: "AmazonEC2",
        lake: "local",
        inject: (f) => {
          mark(f, "AmazonEC2");
          bodyFault(f, "AmazonEC2", { kind: "status", status: 429, headers: { "retry-after": "1" } }, 1);
        },
        expect: "complete",
      },
      t,
    );
    assertRetryWaited(h.fakes, "AmazonEC2", from, WAITED_MS);
  });
  test("AmazonEC2, s3 lake: 503 with Retry-After: 1 → complete; the retry waited ≥ 1 s", async (t) => {
    await h.scenario(
      {
        source: "AmazonEC2",
        lake: "s3",
        inject: (f) => {
          mark(f, "AmazonEC2");
          bodyFault(f, "AmazonEC2", { kind: "status", status: 503, headers: { "retry-after": "1" } }, 1);
        },
        expect: "complete",
      },
      t,
    );
    assertRetryWaited(h.fakes, "AmazonEC2", from, WAITED_MS);
  });
  test("AmazonEC2, local lake: 429 then 503 without Retry-After → complete after a short backoff", async (t) => {
    await h.scenario(
      {
        source: "AmazonEC2",
        lake: "local",
        inject: (f) => {
          mark(f, "AmazonEC2");
          bodyFault(f, "AmazonEC2", { kind: "status", status: 429 }, 1);
          bodyFault(f, "AmazonEC2", { kind: "status", status: 503 }, 1);
        },
        expect: "complete",
      },
      t,
    );
    assertRetriedQuickly(h.fakes, "AmazonEC2", from, 2);
  });
  test("AmazonEC2, s3 lake: 503 on every attempt → failed after http.attempts requests, nothing stored", async (t) => {
    await h.scenario(
      {
        source: "AmazonEC2",
        lake: "s3",
        inject: (f) => {
          mark(f, "AmazonEC2");
          bodyFault(f, "AmazonEC2", { kind: "status", status: 503 }, PERSISTENT);
        },
        expect: "failed",
        message: /HTTP 503/,
      },
      t,
    );
    assertClientAttemptsOnly(h.fakes, "AmazonEC2", from);
  });

  // AmazonEC2Spot: EC2 throttles with 503 RequestLimitExceeded (no Retry-After); the AWS SDK retries it.
  test("AmazonEC2Spot, local lake: EC2 RequestLimitExceeded (503) twice → complete", async (t) => {
    const region = REGION.AmazonEC2Spot;
    let calls = 0;
    await h.scenario(
      {
        source: "AmazonEC2Spot",
        lake: "local",
        inject: (f) => {
          calls = f.ec2.callsFor(region).length;
          f.ec2.throttle(region, 2);
        },
        expect: "complete",
      },
      t,
    );
    const seen = h.fakes.ec2.callsFor(region).slice(calls);
    assert.deepEqual(
      seen.slice(0, 3).map((c) => c.error ?? c.status),
      ["RequestLimitExceeded", "RequestLimitExceeded", 200],
      "throttled twice, then answered",
    );
  });
  test("AmazonEC2Spot, s3 lake: 429 with Retry-After: 1 → complete; the retry waited ≥ 1 s", async (t) => {
    await h.scenario(
      {
        source: "AmazonEC2Spot",
        lake: "s3",
        inject: (f) => {
          mark(f, "AmazonEC2Spot");
          bodyFault(
            f,
            "AmazonEC2Spot",
            {
              kind: "status",
              status: 429,
              headers: { "retry-after": "1", "content-type": "text/xml;charset=UTF-8" },
              body: EC2_THROTTLED,
            },
            1,
          );
        },
        expect: "complete",
      },
      t,
    );
    assertRetryWaited(h.fakes, "AmazonEC2Spot", from, WAITED_MS);
  });
  test("AmazonEC2Spot, local lake: RequestLimitExceeded on every attempt → failed, nothing stored", async (t) => {
    await h.scenario(
      {
        source: "AmazonEC2Spot",
        lake: "local",
        inject: (f) =>
          bodyFault(
            f,
            "AmazonEC2Spot",
            {
              kind: "status",
              status: 503,
              headers: { "content-type": "text/xml;charset=UTF-8" },
              body: EC2_THROTTLED,
            },
            PERSISTENT,
          ),
        expect: "failed",
        message: /RequestLimitExceeded/,
      },
      t,
    );
  });

  // Azure: Resource Manager throttles with 429 and Retry-After; the RateCard's blob host may answer 503.
  test("Azure, local lake: Resource Manager 429 with Retry-After: 1 on the RateCard → complete; the retry waited ≥ 1 s", async (t) => {
    await h.scenario(
      {
        source: "Azure",
        lake: "local",
        inject: (f) => {
          mark(f, "Azure");
          f.azure.arm.throttle(1, { retryAfter: 1, only: "ratecard" });
        },
        expect: "complete",
      },
      t,
    );
    assertRetryWaited(h.fakes, "Azure", from, WAITED_MS);
  });
  test("Azure, s3 lake: RateCard blob 503 twice without Retry-After → complete after a short backoff", async (t) => {
    let blob = 0;
    await h.scenario(
      {
        source: "Azure",
        lake: "s3",
        inject: (f) => {
          blob = bodyRequests(f, "Azure").length;
          bodyFault(f, "Azure", { kind: "status", status: 503 }, 2);
        },
        expect: "complete",
      },
      t,
    );
    const at = bodyRequests(h.fakes, "Azure")
      .slice(blob)
      .map((r) => r.at);
    assert.equal(at.length, 3, "503, 503, then the RateCard");
    assert.ok(at[2]! - at[0]! < WAITED_MS, `backoff only (${at[2]! - at[0]!} ms)`);
  });
  test("Azure, s3 lake: Resource Manager 429 on every attempt → failed after http.attempts requests, nothing stored", async (t) => {
    await h.scenario(
      {
        source: "Azure",
        lake: "s3",
        inject: (f) => {
          mark(f, "Azure");
          f.azure.arm.server.fault({ path: RATECARD }, { kind: "status", status: 429 }, PERSISTENT);
        },
        expect: "failed",
        message: /HTTP 429/,
      },
      t,
    );
    assertClientAttemptsOnly(h.fakes, "Azure", from);
  });

  // AzureRetail: 429 with Retry-After, or with only Azure's own x-ms-ratelimit-retailPrices-retry-after.
  test("AzureRetail, local lake: 429 with Retry-After: 1 → complete; the retry waited ≥ 1 s", async (t) => {
    await h.scenario(
      {
        source: "AzureRetail",
        lake: "local",
        inject: (f) => {
          mark(f, "AzureRetail");
          f.azure.retail.throttle(1, { retryAfter: 1 });
        },
        expect: "complete",
      },
      t,
    );
    assertRetryWaited(h.fakes, "AzureRetail", from, WAITED_MS);
  });
  test("AzureRetail, s3 lake: 429 with only x-ms-ratelimit-retailPrices-retry-after: 1 → complete; the retry waited ≥ 1 s", async (t) => {
    await h.scenario(
      {
        source: "AzureRetail",
        lake: "s3",
        inject: (f) => {
          mark(f, "AzureRetail");
          f.azure.retail.throttle(1, { retryAfter: null, msHeader: 1 });
        },
        expect: "complete",
      },
      t,
    );
    assertRetryWaited(h.fakes, "AzureRetail", from, WAITED_MS);
  });
  test("AzureRetail, local lake: 503 twice without Retry-After → complete after a short backoff", async (t) => {
    await h.scenario(
      {
        source: "AzureRetail",
        lake: "local",
        inject: (f) => {
          mark(f, "AzureRetail");
          bodyFault(f, "AzureRetail", { kind: "status", status: 503 }, 2);
        },
        expect: "complete",
      },
      t,
    );
    assertRetriedQuickly(h.fakes, "AzureRetail", from, 2);
  });
  // GoogleCloud: Google's 429 RESOURCE_EXHAUSTED names no wait (no Retry-After): backoff, pages kept.
  test("GoogleCloud, local lake: 429 RESOURCE_EXHAUSTED twice → complete after a backoff; no page fetched twice", async (t) => {
    let tokens = 0;
    await h.scenario(
      {
        source: "GoogleCloud",
        lake: "local",
        inject: (f) => {
          mark(f, "GoogleCloud");
          tokens = f.gcp.servedTokens.length;
          f.gcp.shortPages.add(2); // a short page on the way, which is not the end
          f.gcp.throttle(2, "skus");
        },
        expect: "complete",
      },
      t,
    );
    const served = h.fakes.gcp.servedTokens.slice(tokens);
    assert.equal(new Set(served).size, served.length, "every SKU page served once");
    assertRetriedQuickly(h.fakes, "GoogleCloud", from, 2);
  });
  test("GoogleCloud, s3 lake: 503 twice without Retry-After → complete after a short backoff", async (t) => {
    await h.scenario(
      {
        source: "GoogleCloud",
        lake: "s3",
        inject: (f) => {
          mark(f, "GoogleCloud");
          bodyFault(f, "GoogleCloud", { kind: "status", status: 503 }, 2);
        },
        expect: "complete",
      },
      t,
    );
    assertRetriedQuickly(h.fakes, "GoogleCloud", from, 2);
  });
  test("GoogleCloud, s3 lake: 429 RESOURCE_EXHAUSTED on every request → failed, nothing stored", async (t) => {
    await h.scenario(
      {
        source: "GoogleCloud",
        lake: "s3",
        inject: (f) => f.gcp.throttle(PERSISTENT),
        expect: "failed",
        message: [/HTTP 429 RESOURCE_EXHAUSTED/, /the service list page 1 failed|SKUs page 1/],
      },
      t,
    );
  });
  test("AzureRetail, s3 lake: 429 on every attempt → failed, nothing stored", async (t) => {
    await h.scenario(
      {
        source: "AzureRetail",
        lake: "s3",
        inject: (f) => bodyFault(f, "AzureRetail", { kind: "status", status: 429 }, PERSISTENT),
        expect: "failed",
        message: /HTTP 429/,
      },
      t,
    );
  });
});
