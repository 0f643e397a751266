// SIGINT/SIGTERM for the whole process, in one place (SPEC §6): installed by the entry point before any command is
// loaded, handed to the command that has work to wind down as a plain object, never through a global.

/** What the policy needs of a process; `process` itself, or a fake in tests. */
export interface SignalTarget {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never | void;
}

/** Told what the policy does, so that a daemon can log it; commands that only read need not listen. */
export interface ShutdownLog {
  stopping(signal: NodeJS.Signals): void;
  forced(signal: NodeJS.Signals): void;
  overdue(): void;
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * Until a command calls `windDown`, a signal exits at once with 0: nothing has been started that needs stopping
 * (the commands that only read the lake leave nothing behind). After it, the first signal aborts `signal` and exits
 * 0 after `graceMs` if the command is still running; a second signal exits at once with 130.
 */
export class Shutdown {
  private readonly controller = new AbortController();
  private log: ShutdownLog | undefined;
  private overdue: NodeJS.Timeout | undefined;
  readonly signal = this.controller.signal;

  constructor(
    private readonly proc: SignalTarget = process,
    private readonly graceMs = 9_000,
  ) {
    for (const s of SIGNALS) proc.on(s, this.onSignal);
  }

  /** From now on a signal stops the command through `signal` instead of ending the process. */
  windDown(log: ShutdownLog): AbortSignal {
    this.log = log;
    return this.signal;
  }

  /**
   * The command has returned: stops listening. After a signal the grace timer stays armed: it is unref'd, so it never
   * delays a process that ends on its own, but should anything the command opened still hold the event loop (a
   * socket, a timer), the process still ends `graceMs` after the signal rather than live on as a crawler that was
   * told to stop. Without a signal the process ends when its work does, as ever.
   */
  dispose(): void {
    for (const s of SIGNALS) this.proc.off(s, this.onSignal);
    if (!this.signal.aborted) clearTimeout(this.overdue);
  }

  /**
   * Whoever read the process's output has gone (`contrail query … | head`: Node ignores SIGPIPE and reports EPIPE
   * instead). Until `windDown`, the process ends at once with 0, as `cat` or `grep` end quietly in a pipe; after it,
   * the command stops as on a first signal, without a log line (there is nowhere to write one).
   */
  outputClosed(): void {
    if (!this.log) {
      this.proc.exit(0);
      return;
    }
    if (this.signal.aborted) return;
    this.controller.abort(new Error("standard output closed"));
    this.overdue = setTimeout(() => this.proc.exit(0), this.graceMs);
    this.overdue.unref();
  }

  private readonly onSignal = (sig: NodeJS.Signals): void => {
    if (!this.log) {
      this.proc.exit(0);
      return;
    }
    if (this.signal.aborted) {
      this.log.forced(sig);
      this.proc.exit(130);
      return;
    }
    this.log.stopping(sig);
    this.controller.abort(new Error(`received ${sig}`));
    this.overdue = setTimeout(() => {
      this.log?.overdue();
      this.proc.exit(0);
    }, this.graceMs);
    this.overdue.unref();
  };
}
