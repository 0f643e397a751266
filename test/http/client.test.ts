import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { FakeServer } from "../fakes/server.js";
import { NodeHttpClient, readAll, redactUrl } from "../../src/http/client.js";
import { backoffDelay, parseRetryAfter, withRetry } from "../../src/http/retry.js";
import { ContrailError } from "../../src/errors.js";

let server: FakeServer;
let base: string;
const client = (o: Partial<ConstructorParameters<typeof NodeHttpClient>[0]> = {}) =>
  new NodeHttpClient({
    connectTimeout: 2000,
    stallTimeout: 300,
    retry: { attempts: 4, baseDelay: 5, maxDelay: 50 },
    ...o,
  });

before(async () => {
  server = new FakeServer();
  server.route("GET", "/doc", () => ({ headers: { "content-type": "application/json" }, body: '{"a":1}' }));
  server.route("GET", "/big", () => ({ body: Buffer.alloc(200_000, 97) }));
  server.route("GET", "/redirect", () => ({ status: 302, headers: { location: "/doc" } }));
  server.route("GET", "/away", () => ({ status: 302, headers: { location: `${other}/seen` } }));
  base = await server.listen();
  otherServer = new FakeServer();
  otherServer.route("GET", "/seen", (req) => ({
    body: JSON.stringify({ auth: req.headers.authorization ?? null }),
  }));
  other = (await otherServer.listen()).replace("127.0.0.1", "localhost");
});
let otherServer: FakeServer;
let other: string;
after(async () => {
  await server.close();
  await otherServer.close();
});

test("429 with Retry-After is retried after the requested wait", async () => {
  server.fault({ path: "/doc" }, { kind: "status", status: 429, headers: { "retry-after": "1" } });
  const t0 = Date.now();
  const doc = await client().getJson<{ a: number }>(`${base}/doc`, { signal: AbortSignal.timeout(10_000) });
  assert.deepEqual(doc, { a: 1 });
  assert.ok(Date.now() - t0 >= 950, "waited for Retry-After");
});

test("503s and resets are retried; 404 is not", async () => {
  server.fault({ path: "/doc" }, { kind: "status", status: 503 }, 2);
  server.fault({ path: "/doc" }, { kind: "reset", afterBytes: 0 }, 1);
  const before = server.requestsTo("/doc").length;
  assert.deepEqual(await client().getJson(`${base}/doc`, { signal: AbortSignal.timeout(10_000) }), { a: 1 });
  assert.equal(server.requestsTo("/doc").length - before, 4);
  server.fault({ path: "/doc" }, { kind: "status", status: 404, body: "nope" }, 5);
  await assert.rejects(
    client().getJson(`${base}/doc`, { signal: AbortSignal.timeout(10_000) }),
    (e: ContrailError) => {
      assert.equal(e.status, 404);
      assert.equal(e.retryable, false);
      return true;
    },
  );
  server.clearFaults();
});

test("after the last attempt the error says what happened", async () => {
  server.fault({ path: "/doc" }, { kind: "status", status: 500, body: "<html>boom</html>" }, 10);
  await assert.rejects(
    client().getJson(`${base}/doc`, { signal: AbortSignal.timeout(10_000) }),
    /HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/doc: <html>boom/,
  );
  server.clearFaults();
});

test("a stalled body fails with HTTP_STALLED; a truncated one with HTTP_TRUNCATED", async () => {
  server.fault({ path: "/big" }, { kind: "stall", afterBytes: 1000 });
  let res = await client().request({ url: `${base}/big`, signal: AbortSignal.timeout(10_000) });
  await assert.rejects(
    readAll(res.body, 1e7, "x"),
    (e: ContrailError) => e.code === "HTTP_STALLED" && e.retryable,
  );
  server.fault({ path: "/big" }, { kind: "truncate", afterBytes: 1000 });
  res = await client().request({ url: `${base}/big`, signal: AbortSignal.timeout(10_000) });
  await assert.rejects(
    readAll(res.body, 1e7, "x"),
    (e: ContrailError) => e.code === "HTTP_TRUNCATED" && e.retryable,
  );
});

test("an HTML page with status 200 is an upstream error, retried", async () => {
  server.fault({ path: "/doc" }, { kind: "html200" }, 1);
  assert.deepEqual(await client().getJson(`${base}/doc`, { signal: AbortSignal.timeout(10_000) }), { a: 1 });
});

test("abort cancels a request in flight, also during a retry wait", async () => {
  server.fault({ path: "/doc" }, { kind: "delay", ms: 2000 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const t0 = Date.now();
  await assert.rejects(
    client().getJson(`${base}/doc`, { signal: ac.signal }),
    (e: ContrailError) => e.code === "ABORTED",
  );
  assert.ok(Date.now() - t0 < 1000);
  server.clearFaults();
});

test("redirects: followed on request; Authorization never goes to another origin", async () => {
  assert.deepEqual(await client().getJson(`${base}/redirect`, { signal: AbortSignal.timeout(5000) }), {
    a: 1,
  });
  const r = await client().getJson<{ auth: string | null }>(`${base}/away`, {
    signal: AbortSignal.timeout(5000),
    headers: { authorization: "Bearer secret-token" },
  });
  assert.equal(r.auth, null);
});

test("retry policy: exponential with jitter, capped, server hints honoured", () => {
  const policy = { attempts: 5, baseDelay: 1000, maxDelay: 8000 };
  assert.equal(
    backoffDelay(1, policy, undefined, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(3, policy, undefined, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(10, policy, undefined, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(3, policy, undefined, () => 0),
    2000,
  );
  assert.equal(
    backoffDelay(1, policy, 30_000, () => 1),
    30_000,
  );
  assert.equal(parseRetryAfter({ "retry-after": "7" }), 7000);
  assert.equal(
    parseRetryAfter({ "retry-after": new Date(Date.now() + 5000).toUTCString() }, Date.now())! > 3000,
    true,
  );
  assert.equal(parseRetryAfter({ "x-ms-ratelimit-retailprices-retry-after": "3" }), 3000);
  assert.equal(parseRetryAfter({ "x-amz-retry-after": "1500" }), 1500);
  assert.equal(parseRetryAfter({}), undefined);
});

test("withRetry stops at non-retryable errors and after the last attempt", async () => {
  let n = 0;
  await assert.rejects(
    withRetry(
      async () => {
        n++;
        throw new ContrailError("INVALID_SHAPE", "bad");
      },
      { policy: { attempts: 5, baseDelay: 1, maxDelay: 1 }, signal: new AbortController().signal },
    ),
  );
  assert.equal(n, 1);
  n = 0;
  await assert.rejects(
    withRetry(
      async () => {
        n++;
        throw new ContrailError("HTTP_NETWORK", "reset", { retryable: true });
      },
      { policy: { attempts: 3, baseDelay: 1, maxDelay: 1 }, signal: new AbortController().signal },
    ),
  );
  assert.equal(n, 3);
});

test("URLs in messages never carry signatures or keys", () => {
  assert.equal(
    redactUrl("https://ratecard.blob.core.windows.net/x/y.json?sv=2020&sig=abc%2Fdef&se=2026"),
    "https://ratecard.blob.core.windows.net/x/y.json?sv=REDACTED&sig=REDACTED&se=REDACTED",
  );
  assert.equal(
    redactUrl("https://prices.azure.com/api/retail/prices?$skip=100"),
    "https://prices.azure.com/api/retail/prices?$skip=100",
  );
});
