// `contrail ls`: captures in the lake, newest first.
import { ConfigError } from "../errors.js";
import { manifestKeys, readManifest } from "../lake/records.js";
import { sourceByName } from "../sources/index.js";
import { SOURCE_NAMES, type SourceName } from "../types.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";
import { table } from "./table.js";

export function sourceFilter(name: string | undefined): SourceName | undefined {
  if (name === undefined) return undefined;
  const found =
    SOURCE_NAMES.find((n) => n.toLowerCase() === name.trim().toLowerCase()) ?? sourceByName(name)?.name;
  if (!found)
    throw new ConfigError(`--source ${JSON.stringify(name)}: expected one of ${SOURCE_NAMES.join(", ")}`);
  return found;
}

export async function lsCommand(
  opts: CommonOptions & { source?: string; region?: string; json?: boolean },
): Promise<number> {
  const source = sourceFilter(opts.source);
  const rt = await openRuntime(opts);
  try {
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
