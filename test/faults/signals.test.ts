// Fault suite, signals (SPEC §5 Atomic, §6): SIGTERM during a capture aborts it, leaves nothing and exits 0 within
// 10 s; a second signal exits at once; SIGKILL leaves debris that the next start cleans up or makes harmless.
//
// To stop the crawler at a known point, the offer file stalls part-way (the crawler's stall timeout is 60 s here,
// so it waits): locally, the capture's temp file then exists; on S3, its multipart upload is open with a part
// stored. The S3 scenarios use an offer file of random text (gzip barely shrinks it), so that 20 MB of download
// make parts of 8 MiB; a generated offer stream would need ten times as much, gzip squeezes it about 24:1.
//
// After SIGKILL on S3 the killed upload stays open: the crawler that owned it is gone, and a restart aborts only
// uploads older than an hour (`S3Lake.cleanup()`, at every start), since a younger one may belong to another live
// replica. Until then it is harmless: parts are invisible, no object appears under the key, `ls` and `verify` do
// not see it. It costs only its parts' storage. For uploads no restart ever cleans (the crawler never started again,
// or its credentials lack s3:ListBucketMultipartUploads or s3:AbortMultipartUpload), give the bucket a lifecycle rule:
//
//   { "Rules": [{ "ID": "abort-incomplete-multipart-uploads", "Status": "Enabled", "Filter": {},
//                 "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 } }] }
//
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/signals.test.ts
import { describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { collect, filesUnder, startCli, waitFor } from "../helpers.js";
import type { ProductInput } from "../fakes/aws-pricing.js";
import { S3Lake } from "../../src/lake/s3.js";
import { REGION, bulkyProducts, checkContent, useHarness, type Fakes, type LakeHandle } from "./harness.js";

const EC2 = REGION.AmazonEC2;
/** An AmazonEC2 region of 20 MB random text: about 15 MB stored, in parts of 8 MiB. */
const BIG = "ap-south-1";
const STALL_AT = 16e6;
const HOLD = { http: { stallTimeout: "60s" } };
const GRACE_MS = 10_000;

let bulky: ProductInput[] | undefined;
const addBig = (f: Fakes) =>
  f.pricing.setRegion(BIG, { version: "20261101000000", products: (bulky ??= bulkyProducts(20)) });

const crawl = (cwd: string, env: NodeJS.ProcessEnv, lake: LakeHandle) =>
  startCli(["crawl", "--once", "--source", "AmazonEC2", "--lake", lake.url], { cwd, env });

const tempFiles = (lake: LakeHandle) => filesUnder(join(lake.dir!, "_contrail/tmp"));
const keysOf = async (lake: LakeHandle, region: string) =>
  (await lake.keys()).filter(
    (k) =>
      k.startsWith(`AmazonEC2/${region}/`) ||
      (k.includes(`/AmazonEC2/${region}/`) && !k.startsWith("_contrail/leases/")),
  );
const partsStored = (f: Fakes) =>
  f.s3.proxy
    .requestsFor("UploadPart")
    .filter((r) => r.key?.includes(`/AmazonEC2/${BIG}/`) && r.status === 200);

/**
 * `S3Lake.cleanup()` (what every start runs) with this process's clock an hour and a minute ahead, so that the
 * lake's open uploads count as stale. Returns the ids of the uploads it aborted.
 */
async function cleanupAnHourLater(f: Fakes, lake: LakeHandle): Promise<string[]> {
  const before = f.s3.proxy.requestsFor("AbortMultipartUpload").length;
  const s3 = new S3Lake({
    bucket: lake.bucket!,
    prefix: lake.prefix!,
    region: f.s3.region,
    endpoint: f.s3.endpoint,
    forcePathStyle: true,
    credentials: { ...f.s3.credentials },
  });
  const realNow = Date.now.bind(Date);
  const clock = mock.method(Date, "now", () => realNow() + 61 * 60_000);
  try {
    await s3.cleanup();
  } finally {
    clock.mock.restore();
    await s3.close();
  }
  assert.deepEqual(await lake.partial(), [], "no open multipart upload after cleanup()");
  return f.s3.proxy
    .requestsFor("AbortMultipartUpload")
    .slice(before)
    .filter((q) => q.status === 204)
    .map((q) => q.query.uploadId!);
}

/** Sends `signal` and resolves with the exit and how long after the signal it came. */
async function stop(child: ChildProcess, done: ReturnType<typeof collect>, signal: NodeJS.Signals) {
  const t0 = Date.now();
  child.kill(signal);
  const r = await done;
  return { r, ms: Date.now() - t0 };
}

describe("fault: signals during a capture", () => {
  const h = useHarness("signals");

  test("AmazonEC2, local lake: SIGTERM mid-download → exit 0 within 10 s, nothing under the key, no temp file", async () => {
    const { lake, cwd, env } = h.prepare("local", HOLD);
    const f = h.fakes;
    f.pricing.server.fault({ path: f.pricing.offerPath(EC2) }, { kind: "stall", afterBytes: 1_500 });
    try {
      const child = crawl(cwd, env, lake);
      const done = collect(child);
      await waitFor(
        "the capture's temp file",
        () => tempFiles(lake).length > 0 && f.pricing.offerRequests(EC2).length > 0,
      );
      const { r, ms } = await stop(child, done, "SIGTERM");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(ms < GRACE_MS, `exited ${ms} ms after SIGTERM`);
      assert.deepEqual(await keysOf(lake, EC2), [], "nothing under the key");
      assert.deepEqual(tempFiles(lake), [], "no temp file");
    } finally {
      h.clearFaults();
    }
    await h.checkLake(lake, cwd, env, { cli: true });
  });

  test(`AmazonEC2 ${BIG}, s3 lake: SIGTERM mid-upload → exit 0 within 10 s, nothing under the key, upload aborted`, async () => {
    const { lake, cwd, env } = h.prepare("s3", HOLD);
    const f = h.fakes;
    addBig(f);
    f.pricing.server.fault({ path: f.pricing.offerPath(BIG) }, { kind: "stall", afterBytes: STALL_AT });
    const parts = partsStored(f).length;
    const aborts = f.s3.proxy.requestsFor("AbortMultipartUpload").length;
    try {
      const child = crawl(cwd, env, lake);
      const done = collect(child);
      await waitFor("a stored part of the multipart upload", () => partsStored(f).length > parts);
      assert.equal(
        f.s3.proxy.openUploads().filter((u) => u.key.startsWith(lake.prefix!)).length,
        1,
        "an open upload",
      );
      const { r, ms } = await stop(child, done, "SIGTERM");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(ms < GRACE_MS, `exited ${ms} ms after SIGTERM`);
      assert.deepEqual(await keysOf(lake, BIG), [], "nothing under the key");
      assert.deepEqual(await lake.partial(), [], "no open multipart upload");
      assert.ok(f.s3.proxy.requestsFor("AbortMultipartUpload").length > aborts, "the upload was aborted");
    } finally {
      h.clearFaults();
      f.pricing.removeRegion(BIG);
    }
    await h.checkLake(lake, cwd, env, { cli: true });
  });

  test(`AmazonEC2 ${BIG}, s3 lake: a second signal while the first one's cleanup hangs → exits at once; the upload is left as after SIGKILL`, async () => {
    const { lake, cwd, env } = h.prepare("s3", HOLD);
    const f = h.fakes;
    addBig(f);
    f.pricing.server.fault({ path: f.pricing.offerPath(BIG) }, { kind: "stall", afterBytes: STALL_AT });
    // The first signal's shutdown waits for S3 to abort the upload, and S3 takes its time to answer.
    f.s3.proxy.fault({ op: "AbortMultipartUpload" }, { kind: "delay", ms: 5_000 });
    const parts = partsStored(f).length;
    const aborts = f.s3.proxy.requestsFor("AbortMultipartUpload").length;
    try {
      const child = crawl(cwd, env, lake);
      const done = collect(child);
      await waitFor("a stored part of the multipart upload", () => partsStored(f).length > parts);
      child.kill("SIGTERM");
      await waitFor(
        "the abort to reach S3",
        () => f.s3.proxy.requestsFor("AbortMultipartUpload").length > aborts,
      );
      const { r, ms } = await stop(child, done, "SIGINT");
      assert.ok(ms < 1_500, `exited ${ms} ms after the second signal`);
      assert.equal(r.code, 130, `exit code ${r.code}: ${r.stderr}`);
      assert.deepEqual(await keysOf(lake, BIG), [], "nothing under the key");
    } finally {
      h.clearFaults();
      f.pricing.removeRegion(BIG);
    }
    // Exiting at once, it did not wait for the abort: the upload is debris as after SIGKILL (whether S3 still
    // carries out an abort whose caller has gone is up to S3; this fake drops it). Stale-upload cleanup handles it.
    await cleanupAnHourLater(h.fakes, lake);
    await h.checkLake(lake, cwd, env, { cli: true });
  });

  test("AmazonEC2, local lake: SIGKILL mid-download leaves a temp file; the restart removes it and captures", async () => {
    const { lake, cwd, env } = h.prepare("local", HOLD);
    const f = h.fakes;
    f.pricing.server.fault({ path: f.pricing.offerPath(EC2) }, { kind: "stall", afterBytes: 1_500 });
    let pid: number | undefined;
    try {
      const child = crawl(cwd, env, lake);
      pid = child.pid;
      const done = collect(child);
      await waitFor(
        "the capture's temp file",
        () => tempFiles(lake).length > 0 && f.pricing.offerRequests(EC2).length > 0,
      );
      const { r } = await stop(child, done, "SIGKILL");
      assert.equal(r.signal, "SIGKILL");
    } finally {
      h.clearFaults();
    }
    const debris = tempFiles(lake);
    assert.equal(debris.length, 1, `the killed process's temp file: ${debris.join(", ")}`);
    assert.match(debris[0]!, new RegExp(`^${pid}-[0-9a-f]+\\.tmp$`));
    assert.deepEqual(await keysOf(lake, EC2), [], "nothing under the key");

    const restart = await collect(crawl(cwd, env, lake));
    assert.equal(restart.code, 0, restart.stderr);
    assert.deepEqual(tempFiles(lake), [], "the restart removed the dead process's temp file");
    const [key] = (await keysOf(lake, EC2)).filter((k) => k.endsWith(".json.gz"));
    assert.ok(key, "the restart's capture");
    const manifest = JSON.parse(
      (await lake.read(`_contrail/manifests/${key.replace(/\.gz$/, "")}`)).toString("utf8"),
    );
    checkContent("AmazonEC2", EC2, gunzipSync(await lake.read(key)), manifest, f);
    await h.checkLake(lake, cwd, env, { cli: true });
  });

  test(`AmazonEC2 ${BIG}, s3 lake: SIGKILL mid-upload leaves the upload open but invisible; a restart is unharmed; cleanup() aborts it once it is an hour old`, async () => {
    const { lake, cwd, env } = h.prepare("s3", HOLD);
    const f = h.fakes;
    addBig(f);
    f.pricing.server.fault({ path: f.pricing.offerPath(BIG) }, { kind: "stall", afterBytes: STALL_AT });
    const parts = partsStored(f).length;
    try {
      const child = crawl(cwd, env, lake);
      const done = collect(child);
      await waitFor("a stored part of the multipart upload", () => partsStored(f).length > parts);
      const { r } = await stop(child, done, "SIGKILL");
      assert.equal(r.signal, "SIGKILL");
    } finally {
      h.clearFaults();
      f.pricing.removeRegion(BIG);
    }
    const open = f.s3.proxy.openUploads().filter((u) => u.key.startsWith(lake.prefix!));
    assert.equal(open.length, 1, "the killed process's multipart upload is still open");
    const killed = open[0]!;
    assert.match(killed.key, new RegExp(`/AmazonEC2/${BIG}/`));
    assert.deepEqual(await keysOf(lake, BIG), [], "its parts are not an object: nothing under the key");

    // The restart: its start-up cleanup leaves an upload younger than an hour alone (it may be a live replica's).
    const restart = await collect(crawl(cwd, env, lake));
    assert.equal(restart.code, 0, restart.stderr);
    assert.ok(
      f.s3.proxy.requestsFor("ListMultipartUploads").some((q) => q.query.prefix === lake.prefix),
      "the restart looked for stale uploads",
    );
    assert.deepEqual(await lake.partial(), [`open multipart upload of ${killed.key} (${killed.uploadId})`]);
    assert.deepEqual(await keysOf(lake, BIG), [], "still nothing under the key");
    const verify = await collect(startCli(["verify", "--lake", lake.url], { cwd, env }));
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const ls = await collect(startCli(["ls", "--lake", lake.url], { cwd, env }));
    assert.equal(ls.code, 0, ls.stderr);
    assert.doesNotMatch(ls.stdout, new RegExp(BIG), "`ls` does not show it");

    // An hour later (the crawler's clock moved on: s3rver cannot backdate an upload), cleanup() aborts it.
    const aborted = await cleanupAnHourLater(f, lake);
    assert.deepEqual(aborted, [killed.uploadId], "cleanup() aborted the stale upload");
    await h.checkLake(lake, cwd, env, { cli: true });
  });
});
