// The fault suite's kits of the fake Cloud Billing Catalog and of the GoogleCloud source (test/faults/kit.ts).
import assert from "node:assert/strict";
import type { FakeKit, SourceKit } from "../faults/kit.js";
import { COMPUTE_ENGINE_ID, FakeGcpBilling } from "./gcp.js";

export const gcpFake: FakeKit<FakeGcpBilling> = {
  async start() {
    // Pages of 20 (the server's own cap, as AIP-158 allows): the suite's faults meet a walk of several pages.
    const gcp = new FakeGcpBilling({ skus: 70, servedPageSize: 20 });
    await gcp.start();
    return gcp;
  },
  close: (f) => f.close(),
  servers: (f) => [f.server],
  clearFaults: (f) => f.clearFaults(),
  env: (f) => ({ CONTRAIL_GCP_API_KEY: f.apiKey, CONTRAIL_GCP_BILLING_URL: f.baseUrl }),
};

export const googleCloudKit: SourceKit = {
  region: COMPUTE_ENGINE_ID,
  cutAt: 2_000,
  body: "json",
  target: (f) => ({ server: f.gcp.server, path: `/v1/services/${COMPUTE_ENGINE_ID}/skus` }),
  check(text, m, f) {
    const want = `{"service":${JSON.stringify(f.gcp.service())},"skus":[${f.gcp.skuTexts().join(",")}]}`;
    assert.equal(text.toString("utf8"), want, "the service and every SKU, as served");
    assert.equal(m.items, f.gcp.skuTexts().length);
    assert.ok(!JSON.stringify(m).includes(f.gcp.apiKey), "the key is not in the manifest");
  },
};
