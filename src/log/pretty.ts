// Log events for people on a terminal: one line each, `12:04:05 INFO  message  key=value …`. The same fields as
// the JSON lines (pino writes the JSON, this turns each line into text), so nothing logged is lost on a terminal.
import type { Terminal } from "./terminal.js";

/** Fields every line has, shown in their own places or not at all. */
const HIDDEN = new Set(["level", "time", "msg", "app", "pid", "hostname"]);

const LEVEL_COLOR: Record<string, number> = {
  trace: 90,
  debug: 90,
  info: 32,
  warn: 33,
  error: 31,
  fatal: 35,
};

const paint = (on: boolean, code: number, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

/** One event as one line of text: no line breaks, whatever its message and fields contain. */
export function formatEvent(event: Record<string, unknown>, colors = false): string {
  const level = typeof event.level === "string" ? event.level : "info";
  const parts = [
    paint(colors, 2, clock(event.time)),
    paint(colors, LEVEL_COLOR[level] ?? 0, level.toUpperCase().padEnd(5)),
    oneLine(String(event.msg ?? "")),
  ];
  for (const [key, value] of Object.entries(event)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    parts.push(`${paint(colors, 2, `${key}=`)}${fieldText(value)}`);
  }
  return parts.join(" ");
}

/** Local wall-clock time, as people read it next to their own clock. */
function clock(time: unknown): string {
  const d = new Date(typeof time === "string" || typeof time === "number" ? time : Date.now());
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Plain words stay bare; anything with spaces, quotes or control characters is quoted as JSON. */
function fieldText(value: unknown): string {
  if (typeof value === "string") return /^[\w.:/@+,-]+$/.test(value) ? value : JSON.stringify(value);
  if (isSerializedError(value)) return JSON.stringify(value.message);
  // JSON without indentation escapes every line break inside strings: still one line.
  return JSON.stringify(value) ?? String(value);
}

/** pino's error serializer gives `{ type, message, stack }`; on a terminal the message says enough. */
function isSerializedError(v: unknown): v is { message: string; stack: string } {
  const e = v as { message?: unknown; stack?: unknown } | null;
  return typeof e === "object" && e !== null && typeof e.message === "string" && typeof e.stack === "string";
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** A pino destination that prints each JSON line it is given as one line of text on the terminal. */
export class PrettyDestination {
  constructor(private readonly term: Terminal) {}

  write(json: string): void {
    for (const line of json.split("\n")) {
      if (line === "") continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        event = { msg: line };
      }
      this.term.line(formatEvent(event, this.term.colors));
    }
  }
}
