// JSON lines on stdout (pretty on a terminal), child loggers per source and capture, secrets redacted by config.
import pino, { type Logger } from "pino";

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
  "config.azure.clientSecret",
  "config.aws.credentials",
];

export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  const base = {
    level,
    base: { app: "contrail" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: "[redacted]" },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (pretty) {
    return pino(
      base,
      pino.transport({ target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss" } }),
    );
  }
  return pino(
    base,
    (opts.destination ?? pino.destination({ dest: 1, sync: true })) as pino.DestinationStream,
  );
}

export type { Logger };
