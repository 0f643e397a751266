// The lake's layout (SPEC §5): data where the original crawler put it, Contrail's own records under `_contrail/`
// (a leading underscore, so Hive, Spark and Athena skip it when they read a source's folder).
import type { SourceName } from "../types.js";

export const META = "_contrail";

/** What a source name may be: one key segment, never `_contrail` (SPEC §4's names and AWS service codes fit). */
export const SOURCE_NAME = /^[A-Za-z][A-Za-z0-9._-]*$/;

export function isoMillis(d: Date): string {
  return d.toISOString();
}

/** `<Source>/<region>/<capturedAt>.json.gz` */
export function captureKey(source: SourceName, region: string, capturedAt: Date): string {
  return `${source}/${region}/${isoMillis(capturedAt)}.json.gz`;
}

export function manifestPrefix(source?: SourceName, region?: string): string {
  return [META, "manifests", source, region].filter(Boolean).join("/") + "/";
}

/** The manifest of a capture: `_contrail/manifests/<Source>/<region>/<capturedAt>.json`. */
export function manifestKey(source: SourceName, region: string, capturedAt: Date | string): string {
  const at = typeof capturedAt === "string" ? capturedAt : isoMillis(capturedAt);
  return `${manifestPrefix(source, region)}${at}.json`;
}

export function checkPrefix(source?: SourceName, region?: string): string {
  return [META, "checks", source, region].filter(Boolean).join("/") + "/";
}

/** A record that a region was checked and found unchanged: `_contrail/checks/<Source>/<region>/<checkedAt>.json`. */
export function checkKey(source: SourceName, region: string, checkedAt: Date): string {
  return `${checkPrefix(source, region)}${isoMillis(checkedAt)}.json`;
}

/** The time a manifest or check key stands for, from its file name; undefined for foreign keys. */
export function timeOfKey(key: string): Date | undefined {
  const m = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\.json(\.gz)?$/.exec(key);
  return m ? new Date(m[1]!) : undefined;
}

/** Source and region of a manifest or check key. */
export function partsOfMetaKey(key: string): { source: string; region: string } | undefined {
  const m = /^_contrail\/(?:manifests|checks)\/([^/]+)\/([^/]+)\/[^/]+$/.exec(key);
  return m ? { source: m[1]!, region: m[2]! } : undefined;
}

/** The outcome of a source's latest run (last writer wins): `_contrail/status/<Source>.json`. */
export function statusKey(source: SourceName): string {
  return `${META}/status/${source}.json`;
}
