// Errors carry a stable `code`, a `cause`, and whether retrying can help (the class decides, not the catcher).

export type ErrorCode =
  | "CONFIG"
  | "HTTP_STATUS"
  | "HTTP_NETWORK"
  | "HTTP_TIMEOUT"
  | "HTTP_STALLED"
  | "HTTP_TRUNCATED"
  | "HTTP_TOO_LARGE"
  | "INVALID_JSON"
  | "INVALID_SHAPE"
  | "LAKE_EXISTS"
  | "LAKE_NOT_FOUND"
  | "LAKE_ACCESS_DENIED"
  | "LAKE_NO_BUCKET"
  | "LAKE_IO"
  | "LAKE_CORRUPT"
  | "LEASE_LOST"
  | "AUTH"
  | "REGION_DISABLED"
  | "UPSTREAM"
  | "ABORTED"
  | "HISTORY"
  | "QUERY";

export class ContrailError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /**
   * Attempts the layer that owns this failure's retries made before giving up (set by `withRetry`). Once set, the
   * failure has had its retries: no layer above retries it again (one owner per policy).
   */
  attempts?: number;
  /** Server-requested wait before the next attempt, if it said so (Retry-After and friends). */
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean; retryAfterMs?: number; status?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ContrailError";
    this.code = code;
    this.retryable = opts.retryable ?? false;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

export class ConfigError extends ContrailError {
  constructor(message: string) {
    super("CONFIG", message);
    this.name = "ConfigError";
  }
}

export function isAbortError(err: unknown): boolean {
  if (err instanceof ContrailError) return err.code === "ABORTED";
  const e = err as { name?: string; code?: string } | undefined;
  return e?.name === "AbortError" || e?.code === "ABORT_ERR";
}

export function abortError(signal?: AbortSignal): ContrailError {
  return new ContrailError("ABORTED", "aborted", { cause: signal?.reason });
}

/** Whether an error from anywhere (ours, the AWS SDK, Node) is worth another attempt. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ContrailError) return err.retryable;
  if (isAbortError(err)) return false;
  const e = err as
    { code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status === 429 || status >= 500;
  return ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "UND_ERR_SOCKET"].includes(
    e?.code ?? "",
  );
}

/**
 * Whether the layer that owns this failure's retries (the HTTP client for a request, `getJson` for a small document)
 * has already spent them: it marks what it gives up on. A wrapping error counts too (its cause is looked at).
 */
export function alreadyRetried(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ContrailError && e.attempts !== undefined) return true;
  }
  return false;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
