// Builds the RunContext a source runs with: the lake-facing helpers (capture, checks, latest, slot state).
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { capture, recordCheck } from "../capture/capture.js";
import { checkPrefix, isoMillis, manifestPrefix, timeOfKey } from "../lake/keys.js";
import type { HttpClient, Lake, Manifest, RunContext, Source, SourceName } from "../types.js";

export interface ContextDeps {
  config: Readonly<Config>;
  lake: Lake;
  http: HttpClient;
  log: Logger;
  gzipLevel?: number;
  onRetry?: (source: SourceName, region: string, err: unknown) => void;
}

export function makeContext(
  deps: ContextDeps,
  source: Source,
  signal: AbortSignal,
  slot?: { start: Date; end: Date },
): RunContext {
  const log = deps.log.child({ source: source.name });
  const { lake } = deps;
  const retry = { attempts: deps.config.http.attempts, baseDelay: deps.config.http.baseDelay, maxDelay: deps.config.http.maxDelay };
  return {
    config: deps.config as Config,
    lake,
    http: deps.http,
    log,
    signal,
    ...(slot ? { slot } : {}),
    capture: (args) =>
      capture(
        {
          lake,
          source: source.name,
          log,
          retry,
          signal,
          ...(deps.gzipLevel !== undefined ? { gzipLevel: deps.gzipLevel } : {}),
          onRetry: (region, err) => deps.onRetry?.(source.name, region, err),
        },
        args,
      ),
    recordCheck: (args) => recordCheck({ lake, source: source.name, log }, args),
    latest: (region) => latestManifest(lake, source.name, region, signal),
    doneInSlot: async (region) => {
      if (!slot) return false;
      for (const prefix of [manifestPrefix(source.name, region), checkPrefix(source.name, region)]) {
        const startAfter = `${prefix}${isoMillis(new Date(slot.start.getTime() - 1))}.json`;
        for await (const e of lake.list(prefix, { startAfter, signal })) {
          const t = timeOfKey(e.key);
          if (t && t >= slot.start && t < slot.end) return true;
        }
      }
      return false;
    },
  };
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
    const startAfter = lookback === undefined ? undefined : `${prefix}${isoMillis(new Date(Date.now() - lookback))}`;
    let last: string | undefined;
    for await (const e of lake.list(prefix, { ...(startAfter ? { startAfter } : {}), ...(signal ? { signal } : {}) })) {
      if (timeOfKey(e.key)) last = e.key;
    }
    if (last) {
      const bytes = await lake.getBytes(last, signal);
      if (bytes) return JSON.parse(bytes.toString("utf8")) as Manifest;
    }
  }
  return undefined;
}
