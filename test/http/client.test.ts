import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { FakeServer } from "../fakes/server.js";
import { NodeHttpClient, readAll, redactUrl } from "../../src/http/client.js";
import { backoffDelay, parseRetryAfter, withRetry } from "../../src/http/retry.js";
import { once } from "node:events";
import { gzipSync } from "node:zlib";
import { alreadyRetried, ContrailError } from "../../src/errors.js";
import type { DownloadProgress } from "../../src/types.js";

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
  server.route("GET", "/huge", () => ({ body: Buffer.alloc(8_000_000, 98) }));
  server.route("GET", "/gz", () => ({
    headers: { "content-type": "application/json", "content-encoding": "gzip" },
    body: gzipSync(JSON.stringify({ zipped: "x".repeat(50_000) })),
  }));
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

test("after the last attempt the error says what happened, and that it was retried", async () => {
  server.fault({ path: "/doc" }, { kind: "status", status: 500, body: "<html>boom</html>" }, 10);
  await assert.rejects(
    client().request({ url: `${base}/doc`, signal: AbortSignal.timeout(10_000) }),
    (e: ContrailError) => {
      assert.match(e.message, /HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/doc: <html>boom/);
      assert.equal(e.attempts, 4);
      assert.ok(alreadyRetried(e), "no layer above retries it again");
      return true;
    },
  );
  server.clearFaults();
});

test("a status the request names in retryOn is retried (e.g. a 404 that is a publication race)", async () => {
  server.fault({ path: "/doc" }, { kind: "status", status: 404, body: "NoSuchKey" }, 2);
  const before = server.requestsTo("/doc").length;
  const res = await client().request({
    url: `${base}/doc`,
    signal: AbortSignal.timeout(10_000),
    retryOn: [404],
  });
  assert.equal(res.status, 200);
  assert.equal(await readAll(res.body, 1e6, "x"), '{"a":1}');
  assert.equal(server.requestsTo("/doc").length - before, 3);
});

test("no headers within the connect timeout: HTTP_TIMEOUT, retried", async () => {
  server.fault({ path: "/doc" }, { kind: "delay", ms: 1500 }, 1);
  const before = server.requestsTo("/doc").length;
  const t0 = Date.now();
  const doc = await client({ connectTimeout: 200 }).getJson(`${base}/doc`, {
    signal: AbortSignal.timeout(10_000),
  });
  assert.deepEqual(doc, { a: 1 });
  assert.ok(Date.now() - t0 < 1200, `gave up on the silent server after its timeout (${Date.now() - t0} ms)`);
  assert.equal(server.requestsTo("/doc").length - before, 2);
  server.fault({ path: "/doc" }, { kind: "delay", ms: 1500 }, 10);
  await assert.rejects(
    client({ connectTimeout: 100, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } }).getJson(
      `${base}/doc`,
      {
        signal: AbortSignal.timeout(10_000),
      },
    ),
    (e: ContrailError) => e.code === "HTTP_TIMEOUT" && e.attempts === 2,
  );
  server.clearFaults();
});

test("progress: bytes, total and rate while the body flows, and one last report marked done", async () => {
  const seen: DownloadProgress[] = [];
  const c = client({ onProgress: (p) => seen.push(p), progressInterval: 0 });
  const res = await c.request({
    url: `${base}/big`,
    signal: AbortSignal.timeout(10_000),
    label: "eu-west-1",
  });
  assert.equal((await readAll(res.body, 1e7, "x")).length, 200_000);
  assert.ok(seen.length >= 2, `reports while the body flowed (${seen.length})`);
  const last = seen.at(-1)!;
  assert.deepEqual(
    { ...last, bytesPerSecond: 0 },
    { label: "eu-west-1", url: `${base}/big`, bytes: 200_000, total: 200_000, bytesPerSecond: 0, done: true },
  );
  assert.ok(last.bytesPerSecond > 0);
  assert.equal(seen.filter((p) => p.done).length, 1);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytes >= seen[i - 1]!.bytes, "bytes only grow");
});

test("progress: a body that fails ends with a done report of the bytes it got", async () => {
  const seen: DownloadProgress[] = [];
  server.fault({ path: "/big" }, { kind: "truncate", afterBytes: 5000 });
  const res = await client({ onProgress: (p) => seen.push(p) }).request({
    url: `${base}/big`,
    signal: AbortSignal.timeout(10_000),
  });
  await assert.rejects(readAll(res.body, 1e7, "x"), /broke off after 5000 bytes/);
  assert.deepEqual(
    seen.filter((p) => p.done).map((p) => p.bytes),
    [5000],
  );
});

test("a gzip body is decoded; its progress has no total (Content-Length counts the compressed bytes)", async () => {
  const seen: DownloadProgress[] = [];
  const doc = await client({ onProgress: (p) => seen.push(p) }).getJson<{ zipped: string }>(`${base}/gz`, {
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(doc.zipped.length, 50_000);
  const last = seen.at(-1)!;
  assert.equal(last.done, true);
  assert.equal(last.total, undefined);
  assert.equal(last.bytes, JSON.stringify(doc).length);
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

test("a reader that is behind is not a stall: the stall timeout counts only the server's silence", async () => {
  const res = await client({ stallTimeout: 200 }).request({
    url: `${base}/huge`,
    signal: AbortSignal.timeout(10_000),
  });
  await once(res.body, "readable");
  const first = res.body.read() as Buffer;
  await new Promise((r) => setTimeout(r, 800)); // buffers fill; the server waits for us
  assert.equal(first.length + (await readAll(res.body, 1e8, "x")).length, 8_000_000);
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

test("abort in the middle of a body: the body fails with ABORTED at once", async () => {
  server.fault({ path: "/big" }, { kind: "stall", afterBytes: 1000, ms: 5000 });
  const ac = new AbortController();
  const res = await client({ stallTimeout: 10_000 }).request({ url: `${base}/big`, signal: ac.signal });
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(readAll(res.body, 1e7, "x"), (e: ContrailError) => e.code === "ABORTED");
  assert.ok(Date.now() - t0 < 1000);
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
