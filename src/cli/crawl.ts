// `contrail crawl`: the daemon, or one cycle with --once.
import { setMaxListeners } from "node:events";
import { ConfigError, errorMessage } from "../errors.js";
import { HistoryFollower } from "../history/follower.js";
import { Metrics } from "../metrics/metrics.js";
import { Scheduler, type RunSummary } from "../schedule/scheduler.js";
import { selectSources } from "../sources/index.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";

/** SPEC §6: exit within 10 s of SIGINT/SIGTERM, whatever is still in flight. */
const SHUTDOWN_GRACE_MS = 9_000;

export async function crawlCommand(
  opts: CommonOptions & { once?: boolean; source?: string[] },
): Promise<number> {
  const rt = await openRuntime(opts);
  const { config, log, lake } = rt;
  const { selected, off } = selectSources(config, opts.source);
  for (const o of off) log.warn({ source: o.source.name, reason: o.reason }, "source off");
  if (selected.length === 0)
    throw new ConfigError("no source is enabled: see `contrail sources` for what each needs");

  const controller = new AbortController();
  // Every request, capture and wait in flight listens on this one signal: dozens at once is normal.
  setMaxListeners(200, controller.signal);
  let forced: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      log.warn({ signal: sig }, "second signal: exiting now");
      process.exit(130);
    }
    log.info({ signal: sig }, "stopping: no new work, aborting captures in flight");
    controller.abort(new Error(`received ${sig}`));
    forced = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(0);
    }, SHUTDOWN_GRACE_MS);
    forced.unref();
  };
  const early = (globalThis as { __contrailEarlySignalHandler?: () => void }).__contrailEarlySignalHandler;
  if (early) {
    process.off("SIGINT", early);
    process.off("SIGTERM", early);
  }
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let stopMetrics: (() => Promise<void>) | undefined;
  let history: HistoryFollower | undefined;
  try {
    log.info(
      { lake: lake.description, sources: selected.map((s) => s.name), once: opts.once ?? false },
      "contrail crawler starting",
    );
    await lake
      .cleanup?.(controller.signal)
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, "lake cleanup failed"));
    const metrics = new Metrics(
      Object.fromEntries(selected.map((s) => [s.name, config.sources[s.name].interval])),
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
      const summaries = await scheduler.runOnce(controller.signal);
      if (controller.signal.aborted) return 0;
      return report(summaries);
    }
    await scheduler.runForever(controller.signal);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    clearTimeout(forced);
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
