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
  /** The capture's content as stored. */
  text?: string;
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
      c.text = gunzipFile(join(lake, key)).toString("utf8");
      c.doc = JSON.parse(c.text) as Crawl["doc"];
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
      { attempts: 2 },
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
          2,
        );
        retail.server.fault({ path }, { kind: "reset", afterBytes: 1500 }, 1);
        retail.server.fault({ path }, { kind: "truncate", afterBytes: 1500 }, 1);
      },
      (c, retail) => {
        // Three 429s with 2 attempts: waits the provider asked for are not failed attempts.
        assertComplete(c, retail, 6);
        const waits = c.r.logs.filter((l) =>
          String(l.msg).startsWith("rate-limited by the Retail Prices API"),
        );
        assert.equal(waits.length, 3, JSON.stringify(waits));
        assert.ok(
          waits.some((l) => l.waitMs === 1000),
          "waited the 1 s the Retail header asked for",
        );
        // A body cut short is retried here; a reset may come before the client has the headers (its retry).
        const broken = c.r.logs.filter(
          (l) => l.msg === "retail prices page failed; retrying" || l.msg === "request failed; retrying",
        );
        assert.equal(broken.length, 2, "the reset and the cut body were each retried once");
      },
    ));

  test("many pages under a strict rate limit: paced by the remaining count, every page served once, in order, never restarted", () =>
    crawl(
      // 30 pages, 5 requests a second, 4 asked for ahead, and only 2 attempts per page.
      { items: 7 * 30, attempts: 2, concurrency: 4, rateLimit: { requests: 5, windowSeconds: 1 } },
      () => undefined,
      (c, retail) => {
        assertComplete(c, retail, 30);
        const total = retail.allItems().length;
        const served = retail.servedSkips.filter((s) => s < total);
        assert.deepEqual(
          [...served].sort((a, b) => a - b),
          Array.from({ length: 30 }, (_, i) => i * 7),
          "every page served exactly once: nothing fetched was lost or fetched again",
        );
        assert.equal(skips(retail).filter((s) => s === 0).length, 1, "page 1 asked for once: no restart");
        // At most one request finds each window closed, plus those already in flight when it closed.
        const windows = Math.ceil(retail.servedSkips.length / 5);
        assert.ok(retail.rateLimited > 0, "the limit was reached");
        assert.ok(
          retail.rateLimited <= windows + 4,
          `${retail.rateLimited} requests throttled over ${windows} windows`,
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

  test("a chain that ends right after a full page is confirmed by asking for the next $skip (empty: complete)", () =>
    crawl(
      { items: 42, concurrency: 1 },
      () => undefined,
      (c, retail) => {
        assertComplete(c, retail, 6);
        assert.deepEqual(skips(retail), [0, 7, 14, 21, 28, 35, 42], "$skip=42 asked for, once");
      },
    ));

  test("a chain that ends early (NextPageLink null after a full page while items remain) stores nothing", () =>
    crawl(
      {},
      (retail) => (retail.endEarlyAtPage = 3),
      (c, retail) => {
        assertNothingStored(c);
        assert.match(
          c.r.stderr,
          /ended its chain early: page 3 was full \(7 items\) with NextPageLink null, but \$skip=21 still holds 7 items/,
        );
        assert.equal(skips(retail).filter((s) => s === 21).length, 1);
      },
    ));

  test("items keep their bytes as served: 0.0, 1.50, 1e-05 and unicode escapes survive", () =>
    crawl(
      { concurrency: 2 },
      (retail) => {
        const texts = retail.allItems().map((item, i) => {
          const t = JSON.stringify(item);
          if (i % 4 === 0) return t.replace(/"tierMinimumUnits":0/, '"tierMinimumUnits":0.0');
          if (i % 4 === 1) return t.replace(/"retailPrice":[^,]+/, '"retailPrice":1.50');
          if (i % 4 === 2) return t.replace(/"unitPrice":[^,]+/, '"unitPrice":1e-05');
          return t.replace(/"location":"[^"]*"/, '"location":"S\\u00e3o Paulo \\ud83d\\ude00 \\"x\\""');
        });
        retail.setItemTexts(texts);
      },
      (c, retail) => {
        assertComplete(c, retail, 6);
        const texts = retail.itemTexts();
        assert.ok(texts.some((t) => t.includes("\\u00e3")));
        const want =
          '{"BillingCurrency":"USD","CustomerEntityId":"Default","CustomerEntityType":"Retail",' +
          `"Items":[${texts.join(",")}],"Count":${texts.length}}`;
        assert.equal(c.text, want, "the items' bytes as served");
      },
    ));

  test("an item total that falls by more than 20% since the previous capture is logged with both numbers", async () => {
    const retail = new FakeRetail({ pageSize: 7, items: 40 });
    await retail.start();
    const { dir, cleanup } = tempDir();
    try {
      writeConfig(dir, { http: { attempts: 2, baseDelay: "10ms" } });
      const run = () =>
        runCli(["crawl", "--once", "--source", "AzureRetail"], {
          cwd: dir,
          env: cleanEnv({ CONTRAIL_AZURE_RETAIL_URL: retail.baseUrl }),
        });
      const drop = (r: CliResult) => r.logs.filter((l) => l.previousItems !== undefined);
      const first = await run();
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(drop(first), []);
      retail.setItems(33); // a fall of 17.5%: no warning
      const second = await run();
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(drop(second), []);
      retail.setItems(26); // 33 → 26: 21%
      const third = await run();
      assert.equal(third.code, 0, third.stderr);
      const [warning, ...more] = drop(third);
      assert.equal(more.length, 0);
      assert.equal(warning?.level, "warn");
      assert.equal(warning?.previousItems, 33);
      assert.equal(warning?.items, 26);
    } finally {
      cleanup();
      await retail.close();
    }
  });

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
