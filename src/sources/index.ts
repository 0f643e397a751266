// The registry of sources, in SPEC §4 order.
import { ConfigError } from "../errors.js";
import type { Config } from "../config/schema.js";
import { SOURCE_NAMES, type Source, type SourceName } from "../types.js";
import { amazonEc2 } from "./aws-ec2.js";
import { amazonEc2Spot } from "./aws-spot/index.js";
import { azure } from "./azure/ratecard.js";
import { azureRetail } from "./azure/retail.js";

export const SOURCES: Source[] = [amazonEc2, amazonEc2Spot, azure, azureRetail];

export function sourceByName(name: string): Source | undefined {
  return SOURCES.find((s) => s.name.toLowerCase() === name.trim().toLowerCase());
}

export interface SourceStatus {
  source: Source;
  enabled: boolean;
  /** Why it is off: the settings that are missing, or "disabled in the config file". */
  reason?: string;
}

export function sourceStatus(config: Config, source: Source): SourceStatus {
  const setting = config.sources[source.name].enabled;
  if (setting === false)
    return { source, enabled: false, reason: `disabled by sources.${source.name}.enabled` };
  const missing = source.missing(config);
  if (missing.length > 0) return { source, enabled: false, reason: `needs ${missing.join(", ")}` };
  return { source, enabled: true };
}

/** Resolves `--source` values (repeatable, comma-separated, case-insensitive) to sources; none: every enabled one. */
export function selectSources(
  config: Config,
  names: string[] | undefined,
): { selected: Source[]; off: SourceStatus[] } {
  const wanted = (names ?? [])
    .flatMap((n) => n.split(","))
    .map((n) => n.trim())
    .filter(Boolean);
  if (wanted.length === 0) {
    const statuses = SOURCES.map((s) => sourceStatus(config, s));
    return {
      selected: statuses.filter((s) => s.enabled).map((s) => s.source),
      off: statuses.filter((s) => !s.enabled),
    };
  }
  const selected: Source[] = [];
  for (const name of wanted) {
    const source = sourceByName(name);
    if (!source) {
      throw new ConfigError(`--source ${JSON.stringify(name)}: expected one of ${SOURCE_NAMES.join(", ")}`);
    }
    const status = sourceStatus(config, source);
    if (!status.enabled)
      throw new ConfigError(`--source ${source.name}: this source is off (${status.reason})`);
    if (!selected.includes(source)) selected.push(source);
  }
  return { selected, off: [] };
}

export type { SourceName };
