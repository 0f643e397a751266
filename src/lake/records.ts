// Contrail's own records in the lake (SPEC §5 Manifest, No waste; `contrail sources`): manifests of captures,
// checks, and the status of each source's latest run. Written and read back through the same zod schemas, so a
// record that is not what Contrail wrote (truncated, hand-edited, another tool's) is an error naming its key,
// never a stack trace and never a silent "nothing there".
import * as z from "zod";
import { ContrailError } from "../errors.js";
import { type CheckRecord, type Lake, type Manifest, type SourceName } from "../types.js";
import {
  captureKey,
  checkKey,
  isoMillis,
  manifestKey,
  manifestPrefix,
  SOURCE_NAME,
  statusKey,
  timeOfKey,
} from "./keys.js";

const iso = z.iso.datetime({ offset: false, precision: 3 });
const count = z.number().int().nonnegative();
/** Any source's name: records of a source this crawler no longer runs (an `aws.services` entry removed) still read. */
const sourceName = z.string().regex(SOURCE_NAME);
const crawler = z.looseObject({ name: z.literal("contrail"), version: z.string() });

// Loose objects: a record written by a newer Contrail keeps the fields this one does not know (`ls --json`).
export const manifestSchema = z.looseObject({
  manifestVersion: z.literal(1),
  kind: z.literal("capture"),
  source: sourceName,
  region: z.string().min(1),
  key: z.string().min(1),
  capturedAt: iso,
  finishedAt: iso,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: count,
  storedBytes: count,
  urls: z.array(z.string()),
  version: z.string().optional(),
  etag: z.string().optional(),
  items: count.optional(),
  pages: count.optional(),
  window: z.object({ start: iso, end: iso }).optional(),
  jsonp: z.string().optional(),
  repairedAt: iso.optional(),
  crawler,
});

export const checkSchema = z.looseObject({
  manifestVersion: z.literal(1),
  kind: z.literal("check"),
  source: sourceName,
  region: z.string().min(1),
  checkedAt: iso,
  sameAs: z.string().min(1),
  version: z.string().optional(),
  etag: z.string().optional(),
  urls: z.array(z.string()),
  crawler,
});

export const runStatusSchema = z.looseObject({
  source: sourceName,
  startedAt: iso,
  finishedAt: iso,
  error: z.string().optional(),
  regions: z.array(
    z.looseObject({
      region: z.string(),
      status: z.enum(["captured", "unchanged", "skipped", "failed"]),
      reason: z.string().optional(),
      error: z.string().optional(),
      key: z.string().optional(),
    }),
  ),
});

/** What the latest run of a source did, region by region (`_contrail/status/<Source>.json`, last writer wins). */
export type RunStatus = z.infer<typeof runStatusSchema>;

/** Parses a record's bytes; anything else than what the schema describes is LAKE_CORRUPT, naming the key. */
export function parseRecord<T>(schema: z.ZodType<T>, what: string, key: string, bytes: Buffer): T {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw corrupt(what, key, `not JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    throw corrupt(what, key, `${path}${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function corrupt(what: string, key: string, why: string): ContrailError {
  return new ContrailError("LAKE_CORRUPT", `corrupt ${what} ${key}: ${why}; fix or remove that object`);
}

/** Reads a manifest; undefined when absent; LAKE_CORRUPT when it is not a manifest of the capture its key names. */
export async function readManifest(
  lake: Lake,
  key: string,
  signal?: AbortSignal,
): Promise<Manifest | undefined> {
  const bytes = await lake.getBytes(key, signal);
  if (!bytes) return undefined;
  const m = parseRecord(manifestSchema, "manifest", key, bytes) as Manifest;
  if (manifestKey(m.source, m.region, m.capturedAt) !== key)
    throw corrupt("manifest", key, `it describes ${m.source}/${m.region} at ${m.capturedAt}`);
  if (m.key !== captureKey(m.source, m.region, new Date(m.capturedAt)))
    throw corrupt("manifest", key, `it names the capture ${m.key}`);
  return m;
}

/** Writes a capture's manifest, never over another one: false when one is there already. */
export async function writeManifest(lake: Lake, m: Manifest, signal?: AbortSignal): Promise<boolean> {
  const key = manifestKey(m.source, m.region, m.capturedAt);
  return lake.putBytes(key, JSON.stringify(manifestSchema.parse(m), null, 2), {
    ifAbsent: true,
    ...(signal ? { signal } : {}),
  });
}

export async function readCheck(lake: Lake, key: string): Promise<CheckRecord | undefined> {
  const bytes = await lake.getBytes(key);
  return bytes ? (parseRecord(checkSchema, "check record", key, bytes) as CheckRecord) : undefined;
}

export async function writeCheck(lake: Lake, c: CheckRecord): Promise<boolean> {
  const key = checkKey(c.source, c.region, new Date(c.checkedAt));
  return lake.putBytes(key, JSON.stringify(checkSchema.parse(c), null, 2), { ifAbsent: true });
}

export async function readStatus(lake: Lake, source: SourceName): Promise<RunStatus | undefined> {
  const key = statusKey(source);
  const bytes = await lake.getBytes(key);
  return bytes ? parseRecord(runStatusSchema, "status record", key, bytes) : undefined;
}

export async function writeStatus(lake: Lake, status: RunStatus): Promise<void> {
  await lake.putBytes(statusKey(status.source), JSON.stringify(runStatusSchema.parse(status), null, 2));
}

export interface ManifestFilter {
  source?: SourceName;
  region?: string;
}

/** Keys of every manifest matching the filter, newest first (by capture time, then key): of any source in the lake. */
export async function manifestKeys(lake: Lake, filter: ManifestFilter = {}): Promise<string[]> {
  const keys: string[] = [];
  const prefix = filter.source ? manifestPrefix(filter.source, filter.region) : manifestPrefix();
  for await (const e of lake.list(prefix)) {
    // `_contrail/manifests/<Source>/<region>/<capturedAt>.json`
    const region = e.key.slice(prefix.length).split("/").at(-2);
    if (filter.region !== undefined && !filter.source && region !== filter.region) continue;
    if (timeOfKey(e.key)) keys.push(e.key);
  }
  return keys.sort((a, b) => timeOfKey(b)!.getTime() - timeOfKey(a)!.getTime() || (a < b ? 1 : -1));
}

/** The newest manifest of a source and region: looks at the recent past first, the whole history only if needed. */
export async function latestManifest(
  lake: Lake,
  source: SourceName,
  region: string,
  signal?: AbortSignal,
): Promise<Manifest | undefined> {
  const prefix = manifestPrefix(source, region);
  for (const lookback of [3 * 86_400_000, undefined]) {
    const startAfter =
      lookback === undefined ? undefined : `${prefix}${isoMillis(new Date(Date.now() - lookback))}`;
    let last: string | undefined;
    for await (const e of lake.list(prefix, {
      ...(startAfter ? { startAfter } : {}),
      ...(signal ? { signal } : {}),
    })) {
      if (timeOfKey(e.key)) last = e.key;
    }
    if (last) {
      const m = await readManifest(lake, last, signal);
      if (m) return m;
    }
  }
  return undefined;
}
