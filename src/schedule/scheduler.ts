// Per-source loops on slots counted from the Unix epoch (SPEC §5 Slots), cooldown after failures (SPEC §2).
import { errorMessage, isAbortError } from "../errors.js";
import { sleep } from "../http/retry.js";
import { writeStatus as writeLakeStatus, type RunStatus } from "../lake/records.js";
import { repairNoted } from "../lake/repair.js";
import type { Lake } from "../types.js";
import type { RegionOutcome, Source, SourceName } from "../types.js";
import { settingsOf } from "../sources/index.js";
import { makeContext, unitLeases, type ContextDeps } from "./context.js";

export interface Slot {
  start: Date;
  end: Date;
}

/** Past a lease's expiry before looking again, so that a holder's clock a little ahead does not cost a round. */
const RECHECK_MARGIN_MS = 1000;

export function slotOf(now: number, interval: number): Slot {
  const start = Math.floor(now / interval) * interval;
  return { start: new Date(start), end: new Date(start + interval) };
}

/** A few seconds after the slot starts (a tenth of the interval for short ones), so replicas do not collide. */
export function jitter(interval: number, random = Math.random): number {
  return Math.round(random() * Math.min(5_000, interval / 10));
}

/** Wait after the n-th consecutive failure: cooldown doubled each time, capped at the interval. */
export function cooldownDelay(failures: number, cooldown: number, interval: number): number {
  return Math.min(cooldown * 2 ** Math.max(0, failures - 1), interval);
}

export interface RunSummary {
  source: SourceName;
  outcomes: RegionOutcome[];
  /** Set when the run as a whole failed (e.g. the region index could not be read). */
  error?: Error;
  /** When a unit another crawler was working on may be free again (its lease lapses), if any was. */
  recheckAt?: number;
}

export interface SchedulerEvents {
  onRunEnd?: (summary: RunSummary, durationMs: number) => void;
}

export class Scheduler {
  constructor(
    private readonly deps: ContextDeps,
    private readonly sources: Source[],
    private readonly events: SchedulerEvents = {},
  ) {}

  /** `--once`: one run of every source, concurrently; resolves with every outcome. */
  async runOnce(signal: AbortSignal): Promise<RunSummary[]> {
    return Promise.all(this.sources.map((s) => this.runSource(s, signal)));
  }

  /** The daemon: one loop per source until the signal aborts. */
  async runForever(signal: AbortSignal): Promise<void> {
    await Promise.all(this.sources.map((s) => this.loop(s, signal)));
  }

  private async loop(source: Source, signal: AbortSignal): Promise<void> {
    const settings = settingsOf(this.deps.config, source);
    const log = this.deps.log.child({ source: source.name });
    let failures = 0;
    while (!signal.aborted) {
      const slot = slotOf(Date.now(), settings.interval);
      const summary = await this.runSource(source, signal, slot);
      if (signal.aborted) return;
      const failed = summary.error !== undefined || summary.outcomes.some((o) => o.status === "failed");
      let wait: number;
      if (failed) {
        failures += 1;
        wait = cooldownDelay(failures, settings.cooldown, settings.interval);
        log.warn({ failures, retryInMs: wait }, "run failed; cooling down");
      } else {
        failures = 0;
        const slotWait = Math.max(0, slot.end.getTime() - Date.now()) + jitter(settings.interval);
        // Another crawler's unit in this slot: if it dies, its lease lapses and this one takes the unit over.
        const recheck =
          summary.recheckAt !== undefined ? summary.recheckAt - Date.now() + RECHECK_MARGIN_MS : Infinity;
        wait = Math.max(0, Math.min(slotWait, recheck));
        if (wait < slotWait)
          log.info(
            { recheckAt: new Date(Date.now() + wait).toISOString() },
            "waiting for another crawler's lease",
          );
        else log.info({ nextRunAt: new Date(Date.now() + wait).toISOString() }, "waiting for the next slot");
      }
      try {
        await sleep(wait, signal);
      } catch {
        return;
      }
    }
  }

  private async runSource(source: Source, signal: AbortSignal, slot?: Slot): Promise<RunSummary> {
    const started = Date.now();
    const units = unitLeases(this.deps, source, signal, slot);
    const ctx = makeContext(this.deps, source, signal, slot, units);
    let summary: RunSummary;
    try {
      // What an earlier run of this process left without a manifest, the lake being down then (SPEC §6).
      await repairNoted(this.deps.lake, source.name, ctx.log, signal);
      const outcomes = await source.run(ctx);
      summary = { source: source.name, outcomes };
    } catch (err) {
      if (!isAbortError(err) && !signal.aborted) {
        ctx.log.error({ err: errorMessage(err) }, "run failed");
      }
      summary = { source: source.name, outcomes: [], error: err as Error };
    }
    if (units.heldElsewhereUntil !== undefined) summary.recheckAt = units.heldElsewhereUntil;
    this.events.onRunEnd?.(summary, Date.now() - started);
    // `contrail sources` reads this record; a lake that stops taking writes must be heard of, not swallowed.
    if (!signal.aborted)
      await writeStatus(this.deps.lake, summary, started).catch((err: unknown) =>
        ctx.log.error({ err: errorMessage(err) }, "could not record the run's status in the lake"),
      );
    return summary;
  }
}

/** Records what the latest run did, region by region, for `contrail sources` (e.g. regions not enabled). */
async function writeStatus(lake: Lake, summary: RunSummary, started: number): Promise<void> {
  const status: RunStatus = {
    source: summary.source,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    ...(summary.error ? { error: errorMessage(summary.error) } : {}),
    regions: summary.outcomes.map((o) => ({
      region: o.region,
      status: o.status,
      ...(o.status === "skipped" ? { reason: o.reason } : {}),
      ...(o.status === "failed" ? { error: errorMessage(o.error) } : {}),
      ...(o.status === "captured" ? { key: o.manifest.key } : {}),
    })),
  };
  await writeLakeStatus(lake, status);
}
