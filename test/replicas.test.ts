// Several crawlers on one bucket (SPEC §6): every slot of every region is captured (or checked) exactly once,
// and no capture is ever overwritten. The S3 proxy honours If-None-Match: * the way S3 does (412).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { FakeAwsPricing } from "./fakes/aws-pricing.js";
import { startS3, type FakeS3 } from "./fakes/s3.js";
import { cleanEnv, collect, startCli, tempDir, waitForOutput, writeConfig } from "./helpers.js";
import { LocalLake } from "../src/lake/local.js";
import { claimSlot } from "../src/schedule/context.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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

test("a slot's lease goes to exactly one of many concurrent claimants (local lake)", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = new LocalLake(dir);
    const slot = { start: new Date(0), end: new Date(INTERVAL) };
    const wins = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimSlot(lake, "AmazonEC2", "us-east-1", slot, `owner-${i}`)),
    );
    assert.equal(wins.filter(Boolean).length, 1);
    const winner = wins.indexOf(true);
    assert.equal(
      await claimSlot(lake, "AmazonEC2", "us-east-1", slot, `owner-${winner}`),
      true,
      "the owner may retry",
    );
  } finally {
    cleanup();
  }
});

test("two daemons on one bucket for several cycles: exactly one capture or check per region and slot", async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeConfig(dir, {
      lake: "s3://shared/prices",
      sources: {
        AmazonEC2: { interval: "3s", regionDelay: "0s" },
        AmazonEC2Spot: { enabled: false },
        AzureRetail: { enabled: false },
      },
    });
    const env = cleanEnv({
      CONTRAIL_AWS_PRICING_URL: pricingUrl,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      CONTRAIL_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
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
    assert.ok(logs.some((l) => l.msg === "another crawler holds this slot; skipping"));
    assert.deepEqual(s3.proxy.openUploads(), []);
  } finally {
    cleanup();
  }
});
