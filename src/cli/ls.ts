// `contrail ls`: captures in the lake, newest first.
import type { BaseConfig } from "../config/schema.js";
import { manifestKeys, readManifest } from "../lake/records.js";
import { sourceNamed } from "../sources/index.js";
import type { SourceName } from "../types.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";
import { table } from "./table.js";

/** `--source S` of `ls` and `verify`: a source of this configuration, by its name in any case. */
export function sourceFilter(config: BaseConfig, name: string | undefined): SourceName | undefined {
  return name === undefined ? undefined : sourceNamed(config, name).name;
}

export async function lsCommand(
  opts: CommonOptions & { source?: string; region?: string; json?: boolean },
): Promise<number> {
  const rt = await openRuntime(opts);
  try {
    const source = sourceFilter(rt.config, opts.source);
    const keys = await manifestKeys(rt.lake, {
      ...(source ? { source } : {}),
      ...(opts.region ? { region: opts.region } : {}),
    });
    const rows: string[][] = [["KEY", "CAPTURED AT", "BYTES", "STORED", "SHA256", "VERSION"]];
    for (const key of keys) {
      const m = await readManifest(rt.lake, key);
      if (!m) continue;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(m)}\n`);
        continue;
      }
      rows.push([
        m.key,
        m.capturedAt,
        String(m.bytes),
        String(m.storedBytes),
        m.sha256,
        m.version ?? m.etag ?? "-",
      ]);
    }
    if (!opts.json) {
      process.stdout.write(keys.length === 0 ? `no captures in ${rt.lake.description}\n` : table(rows));
    }
    return 0;
  } finally {
    await rt.close();
  }
}
