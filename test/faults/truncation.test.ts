// Fault suite, truncation (SPEC §6): a body that ends early, cleanly, short of its Content-Length, is never stored.
// On every attempt → the capture fails, nothing is stored; once → the retry completes the capture exactly.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/truncation.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SourceName } from "../../src/types.js";
import {
  BASE_CONFIG,
  CUT_AT,
  LAKES,
  PERSISTENT,
  SOURCES,
  bodyFault,
  bodyRequests,
  useHarness,
} from "./harness.js";
import { HTTP_JSON_MESSAGES } from "./kit.js";

/**
 * Sources whose body is one HTTP response (issue 8 item 7): the capture retries a broken body with one request per
 * attempt, and the client does not retry a body it has handed over, so http.attempts requests in all.
 */
const ONE_RESPONSE: readonly SourceName[] = ["AmazonEC2", "Azure", "AWSComputeSavingsPlan", "AmazonRDS"];

/** What each source's failure says: the body broke off (the AWS SDK, for spot, says "aborted"). */
const BROKE_OFF: Partial<Record<SourceName, RegExp>> = {
  AmazonEC2: /broke off after 1500 bytes/,
  AmazonEC2Spot: /DescribeSpotPriceHistory in eu-west-1: .*aborted/,
  Azure: /broke off after 4000 bytes/,
  AzureRetail: /broke off after 300 bytes/,
  AWSComputeSavingsPlan: /broke off after 1500 bytes/,
  AmazonRDS: /broke off after 1500 bytes/,
  GoogleCloud: /broke off after 2000 bytes/,
};

describe("fault: body ends early (truncation)", () => {
  const h = useHarness("truncation");
  for (const source of SOURCES) {
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: body truncated on every attempt → failed, nothing stored`, async (t) => {
        let from = 0;
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => {
              from = bodyRequests(f, source).length;
              bodyFault(f, source, { kind: "truncate", afterBytes: CUT_AT[source] }, PERSISTENT);
            },
            expect: "failed",
            message: BROKE_OFF[source] ?? HTTP_JSON_MESSAGES.truncated(CUT_AT[source]),
          },
          t,
        );
        if (ONE_RESPONSE.includes(source))
          assert.equal(
            bodyRequests(h.fakes, source).length - from,
            BASE_CONFIG.http.attempts,
            "one request per attempt",
          );
      });
      test(`${source}, ${lake} lake: body truncated once → retried, complete and exact`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => bodyFault(f, source, { kind: "truncate", afterBytes: CUT_AT[source] }, 1),
            expect: "complete",
          },
          t,
        );
      });
    }
  }
});
