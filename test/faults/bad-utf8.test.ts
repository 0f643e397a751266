// Fault suite, a body whose bytes are not UTF-8 inside a string value (status 200, JSON content type, same
// length): RFC 8259 §8.1 makes it invalid JSON, and SPEC §6 says it is never stored. Served on every attempt →
// the capture fails and nothing is stored, on both lake kinds. Each case is one that the old check accepted.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/bad-utf8.test.ts
import { describe, test } from "node:test";
import { LAKES, PERSISTENT, SOURCES, bodyFault, useHarness } from "./harness.js";
import { KITS } from "./kits.js";

/**
 * The sources whose bodies are JSON. AmazonEC2Spot's is the EC2 Query API's XML, parsed by the AWS SDK: no
 * JSON check of ours sees its bytes.
 */
const JSON_SOURCES = SOURCES.filter((s) => KITS[s].body === "json");

const DAMAGE: [string, number[], RegExp][] = [
  [
    "Latin-1 text (São Paulo as 0xE3)",
    [0x53, 0xe3, 0x6f],
    /truncated UTF-8 sequence \(lead byte 0xe3, then "o"\)/,
  ],
  ["a CESU-8 surrogate", [0xed, 0xa0, 0x80], /UTF-16 surrogate encoded in UTF-8/],
  ["an overlong '/'", [0xc0, 0xaf], /overlong UTF-8 sequence/],
];

describe("fault: body bytes that are not UTF-8", () => {
  const h = useHarness("bad-utf8");
  // One kind of damage per scenario, each kind on every source and lake over the rows (a CLI run is seconds;
  // the checker's own tests go through every kind).
  let row = 0;
  for (const source of JSON_SOURCES) {
    for (const lake of LAKES) {
      const [what, bytes, message] = DAMAGE[row++ % DAMAGE.length]!;
      test(`${source}, ${lake} lake: ${what} in a string → failed, nothing stored`, async (t) => {
        await h.scenario(
          {
            source,
            lake,
            inject: (f) =>
              bodyFault(
                f,
                source,
                { kind: "badUtf8", bytes, inKey: KITS[source].utf8In === "key" },
                PERSISTENT,
              ),
            expect: "failed",
            // The Retail pages are read whole and decoded strictly, which names no offset.
            message:
              source === "AzureRetail" || source === "GoogleCloud"
                ? /is not valid JSON \(its bytes are not UTF-8\)/
                : [/invalid JSON at byte \d+: /, message],
          },
          t,
        );
      });
    }
  }
});
