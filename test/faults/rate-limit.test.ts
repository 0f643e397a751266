// Fault suite, a provider's rate limit and a catalogue that ends early (SPEC §6), across both lake kinds:
// - Google's per-minute quotas (modelled per short window): 429 RESOURCE_EXHAUSTED without a wait, backed off;
// - the Azure Retail Prices API's real limit (a few requests, then 429 with x-ms-ratelimit-retailPrices-retry-after,
//   every response counting down x-ms-ratelimit-remaining-retailPrices-requests) slows the capture down; it
//   completes with every page fetched once, none thrown away;
// - a chain whose NextPageLink is null after a full page while items remain is never stored as complete.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/rate-limit.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LAKES, useHarness, type ScenarioOptions } from "./harness.js";

describe("fault: rate limit and early end (Azure Retail, Google Cloud)", () => {
  const h = useHarness("rate-limit");

  /** Runs a scenario with the fake's rate limit or early end set, and always unset afterwards. */
  async function withRetail(o: ScenarioOptions, t: Parameters<typeof h.scenario>[1]) {
    try {
      return await h.scenario(o, t);
    } finally {
      h.fakes.azure.retail.rateLimit = undefined;
      h.fakes.azure.retail.endEarlyAtPage = undefined;
    }
  }

  for (const lake of LAKES) {
    test(`AzureRetail, ${lake} lake: 2 requests a second, then 429 → complete, every page served once`, async (t) => {
      let served = 0;
      let throttled = 0;
      await withRetail(
        {
          source: "AzureRetail",
          lake,
          // 2 attempts: the waits the provider asks for are not failed attempts.
          config: { http: { attempts: 2 } },
          inject: (f) => {
            served = f.azure.retail.servedSkips.length;
            throttled = f.azure.retail.rateLimited;
            f.azure.retail.rateLimit = { requests: 2, windowSeconds: 1 };
          },
          expect: "complete",
        },
        t,
      );
      const retail = h.fakes.azure.retail;
      const total = retail.allItems().length;
      const skips = retail.servedSkips.slice(served).filter((s) => s < total);
      assert.deepEqual(
        [...skips].sort((a, b) => a - b),
        Array.from({ length: Math.ceil(total / retail.pageSize) }, (_, i) => i * retail.pageSize),
        "every page served once: nothing fetched was thrown away",
      );
      assert.ok(retail.rateLimited > throttled, "the limit was reached");
    });

    test(`GoogleCloud, ${lake} lake: a per-window quota of 2 requests, then 429 RESOURCE_EXHAUSTED → complete, every page served once`, async (t) => {
      let tokens = 0;
      let throttled = 0;
      await h.scenario(
        {
          source: "GoogleCloud",
          lake,
          // 2 attempts: Google's throttled answers are not failed attempts (they have their own tries).
          config: { http: { attempts: 2 } },
          inject: (f) => {
            tokens = f.gcp.servedTokens.length;
            throttled = f.gcp.throttled;
            f.gcp.quota = { requests: 2, windowMs: 300 };
          },
          expect: "complete",
        },
        t,
      );
      const gcp = h.fakes.gcp;
      const served = gcp.servedTokens.slice(tokens);
      assert.equal(served.length, gcp.pageCount(), "every SKU page once: nothing fetched was thrown away");
      assert.equal(new Set(served).size, served.length);
      assert.ok(gcp.throttled > throttled, "the quota was reached");
    });

    test(`AzureRetail, ${lake} lake: NextPageLink null after a full page while items remain → failed, nothing stored`, async (t) => {
      await withRetail(
        {
          source: "AzureRetail",
          lake,
          inject: (f) => void (f.azure.retail.endEarlyAtPage = 2),
          expect: "failed",
          message: /ended its chain early/,
        },
        t,
      );
    });
  }
});
