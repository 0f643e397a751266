// Leases: which crawler works on a source and region right now (SPEC §6, several crawlers on one lake).
// One record per source and region, `_contrail/leases/<Source>/<region>/active.json`, shared by the daemon's slots and
// `--once` runs so that they exclude each other. Every change is a compare-and-swap on the record's version
// (S3: If-Match / If-None-Match; local: an exclusive link), so of several crawlers taking a free lease one wins.
import * as z from "zod";
import { ContrailError } from "../errors.js";
import { sleep } from "../http/retry.js";
import { type Lake, type SourceName } from "../types.js";
import { META, SOURCE_NAME } from "./keys.js";
import { PROCESS_TABLE, processGone } from "./process.js";
import { parseRecord } from "./records.js";

/**
 * Three minutes: long enough that a renewal every minute survives a slow or retried lake write and clocks a minute
 * apart, short enough that a crawler killed mid-slot costs its successor minutes, not the slot.
 */
export const DEFAULT_LEASE_TTL = 180_000;

/** Attempts at one compare-and-swap while S3 reports a conflicting write in flight (409) and the version holds. */
const CONFLICT_ATTEMPTS = 4;

const iso = z.iso.datetime();
const sourceName = z.string().regex(SOURCE_NAME);

export const leaseSchema = z.object({
  leaseVersion: z.literal(1),
  source: sourceName,
  region: z.string().min(1),
  /** The crawler: host, pid and a random suffix. */
  owner: z.string().min(1),
  /** What it works on: one schedule slot, or `--once` ("now, whatever the slot"). */
  unit: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("slot"), start: iso, end: iso }),
    z.object({ kind: z.literal("now") }),
  ]),
  /** held: at work until expiresAt unless renewed; done: finished (captured or checked); released: given up. */
  state: z.enum(["held", "done", "released"]),
  acquiredAt: iso,
  renewedAt: iso,
  expiresAt: iso,
  finishedAt: iso.optional(),
  /** The holder's pid and process table (./process.ts), so that a restart on the same machine sees it is gone. */
  pid: z.number().int().positive().optional(),
  processTable: z.string().optional(),
});
export type Lease = z.infer<typeof leaseSchema>;
export type LeaseUnit = Lease["unit"];

/** A lease as read or written, with the version a compare-and-swap expects. */
export interface VersionedLease {
  key: string;
  lease: Lease;
  version: string;
}

export function leaseKey(source: SourceName, region: string): string {
  return `${META}/leases/${source}/${region}/active.json`;
}

/** The lease of a source and region, if any; a record that is not a lease is an error naming its key. */
export async function readLease(
  lake: Lake,
  key: string,
  signal?: AbortSignal,
): Promise<VersionedLease | undefined> {
  const got = await lake.getVersioned(key, signal);
  return got
    ? { key, lease: parseRecord(leaseSchema, "lease", key, got.data), version: got.version }
    : undefined;
}

/**
 * A lease in force: held, not yet expired by this host's clock, and not held by a process known to be gone (a
 * crawler of this machine killed mid-unit). Any other lease may be taken over.
 */
export function isLive(lease: Lease, now = Date.now()): boolean {
  return lease.state === "held" && Date.parse(lease.expiresAt) > now && !holderGone(lease);
}

/** Whether the lease's holder was a process of this machine that no longer runs. */
export function holderGone(lease: Lease): boolean {
  return processGone(lease.processTable, lease.pid);
}

export function newLease(
  source: SourceName,
  region: string,
  owner: string,
  unit: LeaseUnit,
  ttl: number,
  now = Date.now(),
): Lease {
  const at = new Date(now).toISOString();
  return {
    leaseVersion: 1,
    source,
    region,
    owner,
    unit,
    state: "held",
    acquiredAt: at,
    renewedAt: at,
    expiresAt: new Date(now + ttl).toISOString(),
    pid: process.pid,
    ...(PROCESS_TABLE ? { processTable: PROCESS_TABLE } : {}),
  };
}

/**
 * Takes the lease unless `refuse` names a reason not to (given the current record, or undefined when there is none).
 * The write expects the version just read, so if another crawler wrote in between, this one reads again and asks
 * `refuse` about the winner's record.
 */
export async function acquireLease(
  lake: Lake,
  key: string,
  fresh: () => Lease,
  refuse: (current: Lease | undefined) => string | undefined,
  signal?: AbortSignal,
): Promise<
  { held: VersionedLease; replaced: Lease | undefined } | { refused: string; current: Lease | undefined }
> {
  for (let round = 0; ; round++) {
    const current = await readLease(lake, key, signal);
    const reason = refuse(current?.lease);
    if (reason) return { refused: reason, current: current?.lease };
    const lease = fresh();
    const version = await swap(lake, key, lease, current?.version ?? null, signal);
    if (version !== undefined) return { held: { key, lease, version }, replaced: current?.lease };
    // Lost a race. The winner's record normally refuses us; a winner that already let go (a very short unit) is
    // free again, but a crawler that keeps losing gives way rather than spin.
    if (round >= 2) return { refused: "another crawler took it first", current: undefined };
  }
}

/** Writes `lease` over `held` (renewal, release); undefined when another crawler has taken it over since. */
export async function replaceLease(
  lake: Lake,
  held: VersionedLease,
  lease: Lease,
  signal?: AbortSignal,
): Promise<VersionedLease | undefined> {
  const version = await swap(lake, held.key, lease, held.version, signal);
  return version === undefined ? undefined : { key: held.key, lease, version };
}

/**
 * One compare-and-swap. A refused write is a lost race only if the record changed: S3's 409
 * ConditionalRequestConflict (another write in flight that may yet fail) leaves it as it was, and is tried again.
 */
async function swap(
  lake: Lake,
  key: string,
  lease: Lease,
  expected: string | null,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const body = JSON.stringify(lease, null, 2);
  for (let attempt = 1; ; attempt++) {
    const version = await lake.putIfVersion(key, body, expected, signal);
    if (version !== undefined) return version;
    const now = await lake.getVersioned(key, signal);
    if ((now?.version ?? null) !== expected) return undefined;
    if (attempt >= CONFLICT_ATTEMPTS) {
      throw new ContrailError("LAKE_IO", `lease ${key}: the lake kept refusing a write nobody else made`, {
        retryable: true,
      });
    }
    await sleep(50 * attempt + Math.random() * 50, signal);
  }
}
