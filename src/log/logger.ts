// JSON lines on stdout (one line of text per event on a terminal), child loggers per source and capture,
// secrets redacted by configuration.
import pino, { type Logger } from "pino";
import { PROVIDERS } from "../sources/providers.js";
import { PrettyDestination } from "./pretty.js";
import { LogProgress, TtyProgress, type ProgressReporter } from "./progress.js";
import { Terminal, type TerminalStream } from "./terminal.js";

/** Paths whose values never reach a log line, wherever a careless call site puts them. */
export const REDACT = [
  "secret",
  "clientSecret",
  "secretAccessKey",
  "sessionToken",
  "password",
  "token",
  "accessToken",
  "authorization",
  "headers.authorization",
  "*.secret",
  "*.clientSecret",
  "*.secretAccessKey",
  "*.sessionToken",
  "*.authorization",
  "*.token",
  "*.accessToken",
  // The providers' secret settings (and values derived from them), wherever a whole config is logged.
  ...PROVIDERS.flatMap((p) =>
    [...p.settings.filter((s) => s.secret).map((s) => s.key), ...(p.derivedSecrets ?? [])].map(
      (key) => `config.${p.key}.${key}`,
    ),
  ),
];

/** Shorter values are not scrubbed from log lines: they would cut up ordinary words (no real secret is this short). */
const MIN_SCRUBBED = 8;

/**
 * The values of the configuration's secrets (every provider's `secret` settings): a secret that travels inside a
 * URL (Google's API key in `key=`) can reach a log line inside any string, where redaction by path cannot see it.
 */
export function secretValues(config: Readonly<Record<string, unknown>>): string[] {
  return PROVIDERS.flatMap((p) =>
    p.settings
      .filter((s) => s.secret)
      .map((s) => (config[p.key] as Record<string, unknown> | undefined)?.[s.key]),
  ).filter((v): v is string => typeof v === "string" && v.length >= MIN_SCRUBBED);
}

/** Takes every secret's value out of each serialised line, as written, JSON-escaped or percent-encoded. */
function scrubber(secrets: readonly string[]): (line: string) => string {
  const forms = [
    ...new Set(
      secrets
        .filter((v) => v.length >= MIN_SCRUBBED)
        .flatMap((v) => [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)]),
    ),
  ];
  return (line) => {
    let out = line;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join("[redacted]");
    return out;
  };
}

export interface Console {
  log: Logger;
  /** Where the HTTP client reports downloads: a live status line on a terminal, log lines otherwise. */
  progress: ProgressReporter;
}

/**
 * On a terminal (and not in CI): one line of text per event and live download progress. Otherwise JSON lines on
 * stdout, for log collectors, with progress as a log line every 10 s.
 */
export function createConsole(
  level: string,
  opts: { pretty?: boolean; destination?: TerminalStream; secrets?: readonly string[] } = {},
): Console {
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  const base = {
    level,
    base: { app: "contrail" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: "[redacted]" },
    ...(opts.secrets?.length ? { hooks: { streamWrite: scrubber(opts.secrets) } } : {}),
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (pretty) {
    const term = new Terminal(opts.destination ?? process.stdout);
    return { log: pino(base, new PrettyDestination(term)), progress: new TtyProgress(term) };
  }
  const log = pino(
    base,
    (opts.destination ?? pino.destination({ dest: 1, sync: true })) as pino.DestinationStream,
  );
  return { log, progress: new LogProgress(log) };
}

export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: TerminalStream; secrets?: readonly string[] } = {},
): Logger {
  return createConsole(level, opts).log;
}

export type { Logger };
