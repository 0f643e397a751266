// The registry of sources, in SPEC §4 order: adding a source is its folder and one line here. Config, `contrail
// sources`, `--source`, `ls`, the docs' tables and the fault suite are all built from this list.
import type { BaseConfig, Config, SourceSettings } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { amazonEc2 } from "./aws-ec2.js";
import { awsComputeSavingsPlan } from "./aws-pricelist/savings-plan.js";
import { priceListServices } from "./aws-pricelist/services.js";
import { amazonEc2Spot } from "./aws-spot/index.js";
import { azure } from "./azure/ratecard.js";
import { azureRetail } from "./azure/retail.js";
import { amazonEc2SpotAdvisor } from "./aws-spot-advisor/index.js";
import { amazonEc2SpotFeed } from "./aws-spot-feed/index.js";
import { oracleCloud } from "./oracle/index.js";
import type { Source, SourceFactory } from "./define.js";
import { googleCloud } from "./gcp/index.js";

export const SOURCES = [
  amazonEc2,
  amazonEc2Spot,
  azure,
  azureRetail,
  awsComputeSavingsPlan,
  amazonEc2SpotAdvisor,
  amazonEc2SpotFeed,
  oracleCloud,
  googleCloud,
] as const;

/** Sources made from the configuration (issue 11: one per service code of `aws.services`). */
export const FACTORIES: readonly SourceFactory[] = [priceListServices];

/** Every source of a configuration: the registry's, then those its factories make. */
export function sourcesFor(config: BaseConfig): Source[] {
  return [...SOURCES, ...FACTORIES.flatMap((make) => make(config))];
}

export function sourceByName(config: BaseConfig, name: string): Source | undefined {
  return sourcesFor(config).find((s) => s.name.toLowerCase() === name.trim().toLowerCase());
}

/** A source's resolved settings (the loader resolves them for every source of the configuration). */
export function settingsOf(config: Config, source: Source): SourceSettings {
  const settings = config.sources[source.name];
  if (!settings) throw new Error(`no settings resolved for source ${source.name}`);
  return settings;
}

/** `--source NAME`: the source of that name (case-insensitive), or a ConfigError listing every name. */
export function sourceNamed(config: BaseConfig, name: string, flag = "--source"): Source {
  const source = sourceByName(config, name);
  if (!source) {
    const names = sourcesFor(config).map((s) => s.name);
    throw new ConfigError(`${flag} ${JSON.stringify(name)}: expected one of ${names.join(", ")}`);
  }
  return source;
}

export interface SourceStatus {
  source: Source;
  enabled: boolean;
  /** Why it is off: the settings that are missing, or "disabled in the config file". */
  reason?: string;
}

export function sourceStatus(config: Config, source: Source): SourceStatus {
  const settings = settingsOf(config, source);
  if (settings.enabled === false)
    return { source, enabled: false, reason: `disabled by sources.${source.name}.enabled` };
  const missing = source.missing(config, settings);
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
    const statuses = sourcesFor(config).map((s) => sourceStatus(config, s));
    return {
      selected: statuses.filter((s) => s.enabled).map((s) => s.source),
      off: statuses.filter((s) => !s.enabled),
    };
  }
  const selected: Source[] = [];
  for (const name of wanted) {
    const source = sourceNamed(config, name);
    const status = sourceStatus(config, source);
    if (!status.enabled)
      throw new ConfigError(`--source ${source.name}: this source is off (${status.reason})`);
    if (!selected.includes(source)) selected.push(source);
  }
  return { selected, off: [] };
}

export type { Source };
