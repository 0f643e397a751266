// `contrail sources`: one row per source: enabled or what it needs, interval, latest capture in the lake.
import { formatDuration } from "../config/duration.js";
import { manifestKeys, readManifest } from "../lake/manifests.js";
import { SOURCES, sourceStatus } from "../sources/index.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";
import { table } from "./table.js";

export async function sourcesCommand(opts: CommonOptions): Promise<number> {
  const rt = openRuntime(opts);
  try {
    const rows: string[][] = [["SOURCE", "STATUS", "INTERVAL", "LATEST CAPTURE", "KEY"]];
    for (const source of SOURCES) {
      const status = sourceStatus(rt.config, source);
      const [latestKey] = await manifestKeys(rt.lake, { source: source.name });
      const latest = latestKey ? await readManifest(rt.lake, latestKey) : undefined;
      rows.push([
        source.name,
        status.enabled ? "enabled" : `off: ${status.reason}`,
        formatDuration(rt.config.sources[source.name].interval),
        latest?.capturedAt ?? "-",
        latest?.key ?? "-",
      ]);
    }
    process.stdout.write(`lake: ${rt.lake.description}\n${table(rows)}`);
    return 0;
  } finally {
    await rt.close();
  }
}
