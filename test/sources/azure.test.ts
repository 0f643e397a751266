// Azure (RateCard + VM capabilities) end to end through the real CLI against the fake Azure cloud, plus the
// pieces that make it stream: the key splice and the SKU reduction.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/sources/azure.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { expectedCapabilities, startFakeAzure } from "../fakes/azure.js";
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
import { spliceKeyTransform } from "../../src/sources/azure/splice.js";
import { addSku, readSkuPage, type Capabilities } from "../../src/sources/azure/skus.js";
import { armScope, explainSignInError, isMicrosoftAuthority } from "../../src/sources/azure/auth.js";
import type { HttpClient, Manifest } from "../../src/types.js";

type FakeAzure = Awaited<ReturnType<typeof startFakeAzure>>;
type Run = ((args: string[], extra?: Record<string, string | undefined>) => Promise<CliResult>) & {
  lake: string;
  dir: string;
};

/** Files of one source in a lake: captures and manifests. */
function sourceFiles(lake: string, source: string): string[] {
  return filesUnder(lake).filter(
    (f) => f.startsWith(`${source}/`) || f.startsWith(`_contrail/manifests/${source}/`),
  );
}

function capture(lake: string, source: string): { text: string; manifest: Manifest } {
  const key = filesUnder(lake).find((f) => f.startsWith(`${source}/`) && f.endsWith(".json.gz"));
  assert.ok(key, `a ${source} capture in ${filesUnder(lake).join(", ")}`);
  const manifest = readJson<Manifest>(join(lake, `_contrail/manifests/${key.replace(/\.gz$/, "")}`));
  return { text: gunzipFile(join(lake, key)).toString("utf8"), manifest };
}

/** The capture the fake's RateCard and SKUs must give: the served bytes with the key spliced in. */
function expectedRateCard(az: FakeAzure): string {
  const served = az.arm.rateCardBytes().toString("utf8");
  const caps = JSON.stringify(expectedCapabilities(az.arm.allSkus()));
  return `${served.slice(0, -1)},"Capabilities":${caps}}`;
}

// Every test starts its own fake cloud (faults and request logs stay its own), so they can run side by side:
// the CLI's start-up dominates their time.
describe("Azure through the CLI", { concurrency: 3 }, () => {
  async function withAzure(fn: (az: FakeAzure, run: Run) => Promise<void>): Promise<void> {
    const az = await startFakeAzure({ arm: { meters: 300, skus: 60 }, retail: { pageSize: 7, items: 40 } });
    const { dir, cleanup } = tempDir();
    const run: Run = (args, extra = {}) => runCli(args, { cwd: dir, env: cleanEnv({ ...az.env, ...extra }) });
    run.lake = join(dir, "lake");
    run.dir = dir;
    try {
      await fn(az, run);
    } finally {
      cleanup();
      await az.close();
    }
  }

  test("--once captures both Azure sources: every meter, exactly the VM capabilities, every retail item", () =>
    withAzure(async (az, run) => {
      const r = await run(["crawl", "--once", "--source", "Azure,AzureRetail"]);
      assert.equal(r.code, 0, r.stderr);

      const azure = capture(run.lake, "Azure");
      assert.equal(azure.text, expectedRateCard(az), "the RateCard as served, plus Capabilities");
      const card = JSON.parse(azure.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(card), [
        "OfferTerms",
        "Meters",
        "Currency",
        "Locale",
        "IsTaxIncluded",
        "Capabilities",
      ]);
      assert.deepEqual(card.Meters, az.arm.rateCard().Meters);
      assert.equal((card.Meters as unknown[]).length, 300);
      assert.deepEqual(card.Capabilities, expectedCapabilities(az.arm.allSkus()));
      assert.ok(Object.keys(card.Capabilities as object).includes("F2s v2"), "sizes with '_' as spaces");
      assert.equal(azure.manifest.bytes, Buffer.byteLength(azure.text));
      assert.equal(azure.manifest.region, "US");
      assert.ok(azure.manifest.urls.some((u) => u.includes("Microsoft.Commerce/RateCard")));
      assert.ok(azure.manifest.urls.some((u) => u.includes("Microsoft.Compute/skus")));
      assert.ok(
        azure.manifest.urls.every((u) => !/sig=/.test(u)),
        "no SAS signature in the manifest",
      );
      assert.ok(azure.manifest.etag, "the blob's ETag");

      const retail = capture(run.lake, "AzureRetail");
      const doc = JSON.parse(retail.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(doc), [
        "BillingCurrency",
        "CustomerEntityId",
        "CustomerEntityType",
        "Items",
        "Count",
      ]);
      assert.deepEqual(doc.Items, az.retail.allItems());
      assert.equal(doc.Count, 40);
      assert.equal(retail.manifest.items, 40);
      assert.equal(retail.manifest.pages, 6);
      assert.equal(retail.manifest.region, "global");

      // The bearer token went to Resource Manager, never to the RateCard's redirect target.
      assert.equal(az.arm.blob.requests.length, 1);
      const tokens = az.entra.issuedTokens.map((t) => t.token);
      assert.ok(tokens.length > 0);
      for (const req of az.arm.blob.requests) {
        assert.equal(req.headers.authorization, undefined);
        const seen = `${req.url}\n${JSON.stringify(req.headers)}\n${req.body}`;
        for (const t of tokens) assert.ok(!seen.includes(t), "no token in a blob request");
      }
      const skuRequests = az.arm.server.requestsTo(/\/Microsoft\.Compute\/skus$/i);
      assert.equal(skuRequests.length, 2, "both SKU pages");
      assert.ok(skuRequests.every((q) => q.headers.authorization?.startsWith("Bearer ")));
      for (const t of tokens)
        assert.ok(!r.stdout.includes(t) && !r.stderr.includes(t), "no token in the output");
      assert.ok(!r.stdout.includes(az.entra.clientSecret) && !r.stderr.includes(az.entra.clientSecret));
    }));

  for (const c of [
    {
      what: "client secret",
      env: { AZURE_CLIENT_SECRET: "wrong~Secret~3f9a1c77e2" },
      setting: /AZURE_CLIENT_SECRET/,
    },
    {
      what: "tenant",
      env: { AZURE_TENANT_ID: "00000000-1111-2222-3333-444444444444" },
      setting: /AZURE_TENANT_ID/,
    },
  ]) {
    test(`a wrong ${c.what} fails the capture with a message naming the setting; nothing stored`, () =>
      withAzure(async (az, run) => {
        writeConfig(run.dir, { http: { attempts: 3, baseDelay: "10ms" } });
        const r = await run(["crawl", "--once", "--source", "Azure"], c.env);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /Azure US failed: Azure sign-in failed/);
        assert.match(r.stderr, c.setting);
        assert.deepEqual(sourceFiles(run.lake, "Azure"), []);
        const output = r.stdout + r.stderr;
        assert.ok(!output.includes("wrong~Secret~3f9a1c77e2"), "the wrong secret is not printed");
        assert.ok(!output.includes(az.entra.clientSecret), "the secret is not printed");
        // A refused sign-in is not retried over and over.
        assert.ok(az.entra.tokenRequests.length <= 1, String(az.entra.tokenRequests.length));
        assert.equal(az.arm.server.requests.length, 0, "nothing asked of Resource Manager without a token");
      }));
  }

  test("429s and resets (SKU page, RateCard blob) still end in a complete capture", () =>
    withAzure(async (az, run) => {
      writeConfig(run.dir, { http: { attempts: 3, baseDelay: "10ms" } });
      az.arm.throttle(1, { retryAfter: 1, only: "ratecard" });
      // SKUs: first a 429, then a page that breaks off (fault rules apply in order, one request each).
      const skus = /\/Microsoft\.Compute\/skus$/i;
      const throttled =
        '{"error":{"code":"SubscriptionRequestsThrottled","message":"Try again after 0 seconds."}}';
      az.arm.server.fault(
        { path: skus },
        { kind: "status", status: 429, headers: { "retry-after": "0" }, body: throttled },
        1,
      );
      az.arm.server.fault({ path: skus }, { kind: "reset", afterBytes: 300 }, 1);
      az.arm.blob.server.fault({ path: /^\/ratecard\// }, { kind: "reset", afterBytes: 20_000 }, 1);
      const r = await run(["crawl", "--once", "--source", "Azure"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(capture(run.lake, "Azure").text, expectedRateCard(az));
      const msgs = r.logs.map((l) => l.msg);
      assert.ok(msgs.includes("capture attempt failed; retrying"), "the RateCard was fetched again");
      // The reset may land before or after the response head (a race in TCP), so count requests, not log lines.
      assert.ok(
        az.arm.server.requestsTo(skus).length >= 3,
        "the throttled and the reset SKU page were fetched again",
      );
      assert.equal(az.arm.server.requestsTo(skus).length, 4, "429, reset, page 1, page 2");
      assert.ok(az.arm.blob.requests.every((q) => q.headers.authorization === undefined));
    }));

  for (const kind of ["invalidJson", "html200"] as const) {
    test(`a persistent ${kind} RateCard body is never stored; --once exits 1`, () =>
      withAzure(async (az, run) => {
        writeConfig(run.dir, { http: { attempts: 2, baseDelay: "10ms" } });
        az.arm.blob.server.fault({ path: /^\/ratecard\// }, { kind }, 50);
        const r = await run(["crawl", "--once", "--source", "Azure"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Azure US failed/);
        assert.deepEqual(sourceFiles(run.lake, "Azure"), []);
        assert.deepEqual(
          filesUnder(run.lake).filter((f) => f.includes("tmp")),
          [],
        );
      }));
  }

  test("a RateCard served directly (200, no redirect) is used as is", () =>
    withAzure(async (az, run) => {
      az.arm.server.fault(
        { path: /\/Microsoft\.Commerce\/RateCard$/i },
        {
          kind: "replace",
          reply: {
            status: 200,
            headers: { "content-type": "application/json" },
            body: az.arm.rateCardBytes(),
          },
        },
        1,
      );
      const r = await run(["crawl", "--once", "--source", "Azure"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(capture(run.lake, "Azure").text, expectedRateCard(az));
      assert.equal(az.arm.blob.requests.length, 0);
    }));

  for (const refusal of [
    "InvalidResourceType",
    "AuthorizationFailed",
    "Gone",
    "DisallowedProvider",
  ] as const) {
    test(`a RateCard refused (${refusal}) fails in one line naming AzureRetail; the SKU list is never asked for`, () =>
      withAzure(async (az, run) => {
        writeConfig(run.dir, { http: { attempts: 3, baseDelay: "10ms" } });
        az.arm.rateCardRefusal = refusal;
        const r = await run(["crawl", "--once", "--source", "Azure"]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0]!,
          /Azure US failed: the Azure RateCard is gone or not allowed for this subscription/,
        );
        assert.match(lines[0]!, new RegExp(`HTTP \\d{3} ${refusal}`));
        assert.match(lines[0]!, /AzureRetail/);
        assert.equal(az.arm.server.requestsTo(/\/Microsoft\.Commerce\/RateCard$/i).length, 1, "not retried");
        assert.equal(az.arm.server.requestsTo(/\/Microsoft\.Compute\/skus$/i).length, 0, "no SKU download");
        assert.deepEqual(sourceFiles(run.lake, "Azure"), []);
      }));
  }

  test("the RateCard is asked for before the SKU list, which is then cached in the lake for a day", () =>
    withAzure(async (az, run) => {
      const skus = /\/Microsoft\.Compute\/skus$/i;
      const cache = join(run.lake, "_contrail/cache/azure-vm-capabilities.json");
      const first = await run(["crawl", "--once", "--source", "Azure"]);
      assert.equal(first.code, 0, first.stderr);
      const cardAt = az.arm.server.requestsTo(/\/Microsoft\.Commerce\/RateCard$/i)[0]!.at;
      assert.ok(
        az.arm.server.requestsTo(skus).every((q) => q.at >= cardAt),
        "the RateCard first",
      );
      assert.equal(az.arm.server.requestsTo(skus).length, 2, "both SKU pages");
      assert.ok(existsSync(cache));

      const second = await run(["crawl", "--once", "--source", "Azure"]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(az.arm.server.requestsTo(skus).length, 2, "no SKU request within the day");
      const texts = filesUnder(run.lake)
        .filter((f) => f.startsWith("Azure/") && f.endsWith(".json.gz"))
        .map((f) => gunzipFile(join(run.lake, f)).toString("utf8"));
      assert.deepEqual(texts, [expectedRateCard(az), expectedRateCard(az)]);

      // A day old: fetched again (and the new SKUs show).
      const file = readJson<{ fetchedAt: string }>(cache);
      file.fetchedAt = new Date(Date.now() - 25 * 3_600_000).toISOString();
      writeFileSync(cache, JSON.stringify(file));
      az.arm.skus(20, 7);
      const third = await run(["crawl", "--once", "--source", "Azure"]);
      assert.equal(third.code, 0, third.stderr);
      assert.equal(az.arm.server.requestsTo(skus).length, 4, "fetched again after a day");
      const latest = filesUnder(run.lake)
        .filter((f) => f.startsWith("Azure/") && f.endsWith(".json.gz"))
        .sort()
        .at(-1)!;
      assert.equal(gunzipFile(join(run.lake, latest)).toString("utf8"), expectedRateCard(az));
    }));

  test("a SKU list slow to its first byte (beyond the connect timeout) is waited for, not retried", () =>
    withAzure(async (az, run) => {
      writeConfig(run.dir, { http: { attempts: 2, baseDelay: "10ms", connectTimeout: "1s" } });
      const skus = /\/Microsoft\.Compute\/skus$/i;
      az.arm.server.fault({ path: skus }, { kind: "delay", ms: 2500 }, 1);
      const r = await run(["crawl", "--once", "--source", "Azure"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(capture(run.lake, "Azure").text, expectedRateCard(az));
      assert.equal(az.arm.server.requestsTo(skus).length, 2, "each page asked for once");
    }));

  test("`contrail sources` names the missing Azure settings; AzureRetail needs none", () =>
    withAzure(async (az, run) => {
      const row = (out: string, name: string) => out.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
      const unset = {
        AZURE_TENANT_ID: undefined,
        AZURE_CLIENT_ID: undefined,
        AZURE_CLIENT_SECRET: undefined,
      };
      const [none, some] = await Promise.all([
        run(["sources"], { ...unset, AZURE_SUBSCRIPTION_ID: undefined }),
        run(["sources"], { AZURE_CLIENT_SECRET: undefined, AZURE_SUBSCRIPTION_ID: undefined }),
      ]);
      assert.equal(none.code, 0, none.stderr);
      assert.match(
        row(none.stdout, "Azure"),
        /off: needs AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_SUBSCRIPTION_ID/,
      );
      assert.match(row(none.stdout, "AzureRetail"), /enabled/);
      assert.match(row(some.stdout, "Azure"), /off: needs AZURE_CLIENT_SECRET, AZURE_SUBSCRIPTION_ID/);
      assert.ok(!some.stdout.includes(az.entra.clientSecret));
    }));
});

describe("spliceKeyTransform", () => {
  async function splice(doc: string, chunk: number): Promise<string> {
    const bytes = Buffer.from(doc);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
    const out: Buffer[] = [];
    for await (const c of Readable.from(chunks).pipe(
      spliceKeyTransform("Capabilities", '{"A1":{"vCPUs":"1"}}'),
    )) {
      out.push(c as Buffer);
    }
    return Buffer.concat(out).toString();
  }

  test("adds the key before the root's closing brace, whatever the chunking", async () => {
    const cases: [string, string][] = [
      ['{"a":1}', '{"a":1,"Capabilities":{"A1":{"vCPUs":"1"}}}'],
      ["{}", '{"Capabilities":{"A1":{"vCPUs":"1"}}}'],
      [" { } \n", ' { "Capabilities":{"A1":{"vCPUs":"1"}}} \n'],
      ['{"a":{"b":{}},"c":"}"}\r\n\n', '{"a":{"b":{}},"c":"}","Capabilities":{"A1":{"vCPUs":"1"}}}\r\n\n'],
      [
        '{\n  "Meters": [ {"x": "é}"} ]\n}\n',
        '{\n  "Meters": [ {"x": "é}"} ]\n,"Capabilities":{"A1":{"vCPUs":"1"}}}\n',
      ],
    ];
    for (const [doc, want] of cases) {
      for (let chunk = 1; chunk <= Buffer.byteLength(doc); chunk++) {
        assert.equal(await splice(doc, chunk), want, `${JSON.stringify(doc)} in chunks of ${chunk}`);
      }
      JSON.parse(want);
    }
  });

  test("leaves a document that does not end in '}' alone (the JSON check then refuses it)", async () => {
    assert.equal(await splice('{"a":[1,2', 3), '{"a":[1,2');
    assert.equal(await splice("<html></html>", 4), "<html></html>");
  });
});

describe("SKU reduction", () => {
  test("virtualMachines only; size, else the name without Standard_; '_' as spaces; first occurrence wins", async () => {
    const page = {
      value: [
        {
          resourceType: "virtualMachines",
          name: "Standard_D2s_v3",
          size: "D2s_v3",
          capabilities: [{ name: "vCPUs", value: "2" }],
        },
        {
          resourceType: "virtualMachines",
          name: "Standard_D2s_v3",
          size: "D2s_v3",
          capabilities: [{ name: "vCPUs", value: "9" }],
        },
        {
          resourceType: "virtualMachines",
          name: "Standard_NV6ads_A10_v5",
          capabilities: [{ name: "MemoryGB", value: "55" }],
        },
        {
          resourceType: "disks",
          name: "Premium_LRS",
          size: "P10",
          capabilities: [{ name: "MaxIOps", value: "500" }],
        },
        {
          resourceType: "virtualMachines",
          name: "Standard_B1s",
          size: "B1s",
          locationInfo: [{ zones: ["1"] }],
        },
      ],
      nextLink: "https://management.azure.com/next?$skiptoken=abc",
    };
    const text = JSON.stringify(page);
    const chunks = Array.from({ length: Math.ceil(text.length / 17) }, (_, i) =>
      text.slice(i * 17, i * 17 + 17),
    );
    const { skus, nextLink } = await readSkuPage(Readable.from(chunks), "https://management.azure.com/x");
    assert.equal(nextLink, page.nextLink);
    const caps: Capabilities = new Map();
    for (const s of skus) addSku(caps, s);
    assert.deepEqual(Object.fromEntries(caps), {
      "D2s v3": { vCPUs: "2" },
      "NV6ads A10 v5": { MemoryGB: "55" },
      B1s: {},
    });
    await assert.rejects(
      readSkuPage(Readable.from(['{"error":{"code":"X"}}']), "https://h/x"),
      /no "value" array/,
    );
    await assert.rejects(readSkuPage(Readable.from(['{"value":[{"a"']), "https://h/x"), {
      code: "INVALID_JSON",
    });
  });
});

describe("sign-in error messages", () => {
  const az = {
    tenantId: "t1",
    clientId: "c1",
    clientSecret: "s3cr3t~value",
    subscriptionId: "sub",
    authorityHost: "https://login.microsoftonline.com",
    managementUrl: "https://management.azure.com",
    retailUrl: "https://prices.azure.com",
  };
  const http = {
    request: () => Promise.reject(new Error("not used")),
    getJson: () => Promise.reject(new Error("not used")),
  } as HttpClient;
  const explain = (text: string) =>
    explainSignInError(new Error(text), az, http, new AbortController().signal);

  test("name the setting from the AADSTS code, keep the description, never the secret", async () => {
    const msal = (code: number, text: string) =>
      `invalid_client: Error(s): ${code} - Timestamp: 2026-01-01 00:00:00Z - Description: AADSTS${code}: ${text} Trace ID: x Correlation ID: y`;
    const cases: [string, RegExp][] = [
      [
        msal(7000215, "Invalid client secret provided."),
        /AADSTS7000215.*check AZURE_CLIENT_SECRET \(Invalid client secret provided\.\)/,
      ],
      [msal(7000222, "The provided client secret keys are expired."), /expired: check AZURE_CLIENT_SECRET/],
      [msal(700016, "Application with identifier 'c1' was not found."), /check AZURE_CLIENT_ID/],
      [msal(90002, "Tenant 't1' not found."), /check AZURE_TENANT_ID/],
    ];
    for (const [text, want] of cases) {
      const err = await explain(text);
      assert.equal(err.code, "AUTH");
      assert.equal(err.retryable, false, text);
      assert.match(err.message, want);
    }
    const leaky = await explain(`something odd happened with s3cr3t~value`);
    assert.ok(!leaky.message.includes("s3cr3t~value"), leaky.message);
    assert.match(leaky.message, /check AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET/);
    assert.equal((await explain("temporarily_unavailable: HTTP 503")).retryable, true);
  });

  test("the Resource Manager audience and instance discovery follow the configured hosts", () => {
    assert.equal(armScope("https://127.0.0.1:8443"), "https://management.azure.com/.default");
    assert.equal(
      armScope("https://management.usgovcloudapi.net"),
      "https://management.usgovcloudapi.net/.default",
    );
    assert.equal(isMicrosoftAuthority("https://login.microsoftonline.com"), true);
    assert.equal(isMicrosoftAuthority("https://127.0.0.1:8443"), false);
  });
});
