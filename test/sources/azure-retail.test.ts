// AzureRetail end to end through the real CLI against the fake Retail Prices API: every page in order into one
// capture, pages asked for ahead but NextPageLink followed faithfully, retries, and nothing stored on failure.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/sources/azure-retail.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeRetail, type FakeRetailOptions } from "../fakes/azure.js";
import type { LoggedRequest, Reply } from "../fakes/server.js";
import {
  cleanEnv,
  filesUnder,
  gunzipFile,
  readJson,
  runCli,
  tempDir,
  writeConfig,
  type CliResult,
} from "../helpers.js";
import type { Manifest } from "../../src/types.js";

interface Crawl {
  r: CliResult;
  lake: string;
  files: string[];
  doc?: {
    BillingCurrency: string;
    CustomerEntityId: string;
    CustomerEntityType: string;
    Items: unknown[];
    Count: number;
  };
  manifest?: Manifest;
}

/** Starts a fake, lets the test adjust it, runs `crawl --once --source AzureRetail`, reads back the lake. */
async function crawl(
  opts: FakeRetailOptions & { concurrency?: number; attempts?: number },
  setup: (retail: FakeRetail) => void,
  check: (c: Crawl, retail: FakeRetail) => void,
): Promise<void> {
  const retail = new FakeRetail({ pageSize: 7, items: 40, ...opts });
  await retail.start();
  const { dir, cleanup } = tempDir();
  try {
    setup(retail);
    writeConfig(dir, {
      http: { attempts: opts.attempts ?? 3, baseDelay: "10ms" },
      sources: { AzureRetail: { concurrency: opts.concurrency ?? 4 } },
    });
    const r = await runCli(["crawl", "--once", "--source", "AzureRetail"], {
      cwd: dir,
      env: cleanEnv({ CONTRAIL_AZURE_RETAIL_URL: retail.baseUrl }),
    });
    const lake = join(dir, "lake");
    // The latest run's status record and the unit's lease are written whatever the outcome; the rest is capture data.
    const files = filesUnder(lake).filter((f) => !/^_contrail\/(status|leases)\//.test(f));
    const key = files.find((f) => f.startsWith("AzureRetail/global/") && f.endsWith(".json.gz"));
    const c: Crawl = { r, lake, files };
    if (key) {
      c.doc = JSON.parse(gunzipFile(join(lake, key)).toString("utf8")) as Crawl["doc"];
      c.manifest = readJson<Manifest>(join(lake, `_contrail/manifests/${key.replace(/\.gz$/, "")}`));
    }
    check(c, retail);
  } finally {
    cleanup();
    await retail.close();
  }
}

/** Replaces the fake's page handler for this test: `reply(skip)` may call `served()` for the normal page. */
function intercept(
  retail: FakeRetail,
  reply: (skip: number, served: () => Promise<Reply>) => Promise<Reply>,
): void {
  const fake = retail as unknown as { prices(req: LoggedRequest, url: URL): Promise<Reply> };
  const original = fake.prices.bind(retail);
  fake.prices = (req, url) => reply(Number(url.searchParams.get("$skip") ?? 0), () => original(req, url));
}

const skips = (retail: FakeRetail) =>
  retail.server.requests.map((q) => Number(new URL(q.url, "http://x").searchParams.get("$skip") ?? 0));

function assertComplete(c: Crawl, retail: FakeRetail, pages: number): void {
  assert.equal(c.r.code, 0, c.r.stderr);
  assert.ok(c.doc && c.manifest, "a capture");
  assert.deepEqual(Object.keys(c.doc), [
    "BillingCurrency",
    "CustomerEntityId",
    "CustomerEntityType",
    "Items",
    "Count",
  ]);
  assert.deepEqual(
    [c.doc.BillingCurrency, c.doc.CustomerEntityId, c.doc.CustomerEntityType],
    ["USD", "Default", "Retail"],
  );
  assert.deepEqual(c.doc.Items, retail.allItems(), "every item, in page order");
  assert.equal(c.doc.Count, retail.allItems().length);
  assert.equal(c.manifest.items, retail.allItems().length);
  assert.equal(c.manifest.pages, pages);
  assert.match(c.manifest.urls[0]!, /\/api\/retail\/prices\?api-version=2023-01-01-preview$/);
}

function assertNothingStored(c: Crawl): void {
  assert.equal(c.r.code, 1, c.r.stdout);
  assert.match(c.r.stderr, /AzureRetail global failed/);
  assert.deepEqual(c.files, [], "nothing in the lake");
}

describe("AzureRetail through the CLI", { concurrency: 3 }, () => {
  test("pages asked for 4 at a time land in page order in one capture; the manifest counts pages and items", () =>
    crawl(
      { latencyMs: 400 },
      () => undefined,
      (c, retail) => {
        assertComplete(c, retail, 6);
        const asked = skips(retail);
        for (const s of [0, 7, 14, 21, 28, 35])
          assert.equal(asked.filter((x) => x === s).length, 1, `$skip=${s} once`);
        assert.ok(asked.length <= 6 + 3, `at most 3 pages asked for beyond the end: ${asked.join(",")}`);
        // Pages 1 and 2 were in flight together: the second was asked for before the first was answered.
        const at = (s: number) => retail.server.requests.find((q) => q.url.endsWith(`$skip=${s}`))!.at;
        assert.ok(at(14) - at(7) < 400, `${at(14) - at(7)} ms apart`);
      },
    ));

  test("concurrency 1 asks for one page at a time and nothing beyond the end", () =>
    crawl(
      { concurrency: 1 },
      () => undefined,
      (c, retail) => {
        assertComplete(c, retail, 6);
        assert.deepEqual(skips(retail), [0, 7, 14, 21, 28, 35]);
      },
    ));

  test("429s (Retry-After, x-ms-ratelimit-retailPrices-retry-after) and a page reset or cut mid-body are retried", () =>
    crawl(
      { attempts: 5 },
      (retail) => {
        const path = "/api/retail/prices";
        const body = '{"Error":{"Code":"TooManyRequests","Message":"Rate limit is exceeded."}}';
        retail.server.fault(
          { path },
          { kind: "status", status: 429, headers: { "retry-after": "0" }, body },
          1,
        );
        retail.server.fault(
          { path },
          { kind: "status", status: 429, headers: { "x-ms-ratelimit-retailPrices-retry-after": "1" }, body },
          1,
        );
        retail.server.fault({ path }, { kind: "reset", afterBytes: 1500 }, 1);
        retail.server.fault({ path }, { kind: "truncate", afterBytes: 1500 }, 1);
      },
      (c, retail) => {
        assertComplete(c, retail, 6);
        const retries = c.r.logs.filter((l) => l.msg === "request failed; retrying");
        assert.ok(retries.length >= 4, JSON.stringify(retries));
        assert.ok(
          retries.some((l) => l.delayMs === 1000),
          "waited the 1 s the Retail header asked for",
        );
      },
    ));

  for (const kind of ["html200", "invalidJson"] as const) {
    test(`a persistent ${kind} page stores nothing and exits 1`, () =>
      crawl(
        {},
        (retail) => retail.server.fault({ path: "/api/retail/prices" }, { kind }, 100),
        (c) => assertNothingStored(c),
      ));
  }

  test("a page in the middle failing after its retries fails the capture: no catalogue that stopped early", () =>
    crawl(
      {},
      (retail) =>
        intercept(retail, (skip, served) =>
          skip === 21
            ? Promise.resolve({
                status: 500,
                headers: { "content-type": "application/json" },
                body: '{"Error":{}}',
              })
            : served(),
        ),
      (c, retail) => {
        assertNothingStored(c);
        assert.match(c.r.stderr, /page 4 failed: HTTP 500/);
        assert.equal(skips(retail).filter((s) => s === 21).length, 3, "the page had its 3 attempts");
      },
    ));

  test("a short page mid-catalogue: the links are followed one at a time from there and nothing is lost", () =>
    crawl(
      {},
      (retail) =>
        intercept(retail, async (skip, served) => {
          const reply = await served();
          if (skip !== 14) return reply;
          // Page 2 holds 5 items, not 7, and says so in its link: the next page starts at 19, not 21.
          const page = JSON.parse(String(reply.body)) as {
            Items: unknown[];
            NextPageLink: string;
            Count: number;
          };
          page.Items = page.Items.slice(0, 5);
          page.Count = 5;
          page.NextPageLink = page.NextPageLink.replace("$skip=21", "$skip=19");
          return { ...reply, body: JSON.stringify(page) };
        }),
      (c, retail) => {
        assertComplete(c, retail, 6);
        assert.ok(
          c.r.logs.some(
            (l) => l.msg === "NextPageLink is not the $skip assumed: following the links one at a time",
          ),
        );
        const asked = skips(retail);
        for (const s of [19, 26, 33]) assert.equal(asked.filter((x) => x === s).length, 1, `$skip=${s} once`);
      },
    ));

  test("an empty last page (the total a multiple of the page size) ends the catalogue", () =>
    crawl(
      { items: 42, emptyFinalPage: true },
      () => undefined,
      (c, retail) => {
        assertComplete(c, retail, 7);
        assert.equal(c.doc!.Count, 42);
      },
    ));
});
