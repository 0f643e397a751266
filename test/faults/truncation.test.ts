// Fault suite, truncation (SPEC §6): a body that ends early, cleanly, short of its Content-Length, is never stored.
// On every attempt → the capture fails, nothing is stored; once → the retry completes the capture exactly.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/truncation.test.ts
import { describe, test } from "node:test";
import { CUT_AT, LAKES, PERSISTENT, SOURCES, bodyFault, useHarness } from "./harness.js";

describe("fault: body ends early (truncation)", () => {
  const h = useHarness("truncation");
  for (const source of SOURCES) {
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: body truncated on every attempt → failed, nothing stored`, async () => {
        await h.scenario({
          source,
          lake,
          inject: (f) => bodyFault(f, source, { kind: "truncate", afterBytes: CUT_AT[source] }, PERSISTENT),
          expect: "failed",
        });
      });
      test(`${source}, ${lake} lake: body truncated once → retried, complete and exact`, async () => {
        await h.scenario({
          source,
          lake,
          inject: (f) => bodyFault(f, source, { kind: "truncate", afterBytes: CUT_AT[source] }, 1),
          expect: "complete",
        });
      });
    }
  }
});
