// `contrail sources`: one row per source: enabled or what it needs, interval, latest capture in the lake.
import { formatDuration } from "../config/duration.js";
import { SKIP } from "../schedule/units.js";
import type { Lake, SourceName } from "../types.js";
import { manifestKeys, readManifest, readStatus } from "../lake/records.js";
import { FACTORIES, settingsOf, sourcesFor, sourceStatus } from "../sources/index.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";
import { table } from "./table.js";

export async function sourcesCommand(opts: CommonOptions): Promise<number> {
  const rt = await openRuntime(opts);
  try {
    const rows: string[][] = [["SOURCE", "STATUS", "INTERVAL", "LATEST CAPTURE", "KEY", "LAST RUN"]];
    for (const source of sourcesFor(rt.config)) {
      const status = sourceStatus(rt.config, source);
      const [latestKey] = await manifestKeys(rt.lake, { source: source.name });
      const latest = latestKey ? await readManifest(rt.lake, latestKey) : undefined;
      rows.push([
        source.name,
        status.enabled ? "enabled" : `off: ${status.reason}`,
        formatDuration(settingsOf(rt.config, source).interval),
        latest?.capturedAt ?? "-",
        latest?.key ?? "-",
        await lastRun(rt.lake, source.name),
      ]);
    }
    // A kind of source made from the configuration, none configured: what to set to have some.
    for (const factory of FACTORIES) {
      if (!factory.doc || !factory.unset || factory(rt.config).length > 0) continue;
      rows.push([
        factory.doc.name,
        `off: ${factory.unset}`,
        formatDuration(factory.doc.defaultInterval),
        "-",
        "-",
        "-",
      ]);
    }
    process.stdout.write(`lake: ${rt.lake.description}\n${table(rows)}`);
    return 0;
  } finally {
    await rt.close();
  }
}

/** What the latest run said beyond its captures: regions skipped (e.g. not enabled for the account), failures. */
async function lastRun(lake: Lake, source: SourceName): Promise<string> {
  // A corrupt record is an error naming its key (LAKE_CORRUPT, one line from main), never a silent "-".
  const status = await readStatus(lake, source);
  if (!status) return "-";
  const notes: string[] = [];
  if (status.error) notes.push(`failed: ${status.error}`);
  const failed = status.regions.filter((r) => r.status === "failed").map((r) => r.region);
  if (failed.length) notes.push(`failed in ${failed.join(", ")}`);
  const routine = new Set<string | undefined>(Object.values(SKIP));
  const skipped = status.regions.filter((r) => r.status === "skipped" && !routine.has(r.reason));
  const byReason = new Map<string, string[]>();
  for (const r of skipped)
    byReason.set(r.reason ?? "skipped", [...(byReason.get(r.reason ?? "skipped") ?? []), r.region]);
  for (const [reason, regions] of byReason) notes.push(`skipped ${regions.join(", ")}: ${reason}`);
  const ok = status.regions.filter((r) => r.status === "captured" || r.status === "unchanged").length;
  return `${status.finishedAt} ${ok} ok${notes.length ? `; ${notes.join("; ")}` : ""}`;
}
