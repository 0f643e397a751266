// The daemon derives each new capture's history file right after storing it (config history.enabled, default true),
// in a child process off the capture's path; with history.enabled false it leaves that to `contrail history`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import {
  cleanEnv,
  collect,
  filesUnder,
  onlySources,
  startCli,
  tempDir,
  waitForOutput,
  writeConfig,
} from "../helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, fn: () => boolean, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe("the daemon keeps the history derived", () => {
  let aws: FakeAwsPricing;
  let pricingUrl: string;
  before(async () => {
    aws = new FakeAwsPricing({ regions: ["us-east-1"], products: 10 });
    pricingUrl = await aws.start();
  });
  after(() => aws.close());

  for (const enabled of [true, false]) {
    test(`history.enabled ${enabled}: ${enabled ? "each capture gets its history file" : "no history file"}`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        writeConfig(dir, {
          sources: onlySources({ AmazonEC2: { regionDelay: "0s", interval: "1h" } }),
          ...(enabled ? {} : { history: { enabled: false } }),
        });
        const child = startCli(["crawl"], {
          cwd: dir,
          env: cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl }),
        });
        const done = collect(child);
        const files = () => filesUnder(join(dir, "lake"));
        if (enabled) {
          await waitFor("the history file", () =>
            files().some((f) => f.startsWith("history/aws_ec2_prices/region=us-east-1/")),
          );
        } else {
          await waitForOutput(child, "waiting for the next slot", 120_000);
          await sleep(2000);
        }
        child.kill("SIGTERM");
        const r = await done;
        assert.equal(r.code, 0, r.stderr);
        const capture = files().find((f) => f.startsWith("AmazonEC2/us-east-1/"));
        assert.ok(capture, "the capture is stored either way");
        const history = files().filter((f) => f.startsWith("history/"));
        const at = capture.slice("AmazonEC2/us-east-1/".length, -".json.gz".length);
        assert.deepEqual(history, enabled ? [`history/aws_ec2_prices/region=us-east-1/${at}.parquet`] : []);
      } finally {
        cleanup();
      }
    });
  }
});
