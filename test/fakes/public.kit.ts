// The fault suite's kits of the public single-document fakes (the Spot Advisor's S3 object, the spot price feed,
// Oracle's price list) and of their sources (test/faults/kit.ts).
import assert from "node:assert/strict";
import type { FakeKit, SourceKit } from "../faults/kit.js";
import { FakeOraclePrices, OCI_PATH } from "./oracle.js";
import type { FakeServer } from "./server.js";
import { ADVISOR_PATH, FEED_JSONP_PATH, FakeSpotAdvisor, FakeSpotFeed } from "./spot-web.js";

/** A fake of one document host: started alone, one server, pointed at by one variable. */
function documentFake<T extends { start(): Promise<string>; close(): Promise<void>; server: FakeServer }>(
  make: () => T,
  env: (f: T) => Record<string, string>,
): FakeKit<T> {
  return {
    async start() {
      const f = make();
      await f.start();
      return f;
    },
    close: (f) => f.close(),
    servers: (f) => [f.server],
    env,
  };
}

export const spotAdvisorFake = documentFake(
  () => new FakeSpotAdvisor(),
  (f) => ({ CONTRAIL_AWS_SPOT_ADVISOR_URL: f.url }),
);
// The suite reads the JSONP form, so that every body fault also goes through the unwrapping.
export const spotFeedFake = documentFake(
  () => new FakeSpotFeed(),
  (f) => ({ CONTRAIL_AWS_SPOT_FEED_URL: `${f.url(FEED_JSONP_PATH)}?callback=callback` }),
);
export const oracleFake = documentFake(
  () => new FakeOraclePrices(),
  (f) => ({ CONTRAIL_OCI_PRICES_URL: f.url }),
);

export const spotAdvisorKit: SourceKit = {
  region: "global",
  cutAt: 1_000,
  body: "json",
  // The advisor's only string values are short labels (`<5%`): the damage goes into a key.
  utf8In: "key",
  target: (f) => ({ server: f.spotAdvisor.server, path: ADVISOR_PATH }),
  check(text, m, f) {
    assert.ok(text.equals(f.spotAdvisor.bytes()), "the advisor's bytes as served");
    assert.equal(m.etag, f.spotAdvisor.etag());
  },
};

export const spotFeedKit: SourceKit = {
  region: "global",
  cutAt: 1_000,
  body: "json",
  target: (f) => ({ server: f.spotFeed.server, path: FEED_JSONP_PATH }),
  check(text, m, f) {
    assert.ok(text.equals(f.spotFeed.jsonBytes()), "the JSON inside the JSONP, byte for byte");
    assert.equal(m.jsonp, "callback", "the manifest names the JSONP callback");
  },
};

export const oracleKit: SourceKit = {
  region: "global",
  cutAt: 1_000,
  body: "json",
  target: (f) => ({ server: f.oracle.server, path: OCI_PATH }),
  check(text, m, f) {
    assert.ok(text.equals(f.oracle.bytes("USD")), "the USD price list as served");
    assert.equal(m.items, f.oracle.itemCount(), "every product counted");
    assert.equal(m.etag, f.oracle.etag("USD"));
  },
};
