// Fault suite, a body that is not valid JSON (status 200, JSON content type, the document breaks off mid-value):
// never stored (SPEC §6). Served on every attempt → the capture fails and nothing is stored. For AmazonEC2Spot the
// EC2 Query API answers XML, so the fake's JSON is as invalid a body for it as broken JSON is for the others.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/invalid-json.test.ts
import { describe, test } from "node:test";
import type { SourceName } from "../../src/types.js";
import { LAKES, PERSISTENT, SOURCES, bodyFault, useHarness } from "./harness.js";
import { HTTP_JSON_MESSAGES } from "./kit.js";

/** What each source's failure says: the JSON checker's, the Retail page reader's, the AWS SDK's XML parser's. */
const INVALID: Partial<Record<SourceName, RegExp>> = {
  AmazonEC2: /JSON ends early/,
  AmazonEC2Spot: /XML parse error/,
  Azure: /JSON ends early/,
  AzureRetail: /did not return valid JSON/,
  AWSComputeSavingsPlan: /JSON ends early/,
  AmazonRDS: /JSON ends early/,
  GoogleCloud: /SKUs page 1 \(.*\) is not valid JSON/,
};

describe("fault: invalid JSON body", () => {
  const h = useHarness("invalid-json");
  for (const source of SOURCES) {
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: invalid JSON body → failed, nothing stored`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => bodyFault(f, source, { kind: "invalidJson" }, PERSISTENT),
            expect: "failed",
            message: INVALID[source] ?? HTTP_JSON_MESSAGES.invalid,
          },
          t,
        );
      });
    }
  }
});
