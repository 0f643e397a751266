// Prometheus metrics and the health endpoint (SPEC §7), fed by the scheduler's and the captures' events.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RunSummary } from "../schedule/scheduler.js";
import type { SourceName } from "../types.js";

export class Metrics {
  readonly registry = new Registry();
  private readonly captures = new Counter({
    name: "contrail_captures_total",
    help: "Region captures by source and outcome (captured, unchanged, skipped, failed)",
    labelNames: ["source", "outcome"],
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: "contrail_capture_bytes_total",
    help: "Bytes captured: raw (uncompressed content) and stored (gzipped)",
    labelNames: ["source", "kind"],
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: "contrail_run_duration_seconds",
    help: "Duration of one run of a source over all its regions",
    labelNames: ["source"],
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: "contrail_retries_total",
    help: "Retried requests and capture attempts",
    labelNames: ["source"],
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: "contrail_last_success_timestamp_seconds",
    help: "Unix time of the last successful capture or check per source and region",
    labelNames: ["source", "region"],
    registers: [this.registry],
  });
  private readonly runFailures = new Counter({
    name: "contrail_run_failures_total",
    help: "Runs that failed as a whole (e.g. an index could not be read)",
    labelNames: ["source"],
    registers: [this.registry],
  });
  /** Last time each source ran with no failure (or, before that, when the crawler started). */
  private readonly healthy = new Map<SourceName, number>();

  constructor(
    private readonly intervals: Partial<Record<SourceName, number>>,
    startedAt = Date.now(),
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: "contrail_process_" });
    for (const s of Object.keys(intervals) as SourceName[]) this.healthy.set(s, startedAt);
  }

  onRunEnd(summary: RunSummary, durationMs: number): void {
    const { source } = summary;
    this.durations.observe({ source }, durationMs / 1000);
    let failed = summary.error !== undefined;
    if (summary.error) this.runFailures.inc({ source });
    for (const o of summary.outcomes) {
      this.captures.inc({ source, outcome: o.status });
      if (o.status === "failed") failed = true;
      if (o.status === "captured") {
        this.bytes.inc({ source, kind: "raw" }, o.manifest.bytes);
        this.bytes.inc({ source, kind: "stored" }, o.manifest.storedBytes);
        this.lastSuccess.set({ source, region: o.region }, Date.parse(o.manifest.finishedAt) / 1000);
      } else if (o.status === "unchanged") {
        this.lastSuccess.set({ source, region: o.region }, Date.parse(o.check.checkedAt) / 1000);
      }
    }
    if (!failed) this.healthy.set(source, Date.now());
  }

  onRetry(source: SourceName): void {
    this.retries.inc({ source });
  }

  /** Sources that have not succeeded within twice their interval. */
  stale(now = Date.now()): { source: SourceName; lastSuccess: string; interval: number }[] {
    const out = [];
    for (const [source, at] of this.healthy) {
      const interval = this.intervals[source]!;
      if (now - at > 2 * interval) out.push({ source, lastSuccess: new Date(at).toISOString(), interval });
    }
    return out;
  }

  /** Serves /metrics and /healthz on 0.0.0.0:port; resolves with the bound port. */
  async serve(port: number, host = "0.0.0.0"): Promise<{ port: number; close: () => Promise<void> }> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": this.registry.contentType });
      res.end(await this.registry.metrics());
      return;
    }
    if (path === "/healthz") {
      const stale = this.stale();
      res.writeHead(stale.length === 0 ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify(stale.length === 0 ? { status: "ok" } : { status: "stale", stale }));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found: try /metrics or /healthz\n");
  }
}
