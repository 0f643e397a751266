// A Price List source: a region index, then each region's current file, one after another and a pause apart (to be
// gentle with the one price-list host). AmazonEC2, each service of `aws.services` and AWSComputeSavingsPlan are
// instances; they differ in their index, their file's shape, their interval and their pause.
import { schemas } from "../../config/schema.js";
import { setting } from "../../config/settings.js";
import type { HttpClient, JsonShape } from "../../types.js";
import { defineSource, type PreflightContext } from "../define.js";
import { runUnits } from "../run-units.js";
import { captureFile, type RegionFile } from "./file.js";

export interface PriceListSourceOptions<N extends string> {
  name: N;
  summary: string;
  defaultInterval: number;
  /** Default pause between two regions' downloads, in ms. */
  regionDelay: number;
  /** Every region's current file, from the source's region index. */
  regionIndex(http: HttpClient, pricingUrl: string, signal: AbortSignal): Promise<RegionFile[]>;
  /** What each region's file must look like (its required top-level keys). */
  shape: JsonShape;
  /** Checks at start-up of `crawl`, before any download (e.g. that the service code exists). */
  preflight?(ctx: PreflightContext): Promise<void>;
}

export function priceListSource<const N extends string>(o: PriceListSourceOptions<N>) {
  return defineSource({
    name: o.name,
    summary: o.summary,
    unit: "the region code (`eu-west-1`)",
    needs: "nothing",
    defaultInterval: o.defaultInterval,
    settings: [
      setting({
        key: "regionDelay",
        schema: schemas.duration(0),
        default: o.regionDelay,
        doc: `${o.name} pause between regions`,
        defaultDoc: `${o.regionDelay / 1000}s`,
      }),
    ],
    missing: () => [],
    ...(o.preflight ? { preflight: o.preflight } : {}),

    async run(ctx) {
      const index = await o.regionIndex(ctx.http, ctx.config.aws.pricingUrl, ctx.signal);
      const files = new Map(index.map((f) => [f.regionCode, f]));
      return runUnits(ctx, [...files.keys()], { pause: ctx.settings.regionDelay }, (unit) =>
        captureFile(ctx, unit, files.get(unit.region)!, o.shape),
      );
    },
  });
}
