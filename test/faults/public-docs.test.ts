// Fault suite, the single public documents (AmazonEC2SpotAdvisor, AmazonEC2SpotFeed, OracleCloud) across both lake
// kinds: 429 and 503 throttling as their hosts (S3, CloudFront, APEX) send it, and no waste (SPEC §5) in S3 as in a
// directory: a second run gets 304 to the latest capture's ETag and records a check; the same bytes under a new
// ETag are abandoned before they become visible (no object, no open multipart upload) and a check is recorded.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/public-docs.test.ts
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  BASE_CONFIG,
  LAKES,
  PERSISTENT,
  bodyFault,
  bodyRequests,
  bodyTarget,
  useHarness,
  type Fakes,
  type KitSource,
  type LakeKind,
  type ScenarioOptions,
} from "./harness.js";
import type { Fault } from "../fakes/server.js";
import { runCli } from "../helpers.js";

const DOCS = ["AmazonEC2SpotAdvisor", "AmazonEC2SpotFeed", "OracleCloud"] as const satisfies KitSource[];
/** A server's one-second wait, less a little timer slack. */
const WAITED_MS = 950;

/**
 * Serves the same bytes under a new ETag (a re-upload to S3, another CloudFront edge): only the content is unchanged.
 * Oracle's ETag follows its bytes, so there: a 200 that ignores If-None-Match, as a host without ETags answers.
 */
function sameBytesNewEtag(f: Fakes, source: (typeof DOCS)[number]): void {
  if (source === "AmazonEC2SpotAdvisor") f.spotAdvisor.reupload('"9e107d9d372bb6826bd81d3542a419d6-2"');
  else if (source === "AmazonEC2SpotFeed") f.spotFeed.newEtag();
  else {
    const reply = { headers: { "content-type": "application/json" }, body: f.oracle.bytes("USD") };
    bodyFault(f, source, { kind: "replace", reply }, 1);
  }
}

describe("fault: the single public documents", () => {
  const h = useHarness("public-docs");

  /** Runs a scenario with `fault` on the document's next `times` requests; the arrival times of its requests. */
  async function withFault(
    source: KitSource,
    lake: LakeKind,
    fault: Fault,
    times: number,
    outcome: Pick<ScenarioOptions, "expect" | "message">,
    t: TestContext,
  ): Promise<number[]> {
    let from = 0;
    const inject = (f: Fakes) => {
      from = bodyRequests(f, source).length;
      bodyFault(f, source, fault, times);
    };
    await h.scenario({ source, lake, inject, ...outcome }, t);
    return bodyRequests(h.fakes, source)
      .slice(from)
      .map((r) => r.at);
  }

  for (const source of DOCS) {
    for (const lake of LAKES) {
      const status = lake === "local" ? 429 : 503;
      test(`${source}, ${lake} lake: ${status} with Retry-After: 1 → complete; the retry waited ≥ 1 s`, async (t) => {
        const retry = { kind: "status", status, headers: { "retry-after": "1" } } as const;
        const at = await withFault(source, lake, retry, 1, { expect: "complete" }, t);
        assert.ok(at.length >= 2 && at[1]! - at[0]! >= WAITED_MS, `retried after ${at[1]! - at[0]!} ms`);
      });

      test(`${source}, ${lake} lake: 503 on every attempt → failed after http.attempts requests, nothing stored`, async (t) => {
        const unavailable = { kind: "status", status: 503 } as const;
        const expect = { expect: "failed", message: /HTTP 503/ } as const;
        const at = await withFault(source, lake, unavailable, PERSISTENT, expect, t);
        assert.equal(at.length, BASE_CONFIG.http.attempts);
      });

      test(`${source}, ${lake} lake: unchanged → 304 to its ETag, then the same bytes under a new ETag: two checks, one capture, nothing partial`, async () => {
        const { lake: l, cwd, env } = h.prepare(lake);
        const crawl = () => runCli(["crawl", "--once", "--source", source, "--lake", l.url], { cwd, env });
        const mine = async (what: string) =>
          (await l.keys()).filter((k) =>
            k.startsWith(what === "capture" ? `${source}/global/` : `_contrail/checks/${source}/global/`),
          );
        try {
          assert.equal((await crawl()).code, 0);
          const [capture] = await mine("capture");
          const target = bodyTarget(h.fakes, source);
          const from = target.server.requestsTo(target.path).length;
          const second = await crawl();
          assert.equal(second.code, 0, second.stderr);
          const asked = target.server.requestsTo(target.path).slice(from);
          assert.equal(asked.length, 1);
          assert.ok(asked[0]!.headers["if-none-match"], "asked with the latest capture's ETag");

          // The same bytes under another ETag: downloaded, hashed, not stored.
          sameBytesNewEtag(h.fakes, source);
          const third = await crawl();
          assert.equal(third.code, 0, third.stderr);
          assert.deepEqual(await mine("capture"), [capture], "no second copy");
          assert.equal((await mine("check")).length, 2);
          await h.checkLake(l, cwd, env);
        } finally {
          h.clearFaults();
        }
      });
    }
  }
});
