// Fault suite, an HTML page with status 200 where data was asked for (a proxy's or CDN's error page): never
// stored. On every attempt → the capture fails, nothing is stored; once → the retry completes the capture exactly.
// For AmazonEC2Spot this guards against taking the AWS SDK's parse of an HTML page (no spotPriceHistorySet) for an
// empty answer: that would store an empty capture whose window then counts as covered.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/html.test.ts
import { describe, test } from "node:test";
import { LAKES, PERSISTENT, SOURCES, bodyFault, useHarness } from "./harness.js";
import type { SourceName } from "../../src/types.js";
import { HTTP_JSON_MESSAGES } from "./kit.js";

/** What each source's failure says: the HTTP client's check, or spot's (the AWS SDK parses HTML into no records). */
const NOT_DATA: Partial<Record<SourceName, RegExp>> = {
  AmazonEC2: /is an HTML page, not data/,
  AmazonEC2Spot: /not an EC2 response \(no spotPriceHistorySet\)/,
  Azure: /is an HTML page, not data/,
  AzureRetail: /is an HTML page, not data/,
  AWSComputeSavingsPlan: /is an HTML page, not data/,
  AmazonRDS: /is an HTML page, not data/,
  GoogleCloud: /is an HTML page, not data/,
};

describe("fault: HTML 200 page", () => {
  const h = useHarness("html");
  for (const source of SOURCES) {
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: HTML 200 page on every attempt → failed, nothing stored`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => bodyFault(f, source, { kind: "html200" }, PERSISTENT),
            expect: "failed",
            message: NOT_DATA[source] ?? HTTP_JSON_MESSAGES.notData,
          },
          t,
        );
      });
      test(`${source}, ${lake} lake: HTML 200 page once → retried, complete and exact`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => bodyFault(f, source, { kind: "html200" }, 1),
            expect: "complete",
          },
          t,
        );
      });
    }
  }
});
