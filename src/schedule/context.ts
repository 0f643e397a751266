// Builds the RunContext a source runs with: the lake-facing helpers (capture, checks, latest, slot state).
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { capture, recordCheck } from "../capture/capture.js";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ContrailError } from "../errors.js";
import { latestManifest } from "../lake/records.js";
import type { Setting } from "../config/settings.js";
import type { SettingsOf, SourceDef } from "../sources/define.js";
import { settingsOf } from "../sources/index.js";
import type { HttpClient, Lake, RunContext, Source, SourceName } from "../types.js";
import { UnitLeases } from "./units.js";

export interface ContextDeps {
  config: Readonly<Config>;
  lake: Lake;
  http: HttpClient & { observed?: (observe: (err: unknown) => void) => HttpClient };
  log: Logger;
  /** Identity in leases; default: host, pid and a random suffix. */
  instanceId?: string;
  onRetry?: (source: SourceName, region: string, err: unknown) => void;
}

export function makeContext<L extends readonly Setting[]>(
  deps: ContextDeps,
  source: SourceDef<string, L>,
  signal: AbortSignal,
  slot?: { start: Date; end: Date },
  units: UnitLeases = unitLeases(deps, source, signal, slot),
): RunContext<SettingsOf<L>> {
  const log = deps.log.child({ source: source.name });
  const { lake } = deps;
  const retry = {
    attempts: deps.config.http.attempts,
    baseDelay: deps.config.http.baseDelay,
    maxDelay: deps.config.http.maxDelay,
  };
  // Work on a unit after its lease was lost would race the crawler that took it over: it fails instead.
  const lostLease = (region: string, cause?: unknown) => {
    const lost = units.lostReason(region);
    return lost && !signal.aborted
      ? new ContrailError("LEASE_LOST", `${source.name} ${region}: ${lost}; unit stopped`, { cause })
      : undefined;
  };
  return {
    config: deps.config,
    // The loader resolved this source's declared settings: the type its run was declared with.
    settings: settingsOf(deps.config, source) as SettingsOf<L>,
    lake,
    http: deps.http.observed ? deps.http.observed((err) => deps.onRetry?.(source.name, "", err)) : deps.http,
    log,
    signal,
    ...(slot ? { slot } : {}),
    capture: async (args) => {
      try {
        const manifest = await capture(
          {
            lake,
            source: source.name,
            log,
            retry,
            signal: units.signalOf(args.region) ?? signal,
            gzipLevel: deps.config.gzipLevel,
            onRetry: (region, err) => deps.onRetry?.(source.name, region, err),
          },
          args,
        );
        return manifest;
      } catch (err) {
        throw lostLease(args.region, err) ?? err;
      }
    },
    recordCheck: async (args) => {
      const lost = lostLease(args.region);
      if (lost) throw lost;
      return recordCheck({ lake, source: source.name, log }, args);
    },
    latest: (region) => latestManifest(lake, source.name, region, signal),
    leases: units,
  };
}

/** The leases of one run of `source`: in `slot`, or "now" for --once. */
export function unitLeases(
  deps: ContextDeps,
  source: Pick<Source, "name">,
  signal: AbortSignal,
  slot?: { start: Date; end: Date },
): UnitLeases {
  return new UnitLeases({
    lake: deps.lake,
    source: source.name,
    owner: deps.instanceId ?? INSTANCE_ID,
    ttl: deps.config.leaseTtl,
    log: deps.log.child({ source: source.name }),
    signal,
    slot,
  });
}

/** This process, among crawlers on one lake: the owner named in the leases it takes. */
export const INSTANCE_ID = `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
