// Progress of long downloads: a live status line on a terminal, a periodic JSON log line everywhere else (SPEC §7).
// The HTTP client reports every body it reads; what to show, and how often, is decided here.
import type { Logger } from "pino";
import type { Terminal } from "./terminal.js";

/** One download in flight. `update` is called for every chunk and must stay cheap. */
export interface DownloadProgress {
  /** `bytes` received so far, of `total` when the length is known. */
  update(bytes: number, total?: number): void;
  /** The download ended: completed, failed or aborted. */
  end(): void;
}

export interface ProgressReporter {
  /** A download starts; `label` says what it is for people (e.g. the region), `url` where from (no secrets). */
  start(label: string, url?: string): DownloadProgress;
}

export const NO_PROGRESS: ProgressReporter = { start: () => ({ update() {}, end() {} }) };

/** Piped or in a container: one "download progress" log line per download every `every` ms while it lasts. */
export class LogProgress implements ProgressReporter {
  constructor(
    private readonly log: Pick<Logger, "info">,
    private readonly every = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  start(label: string, url?: string): DownloadProgress {
    const started = this.now();
    let logged = started;
    return {
      update: (bytes, total) => {
        const t = this.now();
        if (t - logged < this.every) return;
        logged = t;
        const rate = bytes / ((t - started) / 1000);
        this.log.info(
          {
            label,
            url,
            bytes,
            total,
            ...(total ? { percent: Math.floor((bytes / total) * 100) } : {}),
            mbPerSec: Math.round(rate / 1e5) / 10,
          },
          "download progress",
        );
      },
      end() {},
    };
  }
}

interface Shown {
  label: string;
  started: number;
  bytes: number;
  total: number | undefined;
}

/**
 * On a terminal: one status line for every download in flight, redrawn at most every `interval` ms. A download
 * appears once it has lasted `after` ms, so the many small requests of a catalogue never flicker past.
 */
export class TtyProgress implements ProgressReporter {
  private readonly active = new Set<Shown>();
  private drawn = 0;
  private visible = false;

  constructor(
    private readonly term: Terminal,
    private readonly opts: { interval?: number; after?: number; now?: () => number } = {},
  ) {}

  start(label: string): DownloadProgress {
    const item: Shown = { label, started: this.now(), bytes: 0, total: undefined };
    this.active.add(item);
    return {
      update: (bytes, total) => {
        item.bytes = bytes;
        item.total = total;
        if (this.now() - this.drawn >= (this.opts.interval ?? 250)) this.draw();
      },
      end: () => {
        this.active.delete(item);
        if (this.visible) this.draw();
      },
    };
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private draw(): void {
    const t = this.now();
    this.drawn = t;
    const long = [...this.active].filter((i) => t - i.started >= (this.opts.after ?? 1_000));
    this.visible = long.length > 0;
    this.term.setStatus(long.map((i) => describe(i, t)).join("  |  "));
  }
}

/** Long labels (URLs) keep their end, the part that differs, so that the numbers after them stay on screen. */
const LABEL_WIDTH = 40;

/** `us-east-1 412.0 MB / 1.50 GB 27% 98.1 MB/s ETA 0:11`; without a known length, bytes and rate only. */
export function describe(d: { label: string; started: number; bytes: number; total?: number }, now: number) {
  const secs = Math.max((now - d.started) / 1000, 0.001);
  const rate = d.bytes / secs;
  const label = d.label.length > LABEL_WIDTH ? `…${d.label.slice(1 - LABEL_WIDTH)}` : d.label;
  const parts = [label, d.total ? `${bytes(d.bytes)} / ${bytes(d.total)}` : bytes(d.bytes)];
  if (d.total) parts.push(`${Math.min(100, Math.floor((d.bytes / d.total) * 100))}%`);
  parts.push(`${bytes(rate)}/s`);
  if (d.total && rate > 0) parts.push(`ETA ${duration(Math.max(0, d.total - d.bytes) / rate)}`);
  return parts.join(" ");
}

/** Decimal units, as download rates and disk sizes are usually given. */
export function bytes(n: number): string {
  if (n < 1e3) return `${Math.round(n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** `0:07`, `12:30`, `1:02:03`. */
export function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}
