// The leases of one source run: a unit (a region of a source, in a slot or "now" for --once) is worked on only by the
// crawler holding its lease. The holder renews it every quarter of its TTL while it works and lets go when the unit
// ends; a crawler killed mid-unit stops renewing, and its lease lapses after the TTL for the next one to take over.
import type { Logger } from "pino";
import { ContrailError, errorMessage } from "../errors.js";
import { checkPrefix, isoMillis, manifestPrefix, timeOfKey } from "../lake/keys.js";
import {
  acquireLease,
  holderGone,
  isLive,
  leaseKey,
  newLease,
  readLease,
  replaceLease,
  type Lease,
  type LeaseUnit,
  type VersionedLease,
} from "../lake/leases.js";
import type { Lake, SourceName, UnitClaim } from "../types.js";

export interface UnitLeaseOptions {
  lake: Lake;
  source: SourceName;
  owner: string;
  ttl: number;
  log: Logger;
  /** The run's signal: aborting it ends every unit. */
  signal: AbortSignal;
  /** The daemon's slot; undefined for --once. */
  slot?: { start: Date; end: Date } | undefined;
  /** When this run started: a --once run leaves alone a unit another crawler finished since. */
  runStartedAt?: number;
}

/** How far apart two crawlers' clocks may be when one compares the other's timestamps with its own. */
const CLOCK_SKEW_MS = 60_000;

/** A release is a courtesy (an unreleased lease lapses anyway): it must not hold up a shutdown. */
const RELEASE_TIMEOUT_MS = 5000;

/** Why a unit was skipped: the routine reasons of a schedule shared by several crawlers, not problems. */
export const SKIP = {
  slotRecorded: "done in this slot",
  heldElsewhere: "another crawler is working on it",
  doneElsewhere: "captured by another crawler during this run",
} as const;

interface HeldUnit {
  held: VersionedLease;
  controller: AbortController;
  timer: NodeJS.Timeout;
  detach: () => void;
  renewing?: Promise<void> | undefined;
  lost?: string;
  /** The last renewal's error, for the reason given when the unit is abandoned. */
  lastFailure?: string | undefined;
}

export class UnitLeases {
  /** The soonest a live lease of another crawler may lapse: the daemon looks again then, not at the next slot. */
  heldElsewhereUntil: number | undefined;
  private readonly units = new Map<string, HeldUnit>();
  private readonly runStartedAt: number;

  constructor(private readonly opts: UnitLeaseOptions) {
    this.runStartedAt = opts.runStartedAt ?? Date.now();
  }

  // Renewal every quarter of the TTL. A write may take until a third of the TTL is left; a failed one is tried again
  // at the next tick, and the unit is abandoned once less than a third is left, well before anyone may take over.
  private get renewEvery(): number {
    return Math.max(100, Math.floor(this.opts.ttl / 4));
  }
  private get stopMargin(): number {
    return Math.floor(this.opts.ttl / 3);
  }
  private timeLeft(u: HeldUnit): number {
    return Math.floor(Date.parse(u.held.lease.expiresAt) - Date.now() - this.stopMargin);
  }

  /** Takes the unit of `region` for this crawler, or says why not (done in the slot, another crawler on it). */
  async claim(region: string): Promise<UnitClaim> {
    if (this.units.has(region)) return { ok: true };
    const { lake, source, slot, signal } = this.opts;
    const looked = Date.now();
    if (slot && (await recordedInSlot(lake, source, region, slot, signal)))
      return { ok: false, reason: SKIP.slotRecorded };
    const got = await acquireLease(
      lake,
      leaseKey(source, region),
      () => newLease(source, region, this.opts.owner, this.unit(), this.opts.ttl),
      (current) => this.refusal(current),
      signal,
    );
    if ("refused" in got) {
      if (got.current && isLive(got.current)) {
        const until = Date.parse(got.current.expiresAt);
        this.heldElsewhereUntil = Math.min(this.heldElsewhereUntil ?? until, until);
        this.opts.log.info(
          { region, owner: got.current.owner, expiresAt: got.current.expiresAt },
          "another crawler holds this unit; skipping",
        );
      } else this.opts.log.info({ region, owner: got.current?.owner, reason: got.refused }, "unit skipped");
      return { ok: false, reason: got.refused };
    }
    this.track(region, got.held);
    const gone = got.replaced;
    if (gone?.state === "held" && holderGone(gone) && Date.parse(gone.expiresAt) > Date.now())
      this.opts.log.info(
        { region, owner: gone.owner, pid: gone.pid },
        "the crawler that held this unit no longer runs on this machine; taking it over",
      );
    if (
      slot &&
      mayHaveRecorded(got.replaced, looked) &&
      (await recordedInSlot(lake, source, region, slot, signal))
    ) {
      await this.finish(region, "done");
      return { ok: false, reason: SKIP.slotRecorded };
    }
    return { ok: true };
  }

  /** The signal a unit's work listens on: aborted with the run, or when its lease is lost. */
  signalOf(region: string): AbortSignal | undefined {
    return this.units.get(region)?.controller.signal;
  }

  /** Why this crawler lost the unit's lease, if it did (the work must then stop and store nothing more). */
  lostReason(region: string): string | undefined {
    return this.units.get(region)?.lost;
  }

  /** Ends a unit: the lease is marked done (captured or checked) or released (failed), so nobody waits for it. */
  async finish(region: string, state: "done" | "released"): Promise<void> {
    const u = this.units.get(region);
    if (!u) return;
    this.units.delete(region);
    clearInterval(u.timer);
    u.detach();
    await u.renewing;
    if (u.lost) return;
    const at = new Date().toISOString();
    const lease: Lease = { ...u.held.lease, state, finishedAt: at, renewedAt: at, expiresAt: at };
    // Not the run's signal: a unit aborted by SIGTERM still lets go of its lease on the way out.
    await replaceLease(this.opts.lake, u.held, lease, AbortSignal.timeout(RELEASE_TIMEOUT_MS)).catch(
      (err: unknown) =>
        this.opts.log.warn(
          { region, err: errorMessage(err) },
          "could not release a lease; it lapses on its own",
        ),
    );
  }

  /** At the end of a run: lets go of every lease still held (units that failed or were aborted). */
  async finishAll(): Promise<void> {
    await Promise.all([...this.units.keys()].map((region) => this.finish(region, "released")));
  }

  private unit(): LeaseUnit {
    const { slot } = this.opts;
    return slot ? { kind: "slot", start: isoMillis(slot.start), end: isoMillis(slot.end) } : { kind: "now" };
  }

  private refusal(current: Lease | undefined): string | undefined {
    if (!current) return undefined;
    if (current.owner !== this.opts.owner && isLive(current)) return SKIP.heldElsewhere;
    // --once captures "now", but not again what an overlapping run captured since this one started.
    if (
      !this.opts.slot &&
      current.state === "done" &&
      Date.parse(current.finishedAt ?? "") >= this.runStartedAt
    )
      return SKIP.doneElsewhere;
    return undefined;
  }

  private track(region: string, held: VersionedLease): void {
    const controller = new AbortController();
    const { signal } = this.opts;
    // A listener removed when the unit ends (AbortSignal.any on a daemon-long signal would keep every unit alive).
    const forward = () => controller.abort(signal.reason);
    signal.addEventListener("abort", forward, { once: true });
    const timer = setInterval(() => this.renew(region), this.renewEvery);
    timer.unref();
    this.units.set(region, {
      held,
      controller,
      timer,
      detach: () => signal.removeEventListener("abort", forward),
    });
  }

  private renew(region: string): void {
    const u = this.units.get(region);
    if (!u || u.renewing || u.lost) return;
    const now = Date.now();
    const budget = this.timeLeft(u);
    if (budget <= 0) {
      const why = u.lastFailure ? `: ${u.lastFailure}` : "";
      return this.lose(region, u, `the lease could not be renewed in time${why}`);
    }
    const lease: Lease = {
      ...u.held.lease,
      renewedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.opts.ttl).toISOString(),
    };
    const { lake } = this.opts;
    const timeout = AbortSignal.timeout(budget);
    u.renewing = replaceLease(lake, u.held, lease, timeout)
      .then(async (next) => {
        u.lastFailure = undefined;
        if (next) return void (u.held = next);
        // Refused: lost, unless the record is still ours (a renewal that was stored but whose answer never came).
        const current = await readLease(lake, u.held.key, timeout);
        if (current?.lease.owner === this.opts.owner && current.lease.state === "held") u.held = current;
        else this.lose(region, u, "another crawler took the lease over");
      })
      .catch((err: unknown) => {
        u.lastFailure = errorMessage(err);
        if (this.timeLeft(u) <= 0) this.lose(region, u, `the lease could not be renewed: ${u.lastFailure}`);
        else this.opts.log.warn({ region, err: u.lastFailure }, "lease renewal failed; trying again");
      })
      .finally(() => (u.renewing = undefined));
  }

  private lose(region: string, u: HeldUnit, reason: string): void {
    u.lost = reason;
    clearInterval(u.timer);
    this.opts.log.error({ region, reason }, "lease lost; abandoning the unit");
    u.controller.abort(new ContrailError("LEASE_LOST", `${this.opts.source} ${region}: ${reason}`));
  }
}

/**
 * Whether the crawler whose lease was just taken over may have recorded the unit after `looked` (the first look at
 * the slot): one that finished since, or one that died holding it (after its last renewal, for all we know). Even a
 * unit of an earlier slot may have: its check records are stamped when they are made.
 */
function mayHaveRecorded(replaced: Lease | undefined, looked: number): boolean {
  if (!replaced) return false;
  if (replaced.state === "held") return true;
  return Date.parse(replaced.finishedAt ?? replaced.renewedAt) >= looked - CLOCK_SKEW_MS;
}

/** Whether the slot already has a capture or a check of this source and region. */
async function recordedInSlot(
  lake: Lake,
  source: SourceName,
  region: string,
  slot: { start: Date; end: Date },
  signal: AbortSignal,
): Promise<boolean> {
  for (const prefix of [manifestPrefix(source, region), checkPrefix(source, region)]) {
    const startAfter = `${prefix}${isoMillis(new Date(slot.start.getTime() - 1))}.json`;
    for await (const e of lake.list(prefix, { startAfter, signal })) {
      const t = timeOfKey(e.key);
      if (t && t >= slot.start && t < slot.end) return true;
    }
  }
  return false;
}
