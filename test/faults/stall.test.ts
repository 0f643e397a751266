// Fault suite, a body that stalls (SPEC §6: each request has a timeout, also for a body that stalls). The fake
// sends part of the body and then nothing; the crawler's stall timeout (500 ms here) must fire and the attempt be
// given up long before the stall would end. On every attempt → the capture fails, nothing is stored; once → the
// retry completes the capture exactly.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/stall.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CUT_AT, LAKES, PERSISTENT, SOURCES, bodyFault, bodyRequests, useHarness } from "./harness.js";
import type { SourceName } from "../../src/types.js";

/** How long the fake's body stalls: two minutes, far beyond the crawler's 500 ms stall timeout. */
const STALL_MS: Record<SourceName, number> = {
  AmazonEC2: 120_000,
  // Spot's EC2 client sets the SDK's `requestTimeout`, which does not guard a body (see SPOT_TODO): it waits each
  // stall out in full, so its stall is kept short enough for the suite to finish.
  AmazonEC2Spot: 5_000,
  Azure: 120_000,
  AzureRetail: 120_000,
};
/** A stalled attempt is given up this soon (500 ms stall timeout, plus backoff and a loaded machine's slack). */
const GIVEN_UP_MS = 2_500;

const SPOT_TODO =
  "product bug: src/sources/aws-spot/history.ts ec2Client() passes http.stallTimeout as the SDK's requestTimeout, " +
  "which only warns and is cleared once headers arrive; a stalled DescribeSpotPriceHistory body waits until the " +
  "server gives up. Fix: requestHandler: { connectionTimeout, socketTimeout: http.stallTimeout }";
const todo = (source: SourceName) => (source === "AmazonEC2Spot" ? { todo: SPOT_TODO } : {});

/** Gaps between consecutive requests for the body since `from`: each one a stalled attempt being given up. */
function gaps(at: number[]): number[] {
  return at.slice(1).map((t, i) => t - at[i]!);
}

describe("fault: body stalls (the stall timeout fires)", () => {
  const h = useHarness("stall");
  for (const source of SOURCES) {
    const stall = { kind: "stall", afterBytes: CUT_AT[source], ms: STALL_MS[source] } as const;
    for (const lake of LAKES) {
      test(
        `${source}, ${lake} lake: body stalls on every attempt → each attempt given up by the stall timeout, failed, nothing stored`,
        todo(source),
        async () => {
          let from = 0;
          const run = await h.scenario({
            source,
            lake,
            inject: (f) => {
              from = bodyRequests(f, source).length;
              bodyFault(f, source, stall, PERSISTENT);
            },
            expect: "failed",
          });
          const at = bodyRequests(h.fakes, source)
            .slice(from)
            .map((r) => r.at);
          assert.ok(at.length >= 2, `the stalled body was asked for again (${at.length} requests)`);
          for (const g of gaps(at)) assert.ok(g < GIVEN_UP_MS, `a stalled attempt held on for ${g} ms`);
          assert.ok(run.ms < STALL_MS[source], `gave up after ${run.ms} ms; one stall lasts ${STALL_MS[source]} ms`);
        },
      );
      test(`${source}, ${lake} lake: body stalls once → the stall timeout fires, retried, complete and exact`, todo(source), async () => {
        let from = 0;
        await h.scenario({
          source,
          lake,
          inject: (f) => {
            from = bodyRequests(f, source).length;
            bodyFault(f, source, stall, 1);
          },
          expect: "complete",
        });
        const at = bodyRequests(h.fakes, source)
          .slice(from)
          .map((r) => r.at);
        assert.ok(at.length >= 2, "the stalled body was asked for again");
        assert.ok(at[1]! - at[0]! < GIVEN_UP_MS, `the stalled attempt held on for ${at[1]! - at[0]!} ms`);
      });
    }
  }
});
