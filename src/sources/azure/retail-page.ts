// One page of the Azure Retail Prices API (wire-formats §7), fetched through the capture's pacer and kept as the
// bytes served: the page's `Items` array is copied into the capture without re-serialising a single item.
//
// Retries, each in one layer only: the HTTP client retries 5xx and connection failures before the body starts;
// a 429 is this module's (the client hands it over), and one that names its wait is retried for as long as the
// provider keeps saying "later", up to the capture's deadline, never counted against http.attempts (a throttled
// page is not a failing one); a 429 without a wait, and a body that breaks off or does not parse, have
// http.attempts, with backoff.
import type { Logger } from "pino";
import { abortError, ContrailError, errorMessage, isAbortError } from "../../errors.js";
import { readBytes, redactUrl, snippet } from "../../http/client.js";
import { backoffDelay, parseRetryAfter, sleep, type RetryPolicy } from "../../http/retry.js";
import type { HttpClient } from "../../types.js";
import { arrayInner, memberSpan } from "../json-span.js";
import { remainingRequests, type RetailPacer } from "./retail-pacer.js";

/** A page is < 2 MB in practice; far more is not a page. */
const MAX_PAGE_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const BODY_FAILURES = new Set(["HTTP_TRUNCATED", "HTTP_STALLED", "INVALID_JSON"]);

export interface RetailPage {
  BillingCurrency: unknown;
  CustomerEntityId: unknown;
  CustomerEntityType: unknown;
  NextPageLink: string | null;
  /** Number of items. */
  count: number;
  /** The items as served: the bytes between the `Items` array's brackets (empty when there are none). */
  items: Buffer;
}

export interface PageFetch {
  http: HttpClient;
  pacer: RetailPacer;
  retry: RetryPolicy;
  log: Logger;
  /** Throttled waits end here (ms since the epoch): the slot's end, beyond which waiting is pointless. */
  deadline: number;
}

/** Page `n` (1-based) at `url`, paced and retried as described above. */
export async function fetchPage(
  f: PageFetch,
  url: string,
  n: number,
  signal: AbortSignal,
): Promise<RetailPage> {
  const label = `page ${n}`;
  for (let attempt = 1; ;) {
    await f.pacer.acquire(n, signal);
    let released = false;
    const release = (o?: { remaining?: number; throttledMs?: number }) => {
      if (!released) f.pacer.release(o);
      released = true;
    };
    try {
      const res = await f.http.request({ url, signal, accept: [429], label });
      const remaining = remainingRequests(res.headers);
      if (res.status === 429) {
        const text = (
          await readBytes(res.body, MAX_ERROR_BODY, url, true).catch(() => Buffer.alloc(0))
        ).toString();
        const waitMs = parseRetryAfter(res.headers);
        if (waitMs !== undefined) {
          if (Date.now() + waitMs > f.deadline) {
            throw new ContrailError(
              "HTTP_STATUS",
              `retail prices page ${n} is still rate-limited (HTTP 429, wait ${Math.ceil(waitMs / 1000)} s) ` +
                `and the wait would outlast this run's slot`,
              { status: 429 },
            );
          }
          release({ ...(remaining !== undefined ? { remaining } : {}), throttledMs: waitMs });
          f.log.warn(
            { region: "global", page: n, waitMs, remaining },
            "rate-limited by the Retail Prices API; waiting (the pages fetched so far are kept)",
          );
          continue; // the pacer holds this page (and every other) back until the wait is over
        }
        throw new ContrailError("HTTP_STATUS", `HTTP 429 from ${redactUrl(url)}: ${snippet(text)}`, {
          retryable: true,
          status: 429,
        });
      }
      const bytes = await readBytes(res.body, MAX_PAGE_BYTES, url);
      release(remaining !== undefined ? { remaining } : {});
      return parsePage(bytes, url, n);
    } catch (err) {
      release();
      if (signal.aborted) throw abortError(signal);
      if (isAbortError(err)) throw err;
      const again =
        err instanceof ContrailError &&
        err.retryable &&
        (BODY_FAILURES.has(err.code) || err.status === 429) &&
        attempt < f.retry.attempts;
      if (!again) throw pageFailed(err, n);
      const delayMs = backoffDelay(attempt, f.retry);
      f.log.warn(
        { region: "global", page: n, attempt, delayMs, err: errorMessage(err) },
        "retail prices page failed; retrying",
      );
      attempt++;
      await sleep(delayMs, signal);
    }
  }
}

/** A page that has had its retries: the source's cooldown (SPEC §2) decides when to try the catalogue again. */
function pageFailed(err: unknown, n: number): ContrailError {
  if (err instanceof ContrailError && err.code === "INVALID_SHAPE") return err;
  return new ContrailError(
    err instanceof ContrailError ? err.code : "UPSTREAM",
    `retail prices page ${n} failed: ${errorMessage(err)}`,
    { cause: err, retryable: false },
  );
}

/** Checks a page's shape and keeps its items' bytes. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export function parsePage(bytes: Buffer, url: string, n: number): RetailPage {
  const where = `retail prices page ${n} (${redactUrl(url)})`;
  let text: string;
  try {
    // Strictly: toString() would turn bytes that are not UTF-8 into U+FFFD, which JSON.parse accepts, and the
    // replacement characters would be stored (RFC 8259 §8.1, SPEC §6).
    text = UTF8.decode(bytes);
  } catch (err) {
    throw new ContrailError("INVALID_JSON", `${where} is not valid JSON (its bytes are not UTF-8)`, {
      cause: err,
      retryable: true,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // A page that does not parse is most likely an upstream glitch: worth another attempt.
    throw new ContrailError(
      "INVALID_JSON",
      `${redactUrl(url)} did not return valid JSON (${snippet(bytes.toString("utf8"))})`,
      {
        cause: err,
        retryable: true,
      },
    );
  }
  const page = doc as { Items?: unknown; NextPageLink?: unknown; Count?: unknown } & Record<string, unknown>;
  if (!page || typeof page !== "object" || Array.isArray(page) || !Array.isArray(page.Items)) {
    throw new ContrailError("INVALID_SHAPE", `${where} has no "Items" array`);
  }
  const link = page.NextPageLink;
  if (link !== null && (typeof link !== "string" || link === "")) {
    throw new ContrailError(
      "INVALID_SHAPE",
      `${where} has no "NextPageLink" (a URL, or null on the last page)`,
    );
  }
  const count = page.Items.length;
  if (typeof page.Count === "number" && page.Count !== count) {
    throw new ContrailError("INVALID_SHAPE", `${where} says Count ${page.Count} but holds ${count} items`);
  }
  const span = memberSpan(bytes, "Items");
  if (!span) throw new ContrailError("INVALID_SHAPE", `${where}: its "Items" array could not be located`);
  return {
    BillingCurrency: page.BillingCurrency,
    CustomerEntityId: page.CustomerEntityId,
    CustomerEntityType: page.CustomerEntityType,
    NextPageLink: link,
    count,
    // A copy: the page's other bytes can go.
    items: Buffer.from(arrayInner(bytes, span)),
  };
}
