// What a source and a provider are: one description each, from which the config schema, the resolved Config type,
// `contrail sources`, `--source` validation, the docs' tables and the fault suite's source list are all built.
import type { BaseConfig, SourceSettings } from "../config/schema.js";
import type { Resolved, Setting } from "../config/settings.js";
import type { Logger } from "pino";
import type { HttpClient, RegionOutcome, RunContext } from "../types.js";

/** A source's settings as its run sees them: the common ones and its own (any source's: the common ones). */
export type SettingsOf<L extends readonly Setting[]> = string extends L[number]["key"]
  ? SourceSettings
  : SourceSettings & Resolved<L>;

export interface SourceDef<N extends string = string, L extends readonly Setting[] = readonly Setting[]> {
  /** The name in keys, manifests and `--source` (SPEC §4). */
  readonly name: N;
  /** What it captures, for people (the docs' table). */
  readonly summary: string;
  /** The region segment of its keys, for people (`regionCode`, `global`). */
  readonly unit: string;
  /** What it needs to be enabled, for people ("nothing" when it runs with no configuration). */
  readonly needs: string;
  /** Default interval in ms (SPEC §4). */
  readonly defaultInterval: number;
  /** Its own settings under `sources.<Name>`, besides `enabled`, `interval` and `cooldown`. */
  readonly settings: L;
  /** Settings missing for this source to run, as the names a user sets (env var names); [] when ready. */
  missing(config: BaseConfig, settings: SettingsOf<L>): string[];
  /** One run: every unit (region) of the source. Never throws for a single unit's failure; reports it. */
  run(ctx: RunContext<SettingsOf<L>>): Promise<RegionOutcome[]>;
  /**
   * Checks `crawl` makes at start-up, before any capture, that need the network (e.g. that a configured service
   * code exists upstream): a ConfigError stops the crawler (exit 2).
   */
  preflight?(ctx: PreflightContext): Promise<void>;
}

/** What a source's start-up check sees. */
export interface PreflightContext {
  config: BaseConfig;
  http: HttpClient;
  log: Logger;
  signal: AbortSignal;
}

/** Any source, whatever its settings (its run and needs see its own: methods, so any source is one). */
export interface Source {
  readonly name: string;
  readonly summary: string;
  readonly unit: string;
  readonly needs: string;
  readonly defaultInterval: number;
  readonly settings: readonly Setting[];
  missing(config: BaseConfig, settings: SourceSettings): string[];
  run(ctx: RunContext): Promise<RegionOutcome[]>;
  preflight?(ctx: PreflightContext): Promise<void>;
}

/** Declares a source; the name and settings keep their literal types for the Config type. */
export function defineSource<const N extends string, const L extends readonly Setting[]>(
  d: SourceDef<N, L>,
): SourceDef<N, L> {
  return d;
}

/**
 * Sources made from the configuration (e.g. one per AWS Price List service code of `aws.services`): called by the
 * loader once the provider sections are resolved; the sources it returns get `sources.<Name>` settings like any.
 */
export interface SourceFactory {
  (config: BaseConfig): Source[];
  /** One of its sources as the docs' tables show it, named by what a user puts there (`<service code>`). */
  readonly doc?: Source;
  /** While it makes no source, what to set to get some (`contrail sources` shows it in place of `doc`'s row). */
  readonly unset?: string;
}

/** A provider's section of the config (`aws`, `azure`): its settings, declared once for all its sources. */
export interface ProviderDef<
  K extends string = string,
  L extends readonly Setting[] = readonly Setting[],
  D = unknown,
> {
  /** The config file section and the resolved Config's key. */
  readonly key: K;
  readonly settings: L;
  /** Values computed from the settings, with their own checks (e.g. AWS credentials from a key pair). */
  derive?(values: Resolved<L>, env: NodeJS.ProcessEnv): D;
  /** Derived keys that hold secrets (redacted from logs like secret settings). */
  readonly derivedSecrets?: readonly string[];
}

/** A provider's resolved section. */
export type ProviderConfig<P> = P extends ProviderDef<string, infer L, infer D> ? Resolved<L> & D : never;

export function defineProvider<
  const K extends string,
  const L extends readonly Setting[],
  D = Record<never, never>,
>(p: ProviderDef<K, L, D>): ProviderDef<K, L, D> {
  return p;
}
