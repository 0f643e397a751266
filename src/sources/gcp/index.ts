// GoogleCloud: the Cloud Billing Catalog v1 (wire-formats §8), one capture per configured service (SPEC §4, §5):
// `{"service": <the service as /v1/services lists it>, "skus": [every SKU of every page, in order]}`. The service
// entry and every SKU are copied as the bytes served (compact: `prettyPrint=false`), never re-serialised.
//
// Pages are chained by an opaque `pageToken`, so they come one after another; the list ends only when a page has
// no token (or an empty one): AIP-158 lets the server return fewer items than `pageSize` on any page, so a short
// page is no end. Memory: one page (≤ 5000 SKUs, ~10 MB) at a time. A catalogue that hashes the same as the
// latest capture is not stored again: a check is recorded (SPEC §5 No waste).
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { ContrailError } from "../../errors.js";
import { redactUrl } from "../../http/client.js";
import type { CaptureMeta, JsonShape, Manifest, RunContext } from "../../types.js";
import { defineSource } from "../define.js";
import { latestIfListable, runUnits } from "../run-units.js";
import {
  fetchPage,
  itemBytes,
  itemsOf,
  pageUrl,
  type CatalogClient,
  type CatalogPage,
  type ListOf,
} from "./page.js";

export const CATALOG_SHAPE: JsonShape = { root: "object", requiredKeys: ["service", "skus"] };
const PROGRESS_EVERY = 10;
const SERVICES: ListOf = { member: "services", id: "serviceId" };
const SKUS: ListOf = { member: "skus", id: "skuId" };
/** A list longer than this many pages is a token loop, not a catalogue (Compute Engine: a few pages). */
const MAX_PAGES = 10_000;

export function clientOf(ctx: RunContext): CatalogClient {
  return {
    http: ctx.http,
    retry: ctx.config.http,
    log: ctx.log,
    baseUrl: ctx.config.gcp.billingUrl,
    apiKey: ctx.config.gcp.apiKey ?? "",
  };
}

/** Every page of a list, in order, following `nextPageToken` until there is none. */
export async function* pages(
  c: CatalogClient,
  path: string,
  list: ListOf,
  what: string,
  signal: AbortSignal,
): AsyncGenerator<CatalogPage> {
  const seen = new Set<string>();
  let token: string | undefined;
  for (let n = 1; ; n++) {
    const page = await fetchPage(c, pageUrl(c, path, token), list, `${what} page ${n}`, signal);
    yield page;
    token = page.nextPageToken;
    if (token === undefined) return;
    if (seen.has(token))
      throw new ContrailError("UPSTREAM", `${what}: page ${n}'s nextPageToken repeats an earlier page's`);
    if (n >= MAX_PAGES)
      throw new ContrailError("UPSTREAM", `${what}: still more after ${MAX_PAGES} pages; not a catalogue`);
    seen.add(token);
  }
}

/** The service's entry in `/v1/services`, as served; a service the catalogue does not list is an error. */
export async function serviceEntry(c: CatalogClient, id: string, signal: AbortSignal): Promise<Buffer> {
  for await (const page of pages(c, "/v1/services", SERVICES, "the service list", signal)) {
    const entries = itemBytes(page);
    const i = page.ids.indexOf(id);
    if (i >= 0 && entries.length === page.ids.length) return Buffer.from(entries[i]!);
  }
  throw new ContrailError(
    "UPSTREAM",
    `service ${id} is not in the Cloud Billing Catalog's service list (gcp.services names catalogue service ids ` +
      `such as 6F81-5844-456A, Compute Engine)`,
  );
}

/** The catalogue holds what the latest capture holds: the capture is abandoned, a check is recorded instead. */
class Unchanged extends Error {
  constructor() {
    super("unchanged since the latest capture");
  }
}

/**
 * The capture's bytes: the service entry, then every SKU of every page in order. They are hashed on the way: the
 * catalogue has no version or ETag, so content identical to the `latest` capture's (SPEC §5 No waste) ends the body
 * with Unchanged before its last bytes, and nothing is stored.
 */
async function* catalogue(
  c: CatalogClient,
  id: string,
  service: Buffer,
  latest: Manifest | undefined,
  meta: CaptureMeta,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const hash = createHash("sha256");
  let bytes = 0;
  const out = (b: Buffer) => {
    hash.update(b);
    bytes += b.length;
    return b;
  };
  yield out(Buffer.concat([Buffer.from('{"service":'), service, Buffer.from(',"skus":[')]));
  let items = 0;
  let n = 0;
  for await (const page of pages(c, `/v1/services/${id}/skus`, SKUS, `${id} SKUs`, signal)) {
    n++;
    if (page.ids.includes(undefined))
      throw new ContrailError("INVALID_SHAPE", `${id} SKUs page ${n} holds a SKU without a skuId`);
    if (page.count > 0)
      yield out(items > 0 ? Buffer.concat([Buffer.from(","), itemsOf(page)]) : itemsOf(page));
    items += page.count;
    if (n % PROGRESS_EVERY === 0) c.log.info({ region: id, pages: n, items }, "catalogue progress");
  }
  const end = out(Buffer.from("]}"));
  if (latest && bytes === latest.bytes && hash.digest("hex") === latest.sha256) throw new Unchanged();
  yield end;
  meta.pages = n;
  meta.items = items;
}

export const googleCloud = defineSource({
  name: "GoogleCloud",
  summary: "the Cloud Billing Catalog: each configured service and every page of its SKUs",
  unit: "the service id (`6F81-5844-456A`)",
  needs: "`CONTRAIL_GCP_API_KEY`",
  defaultInterval: 24 * 3_600_000,
  settings: [],
  missing: (config) => (config.gcp.apiKey ? [] : ["CONTRAIL_GCP_API_KEY"]),

  async run(ctx) {
    const c = clientOf(ctx);
    return runUnits(ctx, ctx.config.gcp.services, {}, async ({ region: id }) => {
      const latest = await latestIfListable(ctx, id, "an unchanged catalogue will be stored again");
      // The key stays out of the manifest and the check.
      const urls = [redactUrl(pageUrl(c, "/v1/services")), redactUrl(pageUrl(c, `/v1/services/${id}/skus`))];
      try {
        return await ctx.capture({
          region: id,
          capturedAt: new Date(),
          shape: CATALOG_SHAPE,
          open: async (signal) => {
            const service = await serviceEntry(c, id, signal);
            // Filled in by the walk before the body ends; the capture reads it then.
            const meta: CaptureMeta = { urls };
            // Not object mode: the stream then buffers bytes (16 KiB), not pages, ahead of the consumer.
            const walk = catalogue(c, id, service, latest, meta, signal);
            return { body: Readable.from(walk, { objectMode: false }), meta };
          },
        });
      } catch (err) {
        if (!(err instanceof Unchanged) || !latest) throw err;
        return ctx.recordCheck({ region: id, sameAs: latest.key, urls });
      }
    });
  },
});
