// Pacing for the Azure Retail Prices API, whose limit is undocumented but real: a few requests in quick
// succession, then 429 with `x-ms-ratelimit-retailPrices-retry-after` (up to 60 s), every response counting down
// `x-ms-ratelimit-remaining-retailPrices-requests`. One pacer is shared by every page request of a capture:
//
// - never more requests in flight than the provider says remain (at least one: at 0 a single request finds out
//   whether the window has reset, rather than every prefetched page collecting its own 429);
// - a 429's wait holds back every request, not only the throttled one, so they do not all hit the limit again;
// - after a 429 the prefetch drops to one request at a time and grows back by one after every GROW_AFTER
//   responses that were not throttled, up to the configured concurrency;
// - requests are let through lowest page first, so the page the capture is waiting for is never starved by pages
//   asked for ahead.
import { abortError } from "../../errors.js";

/** Unthrottled responses in a row that earn one more request in flight. */
const GROW_AFTER = 4;

/** The remaining-requests count a response reports, if it does. */
export function remainingRequests(headers: Record<string, string | undefined>): number | undefined {
  const v = headers["x-ms-ratelimit-remaining-retailprices-requests"]?.trim();
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

interface Waiter {
  order: number;
  admit: () => void;
}

export class RetailPacer {
  /** Requests allowed in flight now (adaptive). */
  private limit: number;
  private inFlight = 0;
  private remaining: number | undefined;
  private blockedUntil = 0;
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters: Waiter[] = [];
  /** Throttled responses seen, for the capture's log. */
  throttles = 0;

  constructor(
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = max;
  }

  /** Requests that may be in flight at once right now. */
  get allowed(): number {
    return Math.min(this.limit, this.remaining === undefined ? this.limit : Math.max(1, this.remaining));
  }

  /** Waits until request `order` (lower goes first) may be sent; pair with exactly one `release`. */
  acquire(order: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        order,
        admit: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        if (this.waiters.length === 0) this.close();
        reject(abortError(signal));
        this.pump();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const at = this.waiters.findIndex((w) => w.order > order);
      this.waiters.splice(at < 0 ? this.waiters.length : at, 0, waiter);
      this.pump();
    });
  }

  /**
   * A request has its answer: `remaining` as the response said; `throttledMs` when it was a 429 naming a wait.
   * Also called, with nothing, for a request that failed without an answer.
   */
  release(outcome: { remaining?: number; throttledMs?: number } = {}): void {
    this.inFlight--;
    if (outcome.remaining !== undefined) this.remaining = outcome.remaining;
    if (outcome.throttledMs !== undefined) {
      this.throttles++;
      this.blockedUntil = Math.max(this.blockedUntil, this.now() + outcome.throttledMs);
      this.limit = 1;
      this.streak = 0;
      // The window ends with the wait: whatever count was reported before it no longer holds.
      this.remaining = undefined;
    } else if (outcome.remaining !== undefined && ++this.streak >= GROW_AFTER && this.limit < this.max) {
      this.limit++;
      this.streak = 0;
    }
    this.pump();
  }

  /** How long the pacer is holding requests back from now (0 when it is not). */
  get waitMs(): number {
    return Math.max(0, this.blockedUntil - this.now());
  }

  /** Stops the pacer's timer (the capture is over). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    const wait = this.blockedUntil - this.now();
    if (wait > 0) {
      if (this.waiters.length > 0 && this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
      }
      return;
    }
    while (this.waiters.length > 0 && this.inFlight < this.allowed) {
      this.inFlight++;
      this.waiters.shift()!.admit();
    }
  }
}
