// One declaration per setting, resolved generically (SPEC §3): environment variable > config file > default. The
// config file's shape, the resolved type and the docs' tables all come from the same declarations, so a setting
// that is read must have been declared (the compiler checks the resolved type).
import * as z from "zod";
import { ConfigError } from "../errors.js";

/** A default computed from the settings resolved before this one (in declaration order) and the environment. */
export type Defaulter<T> = (resolved: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv) => T;

export interface Setting<K extends string = string, T = unknown, R extends boolean = boolean> {
  /** Its key in the config file section (and in the resolved config). */
  readonly key: K;
  /** Environment variables that set it, the first one set wins. */
  readonly env: readonly string[];
  /** Validates (and normalises) an environment variable's text and the config file's value alike. */
  readonly schema: z.ZodType<T, unknown>;
  readonly default?: T | Defaulter<T>;
  /** From the environment only; its value is never quoted back in an error and never logged. */
  readonly secret?: boolean;
  /** false: the environment only, not the config file (e.g. AWS_ACCESS_KEY_ID, the SDK's own variable). */
  readonly inFile?: boolean;
  /** What it is, for people (the docs' configuration table). */
  readonly doc: string;
  /** The default as people read it, when the value alone does not say it (`"3m"`, "each region's endpoint"). */
  readonly defaultDoc?: string;
  /** Type-level only: whether the resolved value is always set (the setting has a default). */
  readonly required?: R;
}

type SettingInput<K extends string, T> = {
  key: K;
  env?: string | readonly string[];
  schema: z.ZodType<T, unknown>;
  secret?: boolean;
  inFile?: boolean;
  doc: string;
  defaultDoc?: string;
};

/** Declares a setting; with a default, its resolved value is never undefined. */
export function setting<const K extends string, T>(
  d: SettingInput<K, T> & { default: NoInfer<T> | Defaulter<NoInfer<T>> },
): Setting<K, T, true>;
export function setting<const K extends string, T>(d: SettingInput<K, T>): Setting<K, T, false>;
export function setting(d: SettingInput<string, unknown> & { default?: unknown }): Setting {
  return { ...d, env: d.env === undefined ? [] : [d.env].flat() } as Setting;
}

type ValueOf<S> =
  S extends Setting<string, infer T, infer R> ? ([R] extends [true] ? T : T | undefined) : never;

/** The resolved values of a list of settings, by key. */
export type Resolved<L extends readonly Setting[]> = { [S in L[number] as S["key"]]: ValueOf<S> };

/** The config file section of `list`: every declared key optional, secrets and env-only settings absent. */
export function fileShape(list: readonly Setting[]): Record<string, z.ZodType> {
  return Object.fromEntries(
    list.filter((s) => !s.secret && s.inFile !== false).map((s) => [s.key, s.schema.optional()]),
  );
}

/**
 * Resolves every setting of `list`: its environment variables, else `file` (the section as the file schema parsed
 * it), else its default. A bad environment value is a ConfigError naming the variable (and the value, unless secret).
 */
export function resolveSettings<L extends readonly Setting[]>(
  list: L,
  env: NodeJS.ProcessEnv,
  file: Readonly<Record<string, unknown>> | undefined,
): Resolved<L> {
  const out: Record<string, unknown> = {};
  for (const s of list) {
    let value: unknown;
    for (const name of s.env) {
      value = fromEnv(env, name, s.schema, s.secret === true);
      if (value !== undefined) break;
    }
    if (value === undefined && s.secret !== true && s.inFile !== false) value = file?.[s.key];
    if (value === undefined && s.default !== undefined)
      value = typeof s.default === "function" ? (s.default as Defaulter<unknown>)(out, env) : s.default;
    out[s.key] = value;
  }
  return out as Resolved<L>;
}

/** The first of `names` that is set in the environment (non-blank), if any. */
export function envSet(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  return names.find((n) => nonEmpty(env[n]) !== undefined);
}

function fromEnv<T>(
  env: NodeJS.ProcessEnv,
  name: string,
  schema: z.ZodType<T, unknown>,
  secret: boolean,
): T | undefined {
  const v = nonEmpty(env[name]);
  if (v === undefined) return undefined;
  const r = schema.safeParse(v);
  if (!r.success) {
    const what = r.error.issues[0]?.message ?? "invalid value";
    throw new ConfigError(secret ? `${name}: ${what}` : `${name}=${JSON.stringify(v)}: ${what}`);
  }
  return r.data;
}

export function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}
