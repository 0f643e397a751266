// GoogleCloud end to end through the real CLI against the fake Cloud Billing Catalog: every page of each configured
// service's SKUs in one capture as served, short pages that are not the end (AIP-158), Google's errors for a bad key,
// 429 RESOURCE_EXHAUSTED (no Retry-After) waited out without losing a page, and the key kept out of everything.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/sources/gcp.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { COMPUTE_ENGINE_ID, FakeGcpBilling, type FakeGcpOptions } from "../fakes/gcp.js";
import { createServer } from "node:net";
import {
  cleanEnv,
  collect,
  filesUnder,
  gunzipFile,
  readJson,
  runCli,
  startCli,
  tempDir,
  waitFor,
  writeConfig,
  type CliResult,
} from "../helpers.js";
import type { Manifest } from "../../src/types.js";

const STORAGE_ID = "95FF-2EF5-5EA1";

interface Crawl {
  r: CliResult;
  lake: string;
  /** Capture data: every file but the status record and leases. */
  files: string[];
  /** Each captured service's content and manifest, by service id. */
  captures: Map<string, { text: string; manifest: Manifest }>;
}

/** Starts a fake, lets the test adjust it, runs `crawl --once --source GoogleCloud`, reads back the lake. */
async function crawl(
  opts: FakeGcpOptions & { config?: Record<string, unknown>; key?: string | null; args?: string[] },
  setup: (gcp: FakeGcpBilling) => void,
  check: (c: Crawl, gcp: FakeGcpBilling) => void | Promise<void>,
): Promise<void> {
  const gcp = new FakeGcpBilling({ skus: 70, servedPageSize: 20, ...opts });
  await gcp.start();
  const { dir, cleanup } = tempDir();
  try {
    setup(gcp);
    writeConfig(dir, { http: { attempts: 3, baseDelay: "10ms", maxDelay: "200ms" }, ...opts.config });
    const key = opts.key === undefined ? gcp.apiKey : opts.key;
    const r = await runCli(["crawl", "--once", "--source", "GoogleCloud", ...(opts.args ?? [])], {
      cwd: dir,
      env: cleanEnv({
        CONTRAIL_GCP_BILLING_URL: gcp.baseUrl,
        CONTRAIL_LOG_LEVEL: "debug",
        ...(key !== null ? { CONTRAIL_GCP_API_KEY: key } : {}),
      }),
    });
    const lake = join(dir, "lake");
    const files = filesUnder(lake).filter((f) => !/^_contrail\/(status|leases)\//.test(f));
    const captures = new Map<string, { text: string; manifest: Manifest }>();
    for (const f of files.filter((x) => x.startsWith("GoogleCloud/") && x.endsWith(".json.gz"))) {
      captures.set(f.split("/")[1]!, {
        text: gunzipFile(join(lake, f)).toString("utf8"),
        manifest: readJson<Manifest>(join(lake, `_contrail/manifests/${f.replace(/\.gz$/, "")}`)),
      });
    }
    await check({ r, lake, files, captures }, gcp);
    assertKeyNowhere(gcp.apiKey, r, lake);
  } finally {
    cleanup();
    await gcp.close();
  }
}

/** The key's value (as is, and as a URL would encode it) in no stored byte and no line the crawler printed. */
function assertKeyNowhere(key: string, r: CliResult, lake: string): void {
  const forms = [key, encodeURIComponent(key)];
  for (const f of filesUnder(lake)) {
    const bytes = readFileSync(join(lake, f));
    // Captures gunzipped; records as they are.
    const raw = f.endsWith(".gz") ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
    for (const k of forms) assert.ok(!raw.includes(k), `the API key is not in ${f}`);
  }
  for (const k of forms) {
    assert.ok(!r.stdout.includes(k), "the API key is in no log line");
    assert.ok(!r.stderr.includes(k), "the API key is not on stderr");
  }
}

/** The capture of a service is exactly the service entry and every SKU as the fake served them. */
function assertExact(c: Crawl, gcp: FakeGcpBilling, id = COMPUTE_ENGINE_ID): Manifest {
  assert.equal(c.r.code, 0, c.r.stderr);
  const got = c.captures.get(id);
  assert.ok(got, `a capture of ${id}`);
  const want = `{"service":${JSON.stringify(gcp.service(id))},"skus":[${gcp.skuTexts(id).join(",")}]}`;
  assert.equal(got.text, want, "the service and every SKU of every page, in order, as served");
  assert.equal(got.manifest.items, gcp.skuTexts(id).length);
  return got.manifest;
}

/** Query parameters of the SKU page requests of a service. */
function skuRequests(gcp: FakeGcpBilling, id = COMPUTE_ENGINE_ID): URLSearchParams[] {
  return gcp.server.requestsTo(`/v1/services/${id}/skus`).map((q) => new URL(q.url, "http://x").searchParams);
}

describe("GoogleCloud through the CLI", { concurrency: 3 }, () => {
  test("every page of Compute Engine's SKUs in one capture, as served; the largest pages asked for, compact", () =>
    crawl(
      {},
      () => undefined,
      (c, gcp) => {
        const m = assertExact(c, gcp);
        assert.equal(m.pages, 4, "70 SKUs on pages of 20");
        const asked = skuRequests(gcp);
        assert.equal(asked.length, 4);
        for (const q of asked) {
          assert.equal(q.get("pageSize"), "5000", "the largest page the API allows");
          assert.equal(q.get("prettyPrint"), "false");
          assert.equal(q.get("key"), gcp.apiKey);
        }
        assert.equal(asked[0]!.get("pageToken"), null, "the first page has no token");
        assert.deepEqual(m.urls, [
          `${gcp.baseUrl}/v1/services?key=REDACTED&pageSize=5000&prettyPrint=false`,
          `${gcp.baseUrl}/v1/services/${COMPUTE_ENGINE_ID}/skus?key=REDACTED&pageSize=5000&prettyPrint=false`,
        ]);
      },
    ));

  test("short and empty pages with a token are not the end (AIP-158); an empty final token is", () =>
    crawl(
      {},
      (gcp) => {
        gcp.shortPages = new Set([1, 3]);
        gcp.emptyPages = new Set([2]);
        gcp.emptyFinalToken = true;
      },
      (c, gcp) => {
        const m = assertExact(c, gcp);
        // 10, 0, 10, 20, 20, 10 SKUs.
        assert.equal(m.pages, gcp.pageCount());
        assert.equal(m.pages, 6);
      },
    ));

  test("several services, their entries found on the service list's later pages: one capture each", () =>
    crawl(
      { servedPageSize: 3, config: { gcp: { services: [COMPUTE_ENGINE_ID, "CCD8-9BF1-090E"] } } },
      () => undefined,
      (c, gcp) => {
        assertExact(c, gcp, COMPUTE_ENGINE_ID);
        assertExact(c, gcp, "CCD8-9BF1-090E");
        assert.ok(!c.captures.has(STORAGE_ID), "only the configured services");
        const listed = gcp.server.requestsTo("/v1/services").length;
        assert.ok(listed >= 3, `the service list walked across its pages (${listed} requests)`);
      },
    ));

  test("a service the catalogue does not list fails, naming it; the others are captured", () =>
    crawl(
      { config: { gcp: { services: ["0000-1111-2222", STORAGE_ID] } } },
      () => undefined,
      (c, gcp) => {
        assert.equal(c.r.code, 1);
        assert.match(c.r.stderr, /GoogleCloud 0000-1111-2222 failed: service 0000-1111-2222 is not in/);
        assert.ok(c.captures.has(STORAGE_ID), "the other service");
        assert.equal(c.captures.size, 1);
        assert.equal(c.captures.get(STORAGE_ID)!.manifest.items, gcp.skuTexts(STORAGE_ID).length);
      },
    ));

  test("a wrong key: 400 API_KEY_INVALID names CONTRAIL_GCP_API_KEY (not the key), is not retried, stores nothing", async () => {
    const wrong = "AIzaSyWRONG-wrong-wrong-wrong-wrong-wrong";
    await crawl(
      { key: wrong },
      () => undefined,
      (c, gcp) => {
        assert.equal(c.r.code, 1, c.r.stdout);
        assert.match(c.r.stderr, /GoogleCloud 6F81-5844-456A failed: .*CONTRAIL_GCP_API_KEY/);
        assert.match(c.r.stderr, /HTTP 400 INVALID_ARGUMENT API_KEY_INVALID: API key not valid/);
        assert.ok(!c.r.stderr.includes(wrong) && !c.r.stdout.includes(wrong), "the wrong key is not echoed");
        assert.equal(gcp.server.requests.length, 1, "a refused key is not asked again");
        assert.deepEqual(c.files, []);
      },
    );
  });

  test("the Cloud Billing API not enabled for the key's project: 403 names CONTRAIL_GCP_API_KEY", () =>
    crawl(
      {},
      (gcp) => void (gcp.apiDisabled = true),
      (c) => {
        assert.equal(c.r.code, 1);
        assert.match(c.r.stderr, /CONTRAIL_GCP_API_KEY \(HTTP 403 PERMISSION_DENIED SERVICE_DISABLED: /);
        assert.deepEqual(c.files, []);
      },
    ));

  test("429 RESOURCE_EXHAUSTED (no Retry-After) on the first two requests: backed off, every page served once, complete", () =>
    crawl(
      {},
      (gcp) => {
        // The service list's page, then its retry; then the SKU pages.
        gcp.throttle(2);
      },
      (c, gcp) => {
        assertExact(c, gcp);
        assert.equal(gcp.throttled, 2);
        const served = gcp.servedTokens;
        assert.equal(new Set(served).size, served.length, "no page fetched twice: nothing thrown away");
        assert.equal(served.length, 4);
        const warned = c.r.logs.filter((l) => /rate-limited by the Cloud Billing API/.test(String(l.msg)));
        assert.equal(warned.length, 2, "each throttled answer said so");
      },
    ));

  test("a per-minute-like quota (2 requests a window) slows the walk down; it completes with every page once", () =>
    crawl(
      { servedPageSize: 10 },
      (gcp) => void (gcp.quota = { requests: 2, windowMs: 400 }),
      (c, gcp) => {
        assertExact(c, gcp);
        assert.ok(gcp.throttled > 0, "the quota was reached");
        assert.equal(gcp.servedTokens.length, 7, "every page served once");
        assert.equal(new Set(gcp.servedTokens).size, 7);
      },
    ));

  test("429 on every request: gives up after its throttled tries, stores nothing", () =>
    crawl(
      {},
      (gcp) => gcp.throttle(1_000),
      (c, gcp) => {
        assert.equal(c.r.code, 1);
        assert.match(c.r.stderr, /HTTP 429 RESOURCE_EXHAUSTED RATE_LIMIT_EXCEEDED/);
        assert.equal(gcp.throttled, 8, "THROTTLED_TRIES answers, one request each");
        assert.deepEqual(c.files, []);
      },
    ));

  test("a nextPageToken that leads back to an earlier page fails the capture, stores nothing", () =>
    crawl(
      {},
      (gcp) => void (gcp.loopAtPage = 2),
      (c, gcp) => {
        assert.equal(c.r.code, 1);
        assert.match(c.r.stderr, /SKUs: page 2's nextPageToken repeats an earlier page's/);
        assert.equal(skuRequests(gcp).length, 2, "not asked for again");
        assert.deepEqual(c.files, []);
      },
    ));

  test("a page whose body breaks off is fetched again; the pages before it are kept", () =>
    crawl(
      {},
      (gcp) =>
        void gcp.server.fault(
          { path: `/v1/services/${COMPUTE_ENGINE_ID}/skus` },
          { kind: "truncate", afterBytes: 500 },
          1,
        ),
      (c, gcp) => {
        assertExact(c, gcp);
        assert.equal(skuRequests(gcp).length, 5, "4 pages, the broken one twice");
      },
    ));
});

test("a catalogue unchanged since the latest capture records a check, not a second copy; a changed one is captured", async () => {
  const gcp = new FakeGcpBilling({ skus: 70, servedPageSize: 20 });
  await gcp.start();
  const { dir, cleanup } = tempDir();
  try {
    writeConfig(dir, { http: { attempts: 3, baseDelay: "10ms" } });
    const env = cleanEnv({ CONTRAIL_GCP_API_KEY: gcp.apiKey, CONTRAIL_GCP_BILLING_URL: gcp.baseUrl });
    const crawlOnce = async () => {
      const r = await runCli(["crawl", "--once", "--source", "GoogleCloud"], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      const files = filesUnder(join(dir, "lake"));
      return {
        r,
        captures: files.filter((f) => f.startsWith(`GoogleCloud/${COMPUTE_ENGINE_ID}/`)),
        checks: files.filter((f) => f.startsWith(`_contrail/checks/GoogleCloud/${COMPUTE_ENGINE_ID}/`)),
        tmp: files.filter((f) => f.startsWith("_contrail/tmp/")),
      };
    };
    const first = await crawlOnce();
    assert.equal(first.captures.length, 1);
    const second = await crawlOnce();
    assert.deepEqual(second.captures, first.captures, "no second copy");
    assert.equal(second.checks.length, 1, "the check is recorded");
    assert.deepEqual(second.tmp, [], "nothing partial left");
    const check = readJson<{ sameAs: string; urls: string[] }>(join(dir, "lake", second.checks[0]!));
    assert.equal(check.sameAs, first.captures[0]);
    assert.ok(check.urls.every((u) => u.includes("key=REDACTED")));
    gcp.setSkus(COMPUTE_ENGINE_ID, 70, 7); // new prices
    const third = await crawlOnce();
    assert.equal(third.captures.length, 2, "a changed catalogue is captured");
    assertKeyNowhere(gcp.apiKey, third.r, join(dir, "lake"));
  } finally {
    cleanup();
    await gcp.close();
  }
});

test("as a daemon: retries, throttling and a capture leave the key out of /metrics, the logs and the lake", async () => {
  const gcp = new FakeGcpBilling({ skus: 70, servedPageSize: 20 });
  await gcp.start();
  const { dir, cleanup } = tempDir();
  try {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    writeConfig(dir, {
      http: { attempts: 3, baseDelay: "10ms", maxDelay: "100ms" },
      history: { enabled: false },
      sources: { AmazonEC2: { enabled: false }, AzureRetail: { enabled: false } },
    });
    // A 503 (the client's retry, logged with its URL), then a 429 (this source's backoff) on the SKU pages.
    gcp.server.fault({ path: `/v1/services/${COMPUTE_ENGINE_ID}/skus` }, { kind: "status", status: 503 }, 1);
    gcp.throttle(1, "skus");
    const child = startCli(["crawl"], {
      cwd: dir,
      env: cleanEnv({
        CONTRAIL_GCP_API_KEY: gcp.apiKey,
        CONTRAIL_GCP_BILLING_URL: gcp.baseUrl,
        CONTRAIL_METRICS_PORT: String(port),
        CONTRAIL_LOG_LEVEL: "debug",
      }),
    });
    const done = collect(child);
    const metrics = await waitFor("metrics with the capture", async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text();
      return text?.includes('contrail_captures_total{source="GoogleCloud",outcome="captured"} 1')
        ? text
        : undefined;
    });
    child.kill("SIGTERM");
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.logs.some((l) => l.msg === "request failed; retrying"),
      "the client's retry was logged",
    );
    assert.ok(r.logs.some((l) => /rate-limited by the Cloud Billing API/.test(String(l.msg))));
    for (const k of [gcp.apiKey, encodeURIComponent(gcp.apiKey)])
      assert.ok(!metrics.includes(k), "not in /metrics");
    assertKeyNowhere(gcp.apiKey, r, join(dir, "lake"));
  } finally {
    cleanup();
    await gcp.close();
  }
});

describe("GoogleCloud's settings", () => {
  test("without CONTRAIL_GCP_API_KEY it is off and says what it needs; with it, the key is never printed", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const off = await runCli(["sources"], { cwd: dir, env: cleanEnv() });
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /GoogleCloud\s+off: needs CONTRAIL_GCP_API_KEY/);
      const key = "AIzaSyTHIS-IS-A-SECRET-0123456789abcdef";
      const on = await runCli(["sources"], { cwd: dir, env: cleanEnv({ CONTRAIL_GCP_API_KEY: key }) });
      assert.match(on.stdout, /GoogleCloud\s+enabled/);
      assert.ok(!on.stdout.includes(key) && !on.stderr.includes(key));
      const refused = await runCli(["crawl", "--once", "--source", "googlecloud"], {
        cwd: dir,
        env: cleanEnv(),
      });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--source GoogleCloud: this source is off \(needs CONTRAIL_GCP_API_KEY\)/);
    } finally {
      cleanup();
    }
  });

  test("gcp.services takes catalogue service ids; anything else is a configuration error naming it", async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeConfig(dir, { gcp: { services: ["compute"] } });
      const r = await runCli(["sources"], { cwd: dir, env: cleanEnv() });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /gcp\.services\.0: expected Cloud Billing service ids such as 6F81-5844-456A/);
      writeConfig(dir, { gcp: { apiKey: "from-the-file" } });
      const secret = await runCli(["sources"], { cwd: dir, env: cleanEnv() });
      assert.equal(secret.code, 2);
      assert.match(secret.stderr, /gcp: unknown key "apiKey"/);
    } finally {
      cleanup();
    }
  });
});
