// A terminal for people: each log event on one line, and one status line at the bottom that redraws in place
// (download progress), with log lines scrolling above it.

/** What the renderer needs of `process.stdout` (or a fake TTY in tests). */
export interface TerminalStream {
  write(text: string): unknown;
  columns?: number;
  hasColors?(): boolean;
}

/** Erase the cursor's line and go back to its start. */
const CLEAR_LINE = "\r\x1b[K";

export class Terminal {
  private status = "";

  constructor(private readonly out: TerminalStream) {}

  /** Whether to colour: the stream's own answer (it honours NO_COLOR, FORCE_COLOR and TERM). */
  get colors(): boolean {
    return this.out.hasColors?.() ?? false;
  }

  /** Prints one line above the status line; `text` must not contain a line break. */
  line(text: string): void {
    this.out.write(this.status ? `${CLEAR_LINE}${text}\n${this.status}` : `${text}\n`);
  }

  /**
   * Replaces the status line ("" removes it). Cut to the terminal's width: a line that wraps can no longer be
   * erased with a carriage return, and each redraw would leave a copy behind.
   */
  setStatus(text: string): void {
    // A pseudo-terminal with no size set reports 0 columns.
    const fitted = fit(text, (this.out.columns || 80) - 1);
    if (fitted === this.status) return;
    this.status = fitted;
    this.out.write(`${CLEAR_LINE}${fitted}`);
  }
}

function fit(text: string, width: number): string {
  if (text.length <= width) return text;
  return width > 1 ? `${text.slice(0, width - 1)}…` : "";
}
