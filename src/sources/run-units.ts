// The one way a source runs its units (regions): for each, take its lease, run the source's body (a capture or a
// check), let the lease go, turn the result or the failure into the unit's outcome, and let aborts through. Every
// source calls this; no source touches a lease.
import { errorMessage, isAbortError } from "../errors.js";
import { sleep } from "../http/retry.js";
import type { CheckRecord, Manifest, RegionOutcome, RunContext } from "../types.js";

/**
 * A unit's latest capture when only an optimisation depends on it: a lake that cannot be listed (an S3 policy
 * without s3:ListBucket, with which the capture itself works) costs a warning saying what is lost, not the capture.
 */
export async function latestIfListable(
  ctx: RunContext,
  region: string,
  without: string,
): Promise<Manifest | undefined> {
  try {
    return await ctx.latest(region);
  } catch (err) {
    if (isAbortError(err) || ctx.signal.aborted) throw err;
    ctx.log.warn({ region, err: errorMessage(err) }, `could not read the latest capture; ${without}`);
    return undefined;
  }
}

export interface UnitPolicy {
  /** Units at once (default 1: one after another). */
  concurrency?: number;
  /**
   * One after another: the pause before a unit's download when an earlier unit of the run downloaded (to be
   * gentle with one host). Units that only record a check do not wait.
   */
  pause?: number;
  /** A failure that is no failure of the unit (e.g. a region the account has not enabled: skipped), if it is one. */
  classify?(err: unknown, region: string): RegionOutcome | undefined;
}

export interface Unit {
  region: string;
  /** Call before downloading: waits out the policy's pause after an earlier download of this run. */
  beforeDownload(): Promise<void>;
}

/** What a unit's body gives: its capture's manifest, or the check that found it unchanged. */
export type UnitResult = Manifest | CheckRecord;

/** Runs `body` for each region under its lease; outcomes in the order of `regions`. Throws only aborts. */
export async function runUnits(
  ctx: RunContext,
  regions: readonly string[],
  policy: UnitPolicy,
  body: (unit: Unit) => Promise<UnitResult>,
): Promise<RegionOutcome[]> {
  let downloaded = false;
  const beforeDownload = async () => {
    if (downloaded && policy.pause) await sleep(policy.pause, ctx.signal);
    downloaded = true;
  };
  const one = async (region: string): Promise<RegionOutcome | undefined> => {
    if (ctx.signal.aborted) return undefined;
    let done = false;
    try {
      const claim = await ctx.leases.claim(region);
      if (!claim.ok) return { region, status: "skipped", reason: claim.reason };
      const result = await body({ region, beforeDownload });
      done = true;
      return result.kind === "capture"
        ? { region, status: "captured", manifest: result }
        : { region, status: "unchanged", check: result };
    } catch (err) {
      if (isAbortError(err) || ctx.signal.aborted) throw err;
      const classified = policy.classify?.(err, region);
      if (classified) return classified;
      ctx.log.error({ region, err: errorMessage(err) }, "capture failed");
      return { region, status: "failed", error: err as Error };
    } finally {
      // Done (captured or checked): nobody else takes the unit in this slot. Failed or aborted: free for the next.
      await ctx.leases.finish(region, done ? "done" : "released");
    }
  };
  const outcomes = await mapLimit(regions, policy.concurrency ?? 1, one);
  return outcomes.filter((o): o is RegionOutcome => o !== undefined);
}

/** Runs `fn` over `items`, at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
