// The one retry policy: exponential backoff with full jitter, server hints (Retry-After and friends) honoured.
import { abortError, ContrailError, isAbortError, isRetryable } from "../errors.js";

export interface RetryPolicy {
  /** Total attempts, including the first. */
  attempts: number;
  baseDelay: number;
  maxDelay: number;
}

/** Longest wait a server hint may impose on one attempt: beyond this the source's cooldown takes over. */
const MAX_HINT_MS = 10 * 60_000;

export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  hintMs?: number,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelay, policy.baseDelay * 2 ** (attempt - 1));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return hintMs === undefined ? jittered : Math.max(Math.min(hintMs, MAX_HINT_MS), jittered / 4);
}

/**
 * Reads the server's requested wait from response headers: `Retry-After` (seconds or an HTTP date),
 * `x-ms-ratelimit-retailPrices-retry-after` and `x-ms-retry-after-ms` (Azure), `x-amz-retry-after` (ms).
 */
export function parseRetryAfter(
  headers: Record<string, string | undefined>,
  now = Date.now(),
): number | undefined {
  const h = (name: string) => headers[name] ?? headers[name.toLowerCase()];
  const ms = h("x-ms-retry-after-ms") ?? h("x-amz-retry-after");
  if (ms !== undefined && /^\d+$/.test(ms.trim())) return Number(ms);
  for (const name of ["retry-after", "x-ms-ratelimit-retailprices-retry-after"]) {
    const v = h(name)?.trim();
    if (!v) continue;
    if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
    const date = Date.parse(v);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return undefined;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface RetryOptions {
  policy: RetryPolicy;
  signal: AbortSignal;
  /** Called before each wait; for logs and metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  retryable?: (err: unknown) => boolean;
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or the attempts run out; a retryable error it gives
 * up on carries `attempts` (see `alreadyRetried`).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const retryable = opts.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal.aborted) throw abortError(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal.aborted || isAbortError(err)) throw opts.signal.aborted ? abortError(opts.signal) : err;
      if (!retryable(err)) throw err;
      if (attempt >= opts.policy.attempts) {
        // Spent: said on the error, so that no layer above retries it again.
        if (err instanceof ContrailError) err.attempts = attempt;
        throw err;
      }
      const hint = (err as { retryAfterMs?: number }).retryAfterMs;
      const delay = backoffDelay(attempt, opts.policy, hint);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}
