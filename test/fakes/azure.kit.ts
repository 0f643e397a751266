// The fault suite's kits of the Azure fake (Entra ID, Resource Manager, RateCard blobs, Retail Prices) and of the
// Azure sources (test/faults/kit.ts).
import assert from "node:assert/strict";
import type { FakeKit, SourceKit } from "../faults/kit.js";
import { expectedCapabilities, startFakeAzure } from "./azure.js";

export type FakeAzure = Awaited<ReturnType<typeof startFakeAzure>>;

export const azureFake: FakeKit<FakeAzure> = {
  start: () => startFakeAzure({ arm: { meters: 300, skus: 30 }, retail: { pageSize: 7, items: 40 } }),
  close: (f) => f.close(),
  servers: (f) => [f.entra.server, f.arm.server, f.arm.blob.server, f.retail.server],
  env: (f) => f.env,
};

export const azureKit: SourceKit = {
  region: "US",
  cutAt: 4_000,
  body: "json",
  target: (f) => ({ server: f.azure.arm.blob.server, path: /^\/ratecard\// }),
  check(text, _m, f) {
    const served = f.azure.arm.rateCardBytes().toString("utf8");
    const caps = JSON.stringify(expectedCapabilities(f.azure.arm.allSkus()));
    assert.equal(
      text.toString("utf8"),
      `${served.slice(0, -1)},"Capabilities":${caps}}`,
      "the RateCard as served",
    );
    const card = JSON.parse(text.toString("utf8")) as { Meters: unknown[] };
    assert.equal(card.Meters.length, f.azure.arm.rateCard().Meters.length, "every meter");
  },
};

export const azureRetailKit: SourceKit = {
  region: "global",
  cutAt: 300,
  body: "json",
  target: (f) => ({ server: f.azure.retail.server, path: "/api/retail/prices" }),
  check(text, m, f) {
    const doc = JSON.parse(text.toString("utf8")) as { Items: unknown[]; Count: number };
    const items = f.azure.retail.allItems();
    assert.ok(
      text.toString("utf8").includes(`"Items":[${f.azure.retail.itemTexts().join(",")}]`),
      "the items' bytes as served",
    );
    assert.equal(doc.Count, items.length, "Count");
    assert.equal(doc.Items.length, items.length, "every item");
    assert.deepEqual(doc.Items, items);
    assert.equal(m.items, items.length);
  },
  config: { concurrency: 2 },
};
