// Builds the RunContext a source runs with: the lake-facing helpers (capture, checks, latest, slot state).
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { capture, recordCheck } from "../capture/capture.js";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { checkPrefix, isoMillis, leaseKey, manifestPrefix, timeOfKey } from "../lake/keys.js";
import { latestManifest } from "../lake/records.js";
import type { HttpClient, Lake, RunContext, Source, SourceName } from "../types.js";

export interface ContextDeps {
  config: Readonly<Config>;
  lake: Lake;
  http: HttpClient & { observed?: (observe: (err: unknown) => void) => HttpClient };
  log: Logger;
  /** Identity in slot leases; default: host, pid and a random suffix. */
  instanceId?: string;
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
  const retry = {
    attempts: deps.config.http.attempts,
    baseDelay: deps.config.http.baseDelay,
    maxDelay: deps.config.http.maxDelay,
  };
  return {
    config: deps.config as Config,
    lake,
    http: deps.http.observed ? deps.http.observed((err) => deps.onRetry?.(source.name, "", err)) : deps.http,
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
          gzipLevel: deps.config.gzipLevel,
          onRetry: (region, err) => deps.onRetry?.(source.name, region, err),
        },
        args,
      ),
    recordCheck: (args) => recordCheck({ lake, source: source.name, log }, args),
    latest: (region) => latestManifest(lake, source.name, region, signal),
    doneInSlot: async (region) => {
      if (!slot) return false;
      if (await recordedInSlot(lake, source.name, region, slot, signal)) return true;
      // Replicas on one lake: whoever creates the slot's lease first does the work (a conditional write).
      const claimed = await claimSlot(lake, source.name, region, slot, deps.instanceId ?? INSTANCE_ID);
      if (!claimed) log.info({ region }, "another crawler holds this slot; skipping");
      return !claimed;
    },
  };
}

/** This process, among replicas: leases it writes carry this id so its own retries may go on. */
export const INSTANCE_ID = `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;

async function recordedInSlot(
  lake: Lake,
  source: SourceName,
  region: string,
  slot: { start: Date; end: Date },
  signal: AbortSignal,
) {
  for (const prefix of [manifestPrefix(source, region), checkPrefix(source, region)]) {
    const startAfter = `${prefix}${isoMillis(new Date(slot.start.getTime() - 1))}.json`;
    for await (const e of lake.list(prefix, { startAfter, signal })) {
      const t = timeOfKey(e.key);
      if (t && t >= slot.start && t < slot.end) return true;
    }
  }
  return false;
}

/**
 * Takes the lease of (source, region, slot): true when this process holds it (now or from an earlier attempt).
 * Leases are never overwritten or removed by the crawler; an S3 lifecycle rule on `_contrail/leases/` may expire them.
 */
export async function claimSlot(
  lake: Lake,
  source: SourceName,
  region: string,
  slot: { start: Date; end: Date },
  owner: string,
): Promise<boolean> {
  const key = leaseKey(source, region, slot.start);
  const lease = {
    owner,
    slotStart: isoMillis(slot.start),
    slotEnd: isoMillis(slot.end),
    acquiredAt: new Date().toISOString(),
  };
  if (await lake.putBytes(key, JSON.stringify(lease), { ifAbsent: true })) return true;
  const existing = await lake.getBytes(key);
  if (!existing) return false;
  try {
    return (JSON.parse(existing.toString("utf8")) as { owner?: string }).owner === owner;
  } catch {
    return false;
  }
}
