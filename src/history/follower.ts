// The daemon's history: after a source's run stores captures, `contrail history --source S` runs in a child process.
// A child, not the crawler itself: DuckDB's memory and native code stay out of the long-running crawler, and a
// derivation can neither fail nor delay a capture. A failed derivation is logged and retried after a cooldown (and
// at the source's next run); a pass that is already running picks up sources notified meanwhile afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { SourceName } from "../types.js";

/**
 * The child runs the same entry as this process (bin/contrail.js with dist/, or src/cli/entry.ts through tsx in
 * development and tests), so a daemon never derives with code older than its own.
 */
function selfCommand(): string[] {
  const entry = process.argv[1] ?? fileURLToPath(new URL("../../bin/contrail.js", import.meta.url));
  return [...process.execArgv, entry];
}

export interface FollowerOptions {
  log: Logger;
  /** `--lake` / `--config` as the crawler was given them, so the child opens the same lake. */
  args: string[];
  /** First wait before retrying a failed derivation; doubles, capped at an hour. */
  retryDelay?: number;
}

export class HistoryFollower {
  private readonly pending = new Set<SourceName>();
  private running: Promise<void> | undefined;
  private child: ChildProcess | undefined;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: FollowerOptions) {}

  /** Derives the source's captures not yet derived, soon, in the background. */
  notify(source: SourceName): void {
    if (this.stopped) return;
    this.pending.add(source);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves when no derivation is running (for tests and an orderly exit). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.child?.kill("SIGTERM");
    await this.idle();
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const source = this.pending.values().next().value as SourceName;
      this.pending.delete(source);
      const ok = await this.derive(source);
      if (ok) this.failures = 0;
      else this.retryLater(source);
    }
  }

  private retryLater(source: SourceName): void {
    this.failures++;
    const wait = Math.min((this.opts.retryDelay ?? 300_000) * 2 ** (this.failures - 1), 3_600_000);
    this.opts.log.warn({ source, retryInMs: wait }, "history derivation failed; retrying later");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.notify(source), wait);
    this.retryTimer.unref();
  }

  private derive(source: SourceName): Promise<boolean> {
    return new Promise((resolve) => {
      const started = Date.now();
      const child = spawn(
        process.execPath,
        [...selfCommand(), "history", "--quiet", "--source", source, ...this.opts.args],
        {
          // The child's JSON log lines join the crawler's on stdout; its error lines are kept for the warning.
          stdio: ["ignore", "inherit", "pipe"],
        },
      );
      this.child = child;
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.on("error", (err) => {
        this.opts.log.warn({ source, err: err.message }, "cannot start the history derivation");
      });
      child.on("close", (code) => {
        this.child = undefined;
        if (code === 0) {
          this.opts.log.info({ source, durationMs: Date.now() - started }, "history up to date");
          resolve(true);
        } else {
          if (!this.stopped)
            this.opts.log.warn({ source, code, err: stderr.trim() }, "history derivation failed");
          resolve(false);
        }
      });
    });
  }
}
