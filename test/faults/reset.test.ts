// Fault suite, connection reset mid-body (SPEC §6): the socket is reset after part of the body. On every attempt →
// the capture fails, nothing is stored; once → the retry completes the capture exactly.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/reset.test.ts
import { describe, test } from "node:test";
import { CUT_AT, LAKES, PERSISTENT, SOURCES, bodyFault, useHarness } from "./harness.js";

describe("fault: connection reset mid-body", () => {
  const h = useHarness("reset");
  for (const source of SOURCES) {
    for (const lake of LAKES) {
      test(`${source}, ${lake} lake: connection reset mid-body on every attempt → failed, nothing stored`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => bodyFault(f, source, { kind: "reset", afterBytes: CUT_AT[source] }, PERSISTENT),
            expect: "failed",
            message: /ECONNRESET/,
          },
          t,
        );
      });
      test(`${source}, ${lake} lake: connection reset mid-body once → retried, complete and exact`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) => bodyFault(f, source, { kind: "reset", afterBytes: CUT_AT[source] }, 1),
            expect: "complete",
          },
          t,
        );
      });
    }
  }
});
