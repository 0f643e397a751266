// Several crawlers on one lake (SPEC §6): every slot of every region is captured (or checked) exactly once, no
// capture is ever overwritten, a crawler killed mid-slot does not lose the slot, and overlapping `--once` runs never
// capture a region at the same time. The S3 proxy answers If-None-Match and If-Match the way S3 does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeAwsPricing } from "./fakes/aws-pricing.js";
import { startS3, type FakeS3 } from "./fakes/s3.js";
import {
  sleep,
  waitFor,
  cleanEnv,
  collect,
  filesUnder,
  startCli,
  tempDir,
  waitForOutput,
  writeConfig,
  type CliResult,
  onlySources,
} from "./helpers.js";
import { LocalLake } from "../src/lake/local.js";
import { leaseKey } from "../src/lake/leases.js";

const INTERVAL = 3000;

let aws: FakeAwsPricing;
let s3: FakeS3;
let pricingUrl: string;
before(async () => {
  aws = new FakeAwsPricing({ regions: ["us-east-1", "eu-west-1"], products: 10 });
  pricingUrl = await aws.start();
  s3 = await startS3({ buckets: ["shared"] });
});
after(async () => {
  await aws.close();
  await s3.stop();
});

test("two daemons on one bucket for several cycles: exactly one capture or check per region and slot", async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeConfig(dir, {
      lake: "s3://shared/prices",
      sources: onlySources({ AmazonEC2: { interval: "3s", regionDelay: "0s" } }),
    });
    const env = cleanEnv({
      CONTRAIL_AWS_PRICING_URL: pricingUrl,
      ...s3.env,
    });
    const a = startCli(["crawl"], { cwd: dir, env });
    const b = startCli(["crawl"], { cwd: dir, env });
    const done = [collect(a), collect(b)] as const;
    // Count slots from the moment both are up (start-up time varies with the machine's load).
    await Promise.all([a, b].map((c) => waitForOutput(c, "contrail crawler starting")));
    const started = Date.now();
    // A new version midway, so later slots hold captures as well as checks.
    await sleep(2 * INTERVAL);
    aws.bumpVersion("eu-west-1");
    await sleep(3 * INTERVAL);
    a.kill("SIGTERM");
    b.kill("SIGTERM");
    const [ra, rb] = await Promise.all(done);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);

    const keys = await s3.listKeys("prices/");
    const captures = keys.filter((k) => k.endsWith(".json.gz"));
    const records = keys.filter((k) => /_contrail\/(manifests|checks)\//.test(k));
    const perSlot = new Map<string, string[]>();
    for (const k of records) {
      const m = /_contrail\/(?:manifests|checks)\/AmazonEC2\/([^/]+)\/(.+)\.json$/.exec(k)!;
      const slot = Math.floor(Date.parse(m[2]!) / INTERVAL);
      const id = `${m[1]} ${slot}`;
      perSlot.set(id, [...(perSlot.get(id) ?? []), k]);
    }
    for (const [id, ks] of perSlot) assert.equal(ks.length, 1, `${id}: ${ks.join(", ")}`);
    const slotsSeen = new Set([...perSlot.keys()].map((id) => id.split(" ")[1]));
    const elapsedSlots = Math.floor((Date.now() - started) / INTERVAL);
    assert.ok(
      slotsSeen.size >= elapsedSlots - 2,
      `${slotsSeen.size} slots captured of about ${elapsedSlots}`,
    );
    // Every slot between the first and the one cut short by SIGTERM has a record for each region.
    const slots = [...slotsSeen].map(Number).sort((x, y) => x - y);
    for (let slot = slots[0]! + 1; slot < slots.at(-1)!; slot++) {
      for (const region of ["us-east-1", "eu-west-1"])
        assert.ok(perSlot.has(`${region} ${slot}`), `${region} slot ${slot}`);
    }
    assert.equal(
      captures.filter((k) => k.includes("/eu-west-1/")).length,
      2,
      "eu-west-1: first version and the new one",
    );
    // Both daemons did work: the leases were really contended, not won by one process every time.
    const logs = [...ra.logs, ...rb.logs];
    assert.ok(logs.some((l) => l.msg === "another crawler holds this unit; skipping"));
    assert.deepEqual(s3.proxy.openUploads(), []);
  } finally {
    cleanup();
  }
});

/** Keys of captures (objects and manifests) per region, from a listing of the lake. */
function capturesByRegion(keys: string[]): Map<string, { objects: string[]; manifests: string[] }> {
  const out = new Map<string, { objects: string[]; manifests: string[] }>();
  const entry = (region: string) =>
    out.get(region) ?? out.set(region, { objects: [], manifests: [] }).get(region)!;
  for (const k of keys) {
    const object = /(?:^|\/)AmazonEC2\/([^/]+)\/[^/]+\.json\.gz$/.exec(k);
    if (object) entry(object[1]!).objects.push(k);
    const manifest = /_contrail\/manifests\/AmazonEC2\/([^/]+)\/[^/]+\.json$/.exec(k);
    if (manifest) entry(manifest[1]!).manifests.push(k);
  }
  return out;
}

const onceConfig = (lake?: string) => ({
  ...(lake ? { lake } : {}),
  sources: onlySources({ AmazonEC2: { regionDelay: "0s" } }),
});

for (const kind of ["local", "s3"] as const) {
  test(`two overlapping \`crawl --once\` runs on one ${kind} lake store each region once`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const prefix = `once-${Date.now()}`;
      writeConfig(dir, onceConfig(kind === "s3" ? `s3://shared/${prefix}` : undefined));
      const env = cleanEnv({
        CONTRAIL_AWS_PRICING_URL: pricingUrl,
        // Each offer takes longer than a lease lasts: only renewal keeps the other run off it.
        CONTRAIL_LEASE_TTL: kind === "s3" ? "3s" : "2s",
        ...(kind === "s3" ? s3.env : {}),
      });
      aws.server.fault({ path: /\/(us-east-1|eu-west-1)\/index\.json$/ }, { kind: "delay", ms: 5000 }, 4);
      const runs: CliResult[] = await Promise.all([
        collect(startCli(["crawl", "--once"], { cwd: dir, env })),
        collect(startCli(["crawl", "--once"], { cwd: dir, env })),
      ]);
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const keys = kind === "s3" ? await s3.listKeys(`${prefix}/`) : filesUnder(join(dir, "lake"));
      const captures = capturesByRegion(keys);
      for (const region of ["us-east-1", "eu-west-1"]) {
        const c = captures.get(region);
        assert.equal(c?.objects.length, 1, `${region}: ${JSON.stringify(c)}`);
        assert.equal(c?.manifests.length, 1, `${region}: ${JSON.stringify(c)}`);
      }
      const skips = runs
        .flatMap((r) => r.logs)
        .filter((l) => l.msg === "another crawler holds this unit; skipping");
      assert.ok(skips.length >= 1, "the runs overlapped, and one left a region to the other");
    } finally {
      aws.server.clearFaults();
      cleanup();
    }
  });
}

/** A daemon on a local lake, AmazonEC2 only, hourly slots, with short leases. */
function killScenario(dir: string, leaseTtl = "3s") {
  writeConfig(dir, {
    sources: onlySources({ AmazonEC2: { interval: "1h", regionDelay: "0s" } }),
  });
  const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl, CONTRAIL_LEASE_TTL: leaseTtl });
  const lake = join(dir, "lake");
  const manifests = (region: string) =>
    filesUnder(lake).filter((f) => f.startsWith(`_contrail/manifests/AmazonEC2/${region}/`));
  /** Starts a crawler and kills it with SIGKILL in the middle of eu-west-1's capture (its offer stalls). */
  const startDoomed = async () => {
    aws.server.fault({ path: aws.offerPath("eu-west-1") }, { kind: "stall", afterBytes: 100, ms: 120_000 });
    const seen = aws.offerRequests("eu-west-1").length;
    const child = startCli(["crawl"], { cwd: dir, env });
    const done = collect(child);
    await waitFor("a crawler downloading eu-west-1", () => aws.offerRequests("eu-west-1").length > seen);
    assert.deepEqual([manifests("us-east-1").length, manifests("eu-west-1").length], [1, 0]);
    return {
      child,
      /**
       * SIGKILL; `elsewhere` then rewrites the dead crawler's lease as one of another machine would be (another
       * process table), which nobody may take before it lapses. Returns the lease's expiry.
       */
      kill: async (opts: { elsewhere?: boolean } = {}) => {
        child.kill("SIGKILL");
        assert.equal((await done).signal, "SIGKILL");
        const key = leaseKey("AmazonEC2", "eu-west-1");
        const local = new LocalLake(lake);
        const left = await local.getVersioned(key);
        const lease = JSON.parse(left!.data.toString()) as { expiresAt: string; processTable?: string };
        assert.ok(lease.processTable, "the lease names its holder's process table");
        if (opts.elsewhere) {
          const moved = JSON.stringify({ ...lease, processTable: "another-machine" });
          assert.ok(await local.putIfVersion(key, moved, left!.version), "rewriting the lease");
        }
        return Date.parse(lease.expiresAt);
      },
    };
  };
  /**
   * Checks the slot was captured by the survivor, once per region, nothing fetched twice: after the lease lapsed, or
   * (`atOnce`, a restart on the dead crawler's machine) before.
   */
  const assertTakenOver = (expiresAt: number, usEastFetches: number, atOnce = false) => {
    const capturedAt = Date.parse(/([^/]+)\.json$/.exec(manifests("eu-west-1")[0]!)![1]!);
    assert.equal(Math.floor(capturedAt / HOUR), Math.floor(expiresAt / HOUR), "captured in the same slot");
    if (atOnce)
      assert.ok(capturedAt < expiresAt, `taken ${capturedAt - expiresAt} ms after the lease lapsed`);
    else assert.ok(capturedAt >= expiresAt, `taken ${expiresAt - capturedAt} ms before the lease lapsed`);
    assert.equal(
      aws.offerRequests("us-east-1").length,
      usEastFetches,
      "us-east-1, done in this slot, not fetched again",
    );
    assert.equal(manifests("us-east-1").length, 1);
    assert.equal(filesUnder(lake).filter((f) => f.endsWith(".json.gz")).length, 2);
  };
  return { env, manifests, startDoomed, assertTakenOver };
}

const HOUR = 3_600_000;
/** Stays clear of an hourly slot boundary: these tests need one slot from start to end. */
async function inOneSlot() {
  const left = HOUR - (Date.now() % HOUR);
  if (left < 90_000) await sleep(left + 1000);
}

for (const where of ["the same machine", "another machine"] as const) {
  const elsewhere = where === "another machine";
  test(`a crawler killed mid-slot, restarted on ${where}: it captures the slot ${elsewhere ? "once the lease lapses" : "at once"}`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      await inOneSlot();
      // At once: well before a minute's lease could lapse. Once it lapses: a short lease, not to wait long.
      const s = killScenario(dir, elsewhere ? "3s" : "60s");
      const doomed = await s.startDoomed();
      const expiresAt = await doomed.kill({ elsewhere });
      const usEast = aws.offerRequests("us-east-1").length;
      const restarted = startCli(["crawl"], { cwd: dir, env: s.env });
      const done = collect(restarted);
      await waitFor("eu-west-1 captured after the restart", () => s.manifests("eu-west-1").length === 1);
      restarted.kill("SIGTERM");
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
      s.assertTakenOver(expiresAt, usEast, !elsewhere);
      const noticed = r.logs.some((l) => String(l.msg).includes("no longer runs on this machine"));
      assert.equal(noticed, !elsewhere, "the restart says it took over a dead crawler's lease");
    } finally {
      aws.server.clearFaults();
      cleanup();
    }
  });
}

test("a crawler that finds another's live lease looks again when it lapses, and takes the slot over", async () => {
  const { dir, cleanup } = tempDir();
  try {
    await inOneSlot();
    const s = killScenario(dir);
    const doomed = await s.startDoomed();
    const usEast = aws.offerRequests("us-east-1").length;
    const standby = startCli(["crawl"], { cwd: dir, env: s.env });
    const done = collect(standby);
    // The holder renews its lease while its capture hangs: the standby leaves the region alone.
    await waitForOutput(standby, "waiting for another crawler's lease");
    const expiresAt = await doomed.kill();
    await waitFor("eu-west-1 captured by the standby", () => s.manifests("eu-west-1").length === 1);
    standby.kill("SIGTERM");
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.logs.some((l) => l.msg === "another crawler holds this unit; skipping"));
    s.assertTakenOver(expiresAt, usEast);
  } finally {
    aws.server.clearFaults();
    cleanup();
  }
});
