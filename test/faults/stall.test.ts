// Fault suite, a body that stalls (SPEC §6: each request has a timeout, also for a body that stalls). The fake
// sends part of the body and then nothing for two minutes; the crawler's stall timeout (500 ms here) must fire and
// each attempt be given up long before the stall would end. On every attempt → the capture fails, nothing is
// stored; once → the retry completes the capture exactly.
// For AmazonEC2Spot this guards the EC2 client's `socketTimeout` (an inactivity timeout, which also covers a body):
// the SDK's `requestTimeout` only warns, and is cleared once the headers arrive.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/stall.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CUT_AT, LAKES, PERSISTENT, SOURCES, bodyFault, bodyRequests, useHarness } from "./harness.js";
import type { KitSource } from "./kits.js";
import { HTTP_JSON_MESSAGES } from "./kit.js";

const STALL_MS = 120_000;
/** A stalled attempt is given up this soon (500 ms stall timeout, plus backoff and a loaded machine's slack). */
const GIVEN_UP_MS = 2_500;

/** What each source's failure says: the stall timeout fired (for spot, the AWS SDK's socket timeout). */
const STALLED: Partial<Record<KitSource, RegExp>> = {
  AmazonEC2: /stalled: no data for 500 ms/,
  AmazonEC2Spot:
    /DescribeSpotPriceHistory in eu-west-1: TimeoutError: .*timed out after 500 ms of inactivity/,
  Azure: /stalled: no data for 500 ms/,
  AzureRetail: /stalled: no data for 500 ms/,
  AWSComputeSavingsPlan: /stalled: no data for 500 ms/,
  AmazonRDS: /stalled: no data for 500 ms/,
  GoogleCloud: /stalled: no data for 500 ms/,
};

/** Arrival times of the body's requests since `from`: each gap is one stalled attempt being given up. */
function arrivals(source: KitSource, from: number, h: ReturnType<typeof useHarness>): number[] {
  return bodyRequests(h.fakes, source)
    .slice(from)
    .map((r) => r.at);
}

describe("fault: body stalls (the stall timeout fires)", () => {
  const h = useHarness("stall");
  for (const source of SOURCES) {
    const stall = { kind: "stall", afterBytes: CUT_AT[source], ms: STALL_MS } as const;
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: body stalls on every attempt → each attempt given up by the stall timeout, failed, nothing stored`, async (t) => {
        let from = 0;
        const run = await h.scenario(
          {
            source,
            lake,
            inject: (f) => {
              from = bodyRequests(f, source).length;
              bodyFault(f, source, stall, PERSISTENT);
            },
            expect: "failed",
            message: STALLED[source] ?? HTTP_JSON_MESSAGES.stalled,
          },
          t,
        );
        const at = arrivals(source, from, h);
        assert.ok(at.length >= 2, `the stalled body was asked for again (${at.length} requests)`);
        for (let i = 1; i < at.length; i++) {
          assert.ok(
            at[i]! - at[i - 1]! < GIVEN_UP_MS,
            `a stalled attempt held on for ${at[i]! - at[i - 1]!} ms`,
          );
        }
        // The whole run, CLI start-up and every attempt included, is over long before one stall would be.
        assert.ok(run.ms < STALL_MS / 4, `gave up after ${run.ms} ms; one stall lasts ${STALL_MS} ms`);
      });
      test(`${source}, ${lake} lake: body stalls once → the stall timeout fires, retried, complete and exact`, async (t) => {
        let from = 0;
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => {
              from = bodyRequests(f, source).length;
              bodyFault(f, source, stall, 1);
            },
            expect: "complete",
          },
          t,
        );
        const at = arrivals(source, from, h);
        assert.ok(at.length >= 2, "the stalled body was asked for again");
        assert.ok(at[1]! - at[0]! < GIVEN_UP_MS, `the stalled attempt held on for ${at[1]! - at[0]!} ms`);
      });
    }
  }
});
