// Repair of captures left without a manifest (SPEC §6): a crawler killed between the capture object and its
// manifest, or a manifest write that failed for good. Such an object is invisible to `ls`, `verify` and the
// scheduler. The next run finds it and either writes its manifest from the object (when the object is complete,
// valid gzip of valid JSON) or removes it; logged either way.
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { Logger } from "pino";
import { jsonCheckTransform } from "../capture/json-check.js";
import { errorMessage, isAbortError } from "../errors.js";
import { tap } from "../streams.js";
import type { Lake, LakeEntry, Manifest, SourceName } from "../types.js";
import { CRAWLER } from "../version.js";
import { isoMillis, manifestKey, manifestPrefix } from "./keys.js";
import { writeManifest } from "./records.js";

export interface RepairOptions {
  /** Objects younger than this may still be getting their manifest from a live crawler: left alone. */
  minAgeMs?: number;
  /** Only captures started within this past are looked at, so a lake of years is not re-read at every start. */
  lookbackMs?: number;
  now?: number;
  signal?: AbortSignal;
}

export interface RepairResult {
  repaired: string[];
  removed: string[];
}

const CAPTURE = /^([^/]+)\/([^/]+)\/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\.json\.gz$/;

/** Finds and repairs the capture objects of `sources` that have no manifest. */
export async function repairOrphans(
  lake: Lake,
  sources: readonly SourceName[],
  log: Logger,
  opts: RepairOptions = {},
): Promise<RepairResult> {
  const result: RepairResult = { repaired: [], removed: [] };
  for (const source of sources) {
    for (const orphan of await orphansOf(lake, source, opts))
      await repairLogged(lake, source, orphan, log, result, opts.signal);
  }
  return result;
}

// Capture objects whose manifest write failed and whose removal then failed too (the lake down, say), by lake. A
// start-up finds such objects by listing; a daemon that keeps running repairs these at its next run of the source.
const noted = new WeakMap<Lake, Set<string>>();

/** Records a capture object that may have been left without its manifest, for `repairNoted`. */
export function noteOrphan(lake: Lake, key: string): void {
  let keys = noted.get(lake);
  if (!keys) noted.set(lake, (keys = new Set()));
  keys.add(key);
}

/** Repairs the objects `noteOrphan` recorded for `source`; those it cannot read now stay for the next run. */
export async function repairNoted(
  lake: Lake,
  source: SourceName,
  log: Logger,
  signal?: AbortSignal,
): Promise<RepairResult> {
  const result: RepairResult = { repaired: [], removed: [] };
  const keys = noted.get(lake);
  for (const key of keys ?? []) {
    if (!CAPTURE.test(key) || !key.startsWith(`${source}/`)) continue;
    if (await repairLogged(lake, source, { key }, log, result, signal)) keys!.delete(key);
  }
  return result;
}

/** Repairs one object and logs what was done; false if it could not be read now (to be tried again). */
async function repairLogged(
  lake: Lake,
  source: SourceName,
  orphan: Pick<LakeEntry, "key" | "modified">,
  log: Logger,
  result: RepairResult,
  signal?: AbortSignal,
): Promise<boolean> {
  const outcome = await repairOne(lake, source, orphan, signal).catch((err: unknown) => {
    if (isAbortError(err)) throw err;
    if ((err as { code?: string }).code === "LAKE_NOT_FOUND") return "gone" as const;
    // Unreadable now (the network, a permission): not proof the object is bad; the next run tries again.
    log.warn({ key: orphan.key, err: errorMessage(err) }, "capture without manifest: could not repair it");
    return undefined;
  });
  if (outcome === "repaired") {
    result.repaired.push(orphan.key);
    log.warn({ key: orphan.key }, "capture without manifest: wrote its manifest from the object");
  } else if (outcome !== undefined && outcome !== "gone") {
    result.removed.push(orphan.key);
    log.warn(
      { key: orphan.key, reason: outcome.invalid },
      "capture without manifest: removed an invalid object",
    );
  }
  return outcome !== undefined;
}

async function orphansOf(lake: Lake, source: SourceName, opts: RepairOptions): Promise<LakeEntry[]> {
  const now = opts.now ?? Date.now();
  const since = now - (opts.lookbackMs ?? 7 * 86_400_000);
  const before = now - (opts.minAgeMs ?? 5 * 60_000);
  const listOpts = opts.signal ? { signal: opts.signal } : {};
  const manifests = new Set<string>();
  for await (const e of lake.list(manifestPrefix(source), listOpts)) manifests.add(e.key);
  const orphans: LakeEntry[] = [];
  for await (const e of lake.list(`${source}/`, listOpts)) {
    const m = CAPTURE.exec(e.key);
    if (!m) continue;
    const at = Date.parse(m[3]!);
    if (at < since || (e.modified?.getTime() ?? at) > before) continue;
    if (!manifests.has(manifestKey(source, m[2]!, m[3]!))) orphans.push(e);
  }
  return orphans;
}

/** "repaired", or why the object was removed. */
async function repairOne(
  lake: Lake,
  source: SourceName,
  entry: Pick<LakeEntry, "key" | "modified">,
  signal?: AbortSignal,
): Promise<"repaired" | { invalid: string }> {
  const [, , region, capturedAt] = CAPTURE.exec(entry.key)!;
  const hash = createHash("sha256");
  let bytes = 0;
  let stored = 0;
  let version: unknown;
  const body = await lake.getStream(entry.key, signal);
  const root = source === "AmazonEC2Spot" ? "array" : "object";
  try {
    await pipeline(
      body,
      tap((c) => (stored += c.length)),
      createGunzip(),
      tap((c) => {
        hash.update(c);
        bytes += c.length;
      }),
      jsonCheckTransform({ root, ...(root === "object" ? { captureKeys: ["version"] } : {}) }, (v) => {
        version = v.version;
      }),
      async function (checked: AsyncIterable<Buffer>) {
        for await (const _ of checked); // the check is the point; the bytes were hashed on the way
      },
      signal ? { signal } : {},
    );
  } catch (err) {
    if (isAbortError(err) || signal?.aborted) throw err;
    const e = err as { code?: string };
    // Only the content's own faults condemn it; a read that broke off says nothing about the object.
    const invalid = e.code?.startsWith("Z_") || e.code === "INVALID_JSON" || e.code === "INVALID_SHAPE";
    if (!invalid) throw err;
    await lake.delete(entry.key);
    return { invalid: errorMessage(err) };
  }
  const at = new Date(capturedAt!);
  const manifest: Manifest = {
    manifestVersion: 1,
    kind: "capture",
    source,
    region: region!,
    key: entry.key,
    capturedAt: isoMillis(at),
    finishedAt: isoMillis(entry.modified ?? at),
    sha256: hash.digest("hex"),
    bytes,
    storedBytes: stored,
    urls: [],
    ...(typeof version === "string" ? { version } : {}),
    repairedAt: isoMillis(new Date()),
    crawler: CRAWLER,
  };
  await writeManifest(lake, manifest, signal);
  return "repaired";
}
