// One region's Price List file (an offer file, a Savings Plans rate file), captured byte for byte: a check when its
// version (or ETag) is the one the latest capture holds, else a streamed, validated capture (SPEC §5 No waste).
import type { JsonShape, Manifest, RunContext } from "../../types.js";
import type { Unit, UnitResult } from "../run-units.js";

/** A region's current file as its index lists it. */
export interface RegionFile {
  regionCode: string;
  /** Relative to the Price List base URL, as the indexes give it. */
  url: string;
}

/** `…/AmazonRDS/20190329040654/us-east-1/index.json`, `…/AWSComputeSavingsPlan/20230407145705/us-east-2/index.json`. */
export function versionOfFileUrl(url: string): string | undefined {
  return /\/(\d{14})\/[^/]+\/index\.json$/.exec(url)?.[1];
}

class NotModified extends Error {}

/** Captures `file` under `unit`, unless the latest capture of the region holds the same version or ETag. */
export async function captureFile(
  ctx: RunContext,
  unit: Unit,
  file: RegionFile,
  shape: JsonShape,
): Promise<UnitResult> {
  const { region } = unit;
  const url = new URL(file.url, `${ctx.config.aws.pricingUrl}/`).toString();
  // The file is the one the latest capture holds: record the check, download nothing.
  const unchanged = (held: Manifest) =>
    ctx.recordCheck({
      region,
      sameAs: held.key,
      ...(held.version ? { version: held.version } : {}),
      ...(held.etag ? { etag: held.etag } : {}),
      urls: [url],
    });
  const version = versionOfFileUrl(file.url);
  const latest = await ctx.latest(region);
  if (latest && version !== undefined && latest.version === version) return unchanged(latest);
  await unit.beforeDownload();
  const etag = latest?.etag;
  try {
    return await ctx.capture({
      region,
      capturedAt: new Date(),
      shape,
      open: async (signal) => {
        const res = await ctx.http.request({
          url,
          signal,
          label: region,
          accept: [304],
          // The index was just read: AWS publishes it before every file it lists is reachable, so a 404 here is
          // most likely that race, and retried like a 503 (a file still missing after that fails the region).
          retryOn: [404],
          ...(etag ? { headers: { "if-none-match": etag } } : {}),
        });
        if (res.status === 304) {
          res.body.resume();
          throw new NotModified();
        }
        return { body: res.body, meta: { urls: [url], version, etag: res.headers.etag } };
      },
    });
  } catch (err) {
    // A 304 answers only a request that carried the latest capture's ETag, so `latest` is set.
    if (err instanceof NotModified && latest) return unchanged(latest);
    throw err;
  }
}
