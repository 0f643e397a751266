// Fault suite, an HTML page with status 200 where data was asked for (a proxy's or CDN's error page): never
// stored. On every attempt → the capture fails, nothing is stored; once → the retry completes the capture exactly.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/html.test.ts
import { describe, test } from "node:test";
import { LAKES, PERSISTENT, SOURCES, bodyFault, useHarness } from "./harness.js";

describe("fault: HTML 200 page", () => {
  const h = useHarness("html");
  for (const source of SOURCES) {
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: HTML 200 page on every attempt → failed, nothing stored`, async () => {
        await h.scenario({
          source,
          lake,
          inject: (f) => bodyFault(f, source, { kind: "html200" }, PERSISTENT),
          expect: "failed",
        });
      });
      test(`${source}, ${lake} lake: HTML 200 page once → retried, complete and exact`, async () => {
        await h.scenario({
          source,
          lake,
          inject: (f) => bodyFault(f, source, { kind: "html200" }, 1),
          expect: "complete",
        });
      });
    }
  }
});
