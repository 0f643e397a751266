// `contrail crawl`: the daemon, or one cycle with --once.
import { setMaxListeners } from "node:events";
import { ConfigError, errorMessage } from "../errors.js";
import { probeLake } from "../lake/probe.js";
import { repairOrphans } from "../lake/repair.js";
import { HistoryFollower } from "../history/follower.js";
import { Metrics } from "../metrics/metrics.js";
import { Scheduler, type RunSummary } from "../schedule/scheduler.js";
import { selectSources, settingsOf } from "../sources/index.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";
import type { Shutdown } from "./shutdown.js";

export async function crawlCommand(
  opts: CommonOptions & { once?: boolean; source?: string[] },
  shutdown: Shutdown,
): Promise<number> {
  const rt = await openRuntime(opts);
  const { config, log, lake } = rt;
  const { selected, off } = selectSources(config, opts.source);
  for (const o of off) log.warn({ source: o.source.name, reason: o.reason }, "source off");
  if (selected.length === 0)
    throw new ConfigError("no source is enabled: see `contrail sources` for what each needs");

  // Every request, capture and wait in flight listens on this one signal: dozens at once is normal.
  const signal = shutdown.windDown({
    stopping: (sig) => log.info({ signal: sig }, "stopping: no new work, aborting captures in flight"),
    forced: (sig) => log.warn({ signal: sig }, "second signal: exiting now"),
    overdue: () => log.error("shutdown took too long; exiting"),
  });
  setMaxListeners(200, signal);

  let stopMetrics: (() => Promise<void>) | undefined;
  let history: HistoryFollower | undefined;
  try {
    log.info(
      { lake: lake.description, sources: selected.map((s) => s.name), once: opts.once ?? false },
      "contrail crawler starting",
    );
    // Before any download: a lake that cannot take a capture stops the crawler now, exit 2 (SPEC §6).
    await probeLake(lake, config.lakeFrom, signal);
    await lake
      .cleanup?.(signal)
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, "lake cleanup failed"));
    await repairOrphans(
      lake,
      selected.map((s) => s.name),
      log,
      { signal: signal },
    ).catch((err: unknown) =>
      log.warn({ err: errorMessage(err) }, "repair of captures without manifest failed"),
    );
    // Checks that need the network (e.g. the codes of aws.services against the Price List), before any capture.
    for (const s of selected)
      await s.preflight?.({ config, http: rt.http, log: log.child({ source: s.name }), signal });
    const metrics = new Metrics(
      Object.fromEntries(selected.map((s) => [s.name, settingsOf(config, s).interval])),
    );
    if (config.metricsPort !== undefined) {
      const served = await metrics.serve(config.metricsPort);
      stopMetrics = served.close;
      log.info({ port: served.port }, "metrics at /metrics, health at /healthz");
    }
    // The daemon keeps the history (SPEC §8) derived, off the captures' path; `--once` leaves it to `contrail history`.
    history =
      !opts.once && config.history.enabled
        ? new HistoryFollower({ log: log.child({ history: true }), args: lakeArgs(opts) })
        : undefined;
    const scheduler = new Scheduler(
      { config, lake, http: rt.http, log, onRetry: (source) => metrics.onRetry(source) },
      selected,
      {
        onRunEnd: (summary, ms) => {
          metrics.onRunEnd(summary, ms);
          if (summary.outcomes.some((o) => o.status === "captured")) history?.notify(summary.source);
        },
      },
    );
    if (opts.once) {
      const summaries = await scheduler.runOnce(signal);
      if (signal.aborted) return 0;
      return report(summaries);
    }
    await scheduler.runForever(signal);
    return 0;
  } finally {
    await history?.stop();
    await stopMetrics?.();
    await rt.close();
  }
}

function lakeArgs(opts: CommonOptions): string[] {
  return [...(opts.lake ? ["--lake", opts.lake] : []), ...(opts.config ? ["--config", opts.config] : [])];
}

/** One line per failure on stderr, for people and cron mail; exit 1 if anything failed. */
function report(summaries: RunSummary[]): number {
  let failed = 0;
  for (const s of summaries) {
    if (s.error) {
      failed++;
      process.stderr.write(`contrail: ${s.source} failed: ${errorMessage(s.error)}\n`);
    }
    for (const o of s.outcomes) {
      if (o.status === "failed") {
        failed++;
        process.stderr.write(`contrail: ${s.source} ${o.region} failed: ${errorMessage(o.error)}\n`);
      }
    }
  }
  return failed > 0 ? 1 : 0;
}
