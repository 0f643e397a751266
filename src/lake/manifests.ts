// Reading the lake's records: manifests of captures, newest first, filtered by source and region.
import type { Lake, Manifest } from "../types.js";
import { SOURCE_NAMES, type SourceName } from "../types.js";
import { manifestPrefix, timeOfKey } from "./keys.js";

export interface ManifestFilter {
  source?: SourceName;
  region?: string;
}

/** Keys of every manifest matching the filter, newest first (by capture time, then key). */
export async function manifestKeys(lake: Lake, filter: ManifestFilter = {}): Promise<string[]> {
  const sources = filter.source ? [filter.source] : [...SOURCE_NAMES];
  const keys: string[] = [];
  for (const source of sources) {
    for await (const e of lake.list(manifestPrefix(source, filter.region))) {
      if (timeOfKey(e.key)) keys.push(e.key);
    }
  }
  return keys.sort((a, b) => timeOfKey(b)!.getTime() - timeOfKey(a)!.getTime() || (a < b ? 1 : -1));
}

export async function readManifest(lake: Lake, key: string): Promise<Manifest | undefined> {
  const bytes = await lake.getBytes(key);
  return bytes ? (JSON.parse(bytes.toString("utf8")) as Manifest) : undefined;
}
