// The one capture path of a source that is a single public document (the Spot Advisor, the spot price feed, Oracle's
// price list): no credentials, one unit (`global`), and no waste (SPEC §5):
// - the request carries the latest capture's ETag (`If-None-Match`); a 304 records a check, nothing is downloaded;
// - otherwise the body streams into a capture, and if its content hashes the same as the latest capture's (a server
//   without ETags, or a new ETag on the same bytes), the capture is abandoned before it becomes visible (the lake
//   stores nothing of a stream that fails) and a check is recorded instead of a second copy; the check's ETag joins
//   the next request's `If-None-Match`, so those bytes are not downloaded again either.
// Memory: the stream's buffers only (a document is never held whole), plus the JSONP unwrapper's trailing bytes.
import { createHash } from "node:crypto";
import { pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import { ContrailError } from "../../errors.js";
import { redactUrl } from "../../http/client.js";
import { checkKey, checkPrefix } from "../../lake/keys.js";
import { readCheck } from "../../lake/records.js";
import type { CaptureMeta, JsonShape, Manifest, RegionOutcome, RunContext } from "../../types.js";
import { runUnits, type UnitResult } from "../run-units.js";
import { JsonpUnwrap } from "./jsonp.js";
import { MemberCounter } from "./members.js";

/** The region segment of every single-document source (SPEC §4). */
export const GLOBAL = "global";

export interface PublicDoc {
  url: string;
  /** Its top-level shape: checked as it streams; a body without these keys is never stored. */
  shape: JsonShape;
  /** Top-level containers (arrays or objects) that must hold at least one member: empty is an upstream fault. */
  nonEmpty?: readonly string[];
  /** The top-level array whose length the manifest records as `items`. */
  itemsOf?: string;
  /** The body may be JSONP (`callback(…);`): the JSON inside is stored and the manifest names the callback. */
  jsonp?: boolean;
  /** A top-level string that is the document's upstream version (the manifest's `version`). */
  versionKey?: string;
  /** A top-level flag that, when `true`, says the body is one page of a longer list: never stored as the whole. */
  partialKey?: string;
}

/** The source's one run: its single unit, under its lease. */
export function runPublicDoc(ctx: RunContext, doc: PublicDoc): Promise<RegionOutcome[]> {
  return runUnits(ctx, [GLOBAL], {}, () => capturePublicDoc(ctx, doc));
}

/** The upstream still serves what the latest capture holds: 304 to its ETag, or the same bytes. */
class Unchanged extends Error {
  constructor(
    readonly how: "etag" | "content",
    readonly etag: string | undefined,
  ) {
    super(`unchanged (${how})`);
  }
}

/** A capture of the document, or a check when it is what the latest capture holds. */
export async function capturePublicDoc(ctx: RunContext, doc: PublicDoc): Promise<UnitResult> {
  const latest = await ctx.latest(GLOBAL);
  const etags = await knownEtags(ctx, latest);
  let meta: CaptureMeta | undefined;
  const keys = [doc.versionKey, doc.partialKey].filter((k): k is string => k !== undefined);
  try {
    return await ctx.capture({
      region: GLOBAL,
      capturedAt: new Date(),
      shape: { ...doc.shape, captureKeys: [...(doc.shape.captureKeys ?? []), ...keys] },
      open: async (signal) => {
        const opened = await open(ctx, doc, latest, etags, signal);
        meta = opened.meta;
        return opened;
      },
      // Called as the body ends, before the capture is stored: a partial page fails it here.
      onValues: (values) => judgeValues(doc, values, meta),
    });
  } catch (err) {
    // Unchanged is raised only when there is a latest capture to compare with.
    if (!(err instanceof Unchanged) || !latest) throw err;
    ctx.log.debug({ region: GLOBAL, how: err.how }, "the document is the latest capture's");
    return ctx.recordCheck({
      region: GLOBAL,
      sameAs: latest.key,
      ...(err.etag !== undefined ? { etag: err.etag } : {}),
      urls: [doc.url],
    });
  }
}

/**
 * The ETags a 304 may answer: the latest capture's, and the one a later check found on the same bytes (a new ETag on
 * unchanged content, recorded by the content-hash path), so that the next run need not download them again.
 * `If-None-Match` takes a list (RFC 9110 §13.1.2).
 */
async function knownEtags(ctx: RunContext, latest: Manifest | undefined): Promise<string[]> {
  if (!latest) return [];
  const etags = latest.etag ? [latest.etag] : [];
  const after = checkKey(latest.source, GLOBAL, new Date(latest.capturedAt));
  let newest: string | undefined;
  for await (const e of ctx.lake.list(checkPrefix(latest.source, GLOBAL), {
    startAfter: after,
    signal: ctx.signal,
  }))
    newest = e.key;
  const check = newest ? await readCheck(ctx.lake, newest) : undefined;
  if (check?.sameAs === latest.key && check.etag && !etags.includes(check.etag)) etags.push(check.etag);
  return etags;
}

async function open(
  ctx: RunContext,
  doc: PublicDoc,
  latest: Manifest | undefined,
  etags: readonly string[],
  signal: AbortSignal,
): Promise<{ body: Readable; meta: CaptureMeta }> {
  const res = await ctx.http.request({
    url: doc.url,
    signal,
    label: GLOBAL,
    accept: [304],
    followRedirects: true,
    ...(etags.length > 0 ? { headers: { "if-none-match": etags.join(", ") } } : {}),
  });
  const etag = res.headers.etag;
  if (res.status === 304) {
    res.body.resume();
    throw new Unchanged("etag", etag ?? latest?.etag);
  }
  // The capture reads meta once the body has ended: the stages below fill in what they learn by then.
  const meta: CaptureMeta = { urls: [doc.url], ...(etag !== undefined ? { etag } : {}) };
  const where = redactUrl(doc.url);
  const stages: Transform[] = [];
  if (doc.jsonp) stages.push(new JsonpUnwrap(where, (name) => (meta.jsonp = name)));
  const watched = [...(doc.nonEmpty ?? []), ...(doc.itemsOf ? [doc.itemsOf] : [])];
  if (watched.length > 0)
    stages.push(new MemberCounter(watched, (counts) => judgeCounts(doc, where, counts, meta)));
  if (latest) stages.push(sameContent(latest, etag));
  if (stages.length === 0) return { body: res.body, meta };
  const last = stages[stages.length - 1]!;
  // Any stage's failure reaches the capture as the last stage's error (pipeline destroys them all with it).
  pipeline([res.body, ...stages], () => undefined);
  return { body: last, meta };
}

/** A body that says it is one page of more fails the capture; the upstream version goes to the manifest. */
function judgeValues(doc: PublicDoc, values: Record<string, unknown>, meta: CaptureMeta | undefined): void {
  if (doc.partialKey && values[doc.partialKey] === true)
    throw new ContrailError(
      "UPSTREAM",
      `${redactUrl(doc.url)} says "${doc.partialKey}": true, one page of a longer list; not stored as the whole`,
    );
  const version = doc.versionKey ? values[doc.versionKey] : undefined;
  if (meta && typeof version === "string") meta.version = version;
}

/** Empty required containers fail the capture; the item count goes to the manifest. */
function judgeCounts(
  doc: PublicDoc,
  where: string,
  counts: ReadonlyMap<string, number>,
  meta: CaptureMeta,
): Error | undefined {
  for (const key of doc.nonEmpty ?? []) {
    if (counts.get(key) === 0)
      return new ContrailError(
        "INVALID_SHAPE",
        `${where}: "${key}" is empty, an upstream fault (a price list with nothing in it); not stored`,
      );
  }
  if (doc.itemsOf) {
    const n = counts.get(doc.itemsOf);
    if (n !== undefined) meta.items = n;
  }
  return undefined;
}

/**
 * Hashes the content on its way to the capture; at its end, content identical to the latest capture's fails the
 * stream with Unchanged, so that nothing is stored and a check is recorded instead.
 */
function sameContent(latest: Manifest, etag: string | undefined): Transform {
  const hash = createHash("sha256");
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const same = bytes === latest.bytes && hash.digest("hex") === latest.sha256;
      cb(same ? new Unchanged("content", etag) : undefined);
    },
  });
}
