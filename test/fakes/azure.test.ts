// The fake Azure cloud, driven by the real @azure/identity and by fetch.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/fakes/azure.test.ts
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClientSecretCredential } from "@azure/identity";
import {
  FakeRetail,
  expectedCapabilities,
  startFakeAzure,
  type ResourceSku,
  type RetailItem,
} from "./azure.js";

const SCOPE = "https://management.azure.com/.default";
const RATECARD_QUERY =
  "api-version=2016-08-31-preview&$filter=" +
  encodeURIComponent(
    "OfferDurableId eq 'MS-AZR-0003P' and Currency eq 'USD' and Locale eq 'en-US' and RegionInfo eq 'US'",
  );

describe("fake Azure", () => {
  let az: Awaited<ReturnType<typeof startFakeAzure>>;
  let token = "";
  const credential = (secret: string) =>
    new ClientSecretCredential(az.entra.tenantId, az.entra.clientId, secret, {
      authorityHost: az.entra.baseUrl,
      disableInstanceDiscovery: true,
    });

  before(async () => {
    az = await startFakeAzure({ arm: { skus: 30 }, retail: { pageSize: 7, items: 30 } });
  });
  after(() => az.close());

  describe("Entra ID", () => {
    it("issues a token to @azure/identity's ClientSecretCredential", async () => {
      const cred = credential(az.entra.clientSecret);
      const t = await cred.getToken(SCOPE);
      assert.ok(t);
      token = t.token;
      assert.equal(az.entra.issuedTokens.at(-1)?.token, t.token);
      assert.equal(az.entra.issuedTokens.at(-1)?.audience, SCOPE);
      assert.ok(Math.abs(t.expiresOnTimestamp - (Date.now() + 3599_000)) < 10_000);
      assert.equal((await cred.getToken(SCOPE))?.token, t.token, "cached by MSAL");
      assert.deepEqual(
        az.entra.server.requests.map((r) => `${r.method} ${r.path}`),
        [
          `GET /${az.entra.tenantId}/v2.0/.well-known/openid-configuration`,
          `POST /${az.entra.tenantId}/oauth2/v2.0/token`,
        ],
      );
      const req = az.entra.tokenRequests[0]!;
      assert.equal(req.params.grant_type, "client_credentials");
      assert.equal(req.params.scope, SCOPE);
      assert.ok(req.params["x-client-SKU"], "MSAL's extra params are accepted");
    });

    it("renews tokens shorter-lived than MSAL's 5-minute margin", async () => {
      az.entra.expiresIn = 120;
      try {
        const cred = credential(az.entra.clientSecret);
        const a = await cred.getToken(SCOPE);
        const b = await cred.getToken(SCOPE);
        assert.notEqual(a?.token, b?.token);
        assert.ok(Math.abs(b!.expiresOnTimestamp - (Date.now() + 120_000)) < 10_000);
      } finally {
        az.entra.expiresIn = 3599;
      }
    });

    it("refuses a wrong secret with AADSTS7000215, without echoing the secret", async () => {
      const secret = "wrong~Secret~3f9a1c77e2";
      const err = await credential(secret)
        .getToken(SCOPE)
        .then(
          () => assert.fail("expected an error"),
          (e: Error) => e,
        );
      const text = `${String(err)}\n${err.stack ?? ""}\n${JSON.stringify(err)}`;
      assert.match(err.message, /AADSTS7000215/);
      assert.ok(!text.includes(secret));
      assert.equal(az.entra.tokenRequests.at(-1)?.status, 401);
    });

    it("answers the AADSTS error shape and the v1 endpoint", async () => {
      const form = (extra: Record<string, string>) =>
        new URLSearchParams({
          grant_type: "client_credentials",
          client_id: az.entra.clientId,
          client_secret: az.entra.clientSecret,
          ...extra,
        }).toString();
      const post = (path: string, body: string) =>
        fetch(`${az.entra.baseUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body,
        });
      const unknown = await post("/no-such-tenant/oauth2/v2.0/token", form({ scope: SCOPE }));
      assert.equal(unknown.status, 400);
      const e = (await unknown.json()) as Record<string, unknown>;
      assert.equal(e.error, "invalid_request");
      assert.deepEqual(e.error_codes, [90002]);
      assert.match(
        String(e.error_description),
        /^AADSTS90002: .* Trace ID: [0-9a-f-]{36} Correlation ID: [0-9a-f-]{36} Timestamp: /,
      );
      for (const k of ["timestamp", "trace_id", "correlation_id", "error_uri"]) assert.ok(k in e, k);
      const v1 = await post(
        `/${az.entra.tenantId}/oauth2/token`,
        form({ resource: "https://management.azure.com/" }),
      );
      const body = (await v1.json()) as Record<string, unknown>;
      assert.equal(v1.status, 200);
      for (const k of [
        "expires_in",
        "ext_expires_in",
        "expires_on",
        "not_before",
        "resource",
        "access_token",
      ]) {
        assert.equal(typeof body[k], "string", k);
      }
      assert.equal(body.expires_in, "3599");
      assert.equal(body.token_type, "Bearer");
    });
  });

  describe("Resource Manager", () => {
    const arm = (path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
      fetch(`${az.arm.baseUrl}${path}`, { headers, redirect: "manual" });
    const rateCardPath = () =>
      `/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Commerce/RateCard?${RATECARD_QUERY}`;

    it("requires a bearer token issued by the fake Entra", async () => {
      const none = await arm(rateCardPath(), {});
      assert.equal(none.status, 401);
      assert.deepEqual(await none.json(), {
        error: {
          code: "AuthenticationFailed",
          message: "Authentication failed. The 'Authorization' header is missing.",
        },
      });
      const forged = await arm(rateCardPath(), { authorization: "Bearer not-a-token" });
      assert.equal(forged.status, 401);
      assert.equal(
        ((await forged.json()) as { error: { code: string } }).error.code,
        "InvalidAuthenticationToken",
      );
    });

    it("redirects the RateCard (302) to a blob on another origin that refuses Authorization", async () => {
      const res = await arm(rateCardPath());
      assert.equal(res.status, 302);
      const location = res.headers.get("location")!;
      assert.equal(new URL(location).origin, az.arm.blob.baseUrl);
      assert.notEqual(new URL(location).origin, az.arm.baseUrl);
      assert.match(location, /\?sv=[^&]+&sr=b&sig=[^&]+&st=[^&]+&se=[^&]+&sp=r$/);

      const withAuth = await fetch(location, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(withAuth.status, 403);
      assert.match(withAuth.headers.get("content-type")!, /xml/);
      assert.match(await withAuth.text(), /<Error><Code>AuthenticationFailed<\/Code><Message>/);

      const plain = await fetch(location);
      assert.equal(plain.status, 200);
      const bytes = Buffer.from(await plain.arrayBuffer());
      assert.ok(bytes.equals(az.arm.rateCardBytes()));
      const card = JSON.parse(bytes.toString()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(card), ["OfferTerms", "Meters", "Currency", "Locale", "IsTaxIncluded"]);
      assert.equal((card.Meters as unknown[]).length, 200);

      const seen = az.arm.blob.requests.map((r) => r.headers.authorization);
      assert.deepEqual(seen, [`Bearer ${token}`, undefined]);
      const forged = await fetch(location.replace(/sig=[^&]+/, "sig=forged"));
      assert.equal(forged.status, 403);
    });

    it("validates the RateCard filter", async () => {
      for (const filter of [
        "OfferDurableId eq 'MS-AZR-0003P' and Currency eq 'USD' and Locale eq 'en-US'",
        "OfferDurableId eq 'MS-AZR-0003P' and Currency eq 'EUR' and Locale eq 'en-US' and RegionInfo eq 'US'",
        "OfferDurableId eq 'bogus' and Currency eq 'USD' and Locale eq 'en-US' and RegionInfo eq 'US'",
      ]) {
        const res = await arm(
          `/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Commerce/RateCard?api-version=2016-08-31-preview&$filter=${encodeURIComponent(filter)}`,
        );
        assert.equal(res.status, 400, filter);
        assert.match(((await res.json()) as { Message: string }).Message, /^Invalid query specified\./);
      }
      const noVersion = await arm(
        `/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Commerce/RateCard`,
      );
      assert.equal(noVersion.status, 400);
    });

    it("lists SKUs over two pages via an absolute nextLink", async () => {
      const first = await arm(
        `/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Compute/skus?api-version=2021-07-01`,
      );
      assert.equal(first.status, 200);
      const p1 = (await first.json()) as { value: ResourceSku[]; nextLink?: string };
      assert.ok(
        p1.nextLink?.startsWith(
          `${az.arm.baseUrl}/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Compute/skus?api-version=2021-07-01&$skiptoken=`,
        ),
      );
      const second = await fetch(p1.nextLink!, { headers: { authorization: `Bearer ${token}` } });
      const p2 = (await second.json()) as { value: ResourceSku[]; nextLink?: string };
      assert.ok(!("nextLink" in p2));
      const all = [...p1.value, ...p2.value];
      assert.deepEqual(all, az.arm.allSkus());
      assert.ok(p1.value.length > 0 && p2.value.length > 0);
      assert.deepEqual([...new Set(all.map((s) => s.resourceType))].sort(), [
        "availabilitySets",
        "disks",
        "virtualMachines",
      ]);
      const d2 = all.filter((s) => s.name === "Standard_F2");
      assert.ok(new Set(d2.map((s) => s.locations[0])).size > 1, "one VM size in several locations");
      assert.ok(all.every((s) => (s.capabilities ?? []).every((c) => typeof c.value === "string")));
      const caps = expectedCapabilities(all);
      assert.equal(caps["F2s v2"]?.vCPUs, "2");
    });

    it("throttles with 429, Retry-After and the remaining-reads header", async () => {
      az.arm.throttle(1, { retryAfter: 7 });
      const res = await arm(
        `/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Compute/skus?api-version=2021-07-01`,
      );
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "7");
      assert.equal(res.headers.get("x-ms-ratelimit-remaining-subscription-reads"), "0");
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        "SubscriptionRequestsThrottled",
      );
      const again = await arm(
        `/subscriptions/${az.arm.subscriptionId}/providers/Microsoft.Compute/skus?api-version=2021-07-01`,
      );
      assert.equal(again.status, 200);
      assert.ok(Number(again.headers.get("x-ms-ratelimit-remaining-subscription-reads")) > 0);
    });

    it("rejects expired tokens", async () => {
      az.entra.expireAll();
      const res = await arm(rateCardPath());
      assert.equal(res.status, 401);
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        "ExpiredAuthenticationToken",
      );
      token = (await credential(az.entra.clientSecret).getToken(SCOPE))!.token;
      assert.equal((await arm(rateCardPath())).status, 302);
    });
  });

  describe("Retail Prices", () => {
    type Page = {
      BillingCurrency: string;
      CustomerEntityId: string;
      CustomerEntityType: string;
      Items: RetailItem[];
      NextPageLink: string | null;
      Count: number;
    };

    async function crawl(first: string): Promise<{ pages: Page[]; links: string[] }> {
      const pages: Page[] = [];
      const links: string[] = [];
      for (let url: string | null = first; url;) {
        links.push(url);
        const res: Response = await fetch(url);
        assert.equal(res.status, 200);
        const page = (await res.json()) as Page;
        pages.push(page);
        url = page.NextPageLink;
      }
      return { pages, links };
    }

    it("chains pages with absolute NextPageLinks to a null at the end", async () => {
      const { pages, links } = await crawl(
        `${az.retail.baseUrl}/api/retail/prices?api-version=2023-01-01-preview`,
      );
      assert.deepEqual(
        pages.map((p) => p.Count),
        [7, 7, 7, 7, 2],
      );
      assert.deepEqual(
        pages.map((p) => p.Items.length),
        [7, 7, 7, 7, 2],
      );
      assert.equal(pages.at(-1)!.NextPageLink, null);
      assert.equal(links[1], `${az.retail.baseUrl}/api/retail/prices?api-version=2023-01-01-preview&$skip=7`);
      assert.match(links[1]!, /^https:\/\/127\.0\.0\.1:\d+\//);
      assert.deepEqual(
        pages.flatMap((p) => p.Items),
        az.retail.allItems(),
      );
      assert.deepEqual(Object.keys(pages[0]!), [
        "BillingCurrency",
        "CustomerEntityId",
        "CustomerEntityType",
        "Items",
        "NextPageLink",
        "Count",
      ]);
      assert.deepEqual(
        [pages[0]!.BillingCurrency, pages[0]!.CustomerEntityId, pages[0]!.CustomerEntityType],
        ["USD", "Default", "Retail"],
      );
      const item = pages[0]!.Items[0]!;
      assert.equal(typeof item.retailPrice, "number");
      assert.ok("armSkuName" in item && "meterId" in item && "availabilityId" in item);
    });

    it("filters, keeps params in links, ignores unknown params and refuses not()", async () => {
      const filter = encodeURIComponent(
        "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' or serviceName eq 'Storage'",
      );
      const { pages, links } = await crawl(
        `${az.retail.baseUrl}/api/retail/prices?$filter=${filter}&bogus=1`,
      );
      const want = az.retail
        .allItems()
        .filter(
          (i) =>
            (i.serviceName === "Virtual Machines" && i.type === "Consumption") || i.serviceName === "Storage",
        );
      assert.ok(want.length > 7 && want.length < 30, String(want.length));
      assert.deepEqual(
        pages.flatMap((p) => p.Items),
        want,
      );
      // fetch sends ' as %27 (WHATWG special-query encoding); the link keeps the params as they arrived.
      assert.equal(
        links[1],
        `${az.retail.baseUrl}/api/retail/prices?$filter=${filter.replace(/'/g, "%27")}&bogus=1&$skip=7`,
      );
      const bad = await fetch(
        `${az.retail.baseUrl}/api/retail/prices?$filter=${encodeURIComponent("not(serviceName eq 'Storage')")}`,
      );
      assert.equal(bad.status, 400);
    });

    it("throttles with 429 and Retry-After and/or the Retail header", async () => {
      az.retail.throttle(1, { retryAfter: 3 });
      az.retail.throttle(1, { retryAfter: null, msHeader: 5 });
      const a = await fetch(`${az.retail.baseUrl}/api/retail/prices`);
      assert.equal(a.status, 429);
      assert.equal(a.headers.get("retry-after"), "3");
      assert.equal(a.headers.get("x-ms-ratelimit-retailprices-retry-after"), null);
      const b = await fetch(`${az.retail.baseUrl}/api/retail/prices`);
      assert.equal(b.status, 429);
      assert.equal(b.headers.get("retry-after"), null);
      assert.equal(b.headers.get("x-ms-ratelimit-retailPrices-retry-after"), "5");
      assert.equal((await fetch(`${az.retail.baseUrl}/api/retail/prices`)).status, 200);
    });

    it("serves plain HTTP with latency for benchmarks", async () => {
      const retail = new FakeRetail({ tls: false, pageSize: 1000, items: 2000, latencyMs: 50 });
      const base = await retail.start();
      try {
        assert.match(base, /^http:\/\//);
        const t0 = Date.now();
        const { pages } = await crawl(`${base}/api/retail/prices`);
        assert.deepEqual(
          pages.map((p) => p.Count),
          [1000, 1000],
        );
        assert.ok(Date.now() - t0 >= 100);
        retail.emptyFinalPage = true;
        assert.deepEqual(
          (await crawl(`${base}/api/retail/prices`)).pages.map((p) => p.Count),
          [1000, 1000, 0],
        );
        assert.equal(retail.pageCount(), 3);
      } finally {
        await retail.close();
      }
    });
  });
});
