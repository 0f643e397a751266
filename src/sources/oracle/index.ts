// OracleCloud: Oracle Cloud's public price list (SPEC §4), every product in USD, in one unpaginated response:
// `{"lastUpdated", "items": [{"partNumber", "displayName", "metricName", "serviceCategory",
// "currencyCodeLocalizations": [{"currencyCode": "USD", "prices": [{"model", "value", "rangeMin"?, "rangeMax"?}]}]}]}`.
// Stored as the bytes served, `items` counted into the manifest, `lastUpdated` as its version. A list with no products is an upstream fault (Oracle's
// own tools warn that `items` can come back empty), never stored as the catalogue. Unchanged (its strong ETag, else
// the same bytes): a check.
import { schemas } from "../../config/schema.js";
import { setting } from "../../config/settings.js";
import { defineSource } from "../define.js";
import { runPublicDoc } from "../public-doc/index.js";

export const CURRENCY = "USD";

/** The configured URL with `currencyCode=USD` (unless it names a currency already). */
export function pricesUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("currencyCode")) u.searchParams.set("currencyCode", CURRENCY);
  return u.toString();
}

export const oracleCloud = defineSource({
  name: "OracleCloud",
  summary: "the Oracle Cloud price list: every product, USD",
  unit: "`global`",
  needs: "nothing",
  defaultInterval: 24 * 3_600_000,
  settings: [
    setting({
      key: "url",
      env: "CONTRAIL_OCI_PRICES_URL",
      schema: schemas.httpUrl,
      default: "https://apexapps.oracle.com/pls/apex/cetools/api/v1/products/",
      doc: "Oracle Cloud price list (`currencyCode=USD` is added)",
    }),
  ],
  missing: () => [],

  run: (ctx) =>
    runPublicDoc(ctx, {
      url: pricesUrl(ctx.settings.url),
      shape: { root: "object", requiredKeys: ["items"] },
      nonEmpty: ["items"],
      itemsOf: "items",
      versionKey: "lastUpdated",
      // The list is served whole; should APEX ever page it (`hasMore`, `links[rel=next]`), a page is not the list.
      partialKey: "hasMore",
    }),
});
