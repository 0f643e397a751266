// One page of the Cloud Billing Catalog v1 (wire-formats §8): fetched with the API key, checked, and kept as the
// bytes served, so that SKUs are copied into the capture without being re-serialised.
//
// The key travels in the query string (`key=`), as Google documents it: every URL that reaches a message, a log
// line or a manifest goes through redactUrl, and the text of Google's own error bodies is scrubbed of the key too.
//
// Retries, each in one layer only: the HTTP client retries 5xx and connection failures before the body starts. A
// 429 is this module's (the client hands it over): Google's `RESOURCE_EXHAUSTED` names no wait (no Retry-After),
// and its quotas count requests per minute, so a throttled page waits with a backoff that doubles up to
// http.maxDelay for up to THROTTLED_TRIES answers (with the default delays, over a minute and a half in all): the
// pages fetched so far are kept. A body that breaks off or does not parse has http.attempts, with backoff.
import type { Logger } from "pino";
import { abortError, ContrailError, errorMessage, isAbortError } from "../../errors.js";
import { readBytes, redactUrl, snippet } from "../../http/client.js";
import { backoffDelay, sleep, type RetryPolicy } from "../../http/retry.js";
import type { HttpClient } from "../../types.js";
import { arrayElements, arrayInner, memberSpan } from "../json-span.js";

/** The largest page the API serves (and its default): AIP-158 lets it serve fewer. */
export const PAGE_SIZE = 5000;
/** Throttled answers a page may get in a row before the capture gives up (at least http.attempts). */
export const THROTTLED_TRIES = 8;
/** 5000 SKUs are ~10 MB compact; far more is not a page. */
const MAX_PAGE_BYTES = 256 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const BODY_FAILURES = new Set(["HTTP_TRUNCATED", "HTTP_STALLED", "INVALID_JSON"]);
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** What every request of a capture needs. */
export interface CatalogClient {
  http: HttpClient;
  retry: RetryPolicy;
  log: Logger;
  /** `https://cloudbilling.googleapis.com`, without a trailing slash. */
  baseUrl: string;
  apiKey: string;
}

/** A list page as served: its items' bytes, their count, and the token of the next page (undefined: the last). */
export interface CatalogPage {
  bytes: Buffer;
  /** The list's span in `bytes` (brackets included); undefined when the page has no items (proto3 omits `[]`). */
  list?: { start: number; end: number };
  count: number;
  /** Each item's id field (`serviceId`, `skuId`), undefined where it is not a string: the parse tree is not kept. */
  ids: (string | undefined)[];
  nextPageToken?: string;
}

/** `<base><path>?key=…&pageSize=5000&prettyPrint=false[&pageToken=…]`: compact JSON, the largest pages. */
export function pageUrl(c: CatalogClient, path: string, token?: string): string {
  const q = new URLSearchParams({ key: c.apiKey, pageSize: String(PAGE_SIZE), prettyPrint: "false" });
  if (token !== undefined) q.set("pageToken", token);
  return `${c.baseUrl}${path}?${q.toString()}`;
}

/** The page's items between their brackets, as served (empty for a page without items). */
export function itemsOf(page: CatalogPage): Buffer {
  return page.list ? arrayInner(page.bytes, page.list) : Buffer.alloc(0);
}

/** Each item's bytes as served, in order. */
export function itemBytes(page: CatalogPage): Buffer[] {
  return page.list
    ? arrayElements(page.bytes, page.list).map((s) => page.bytes.subarray(s.start, s.end))
    : [];
}

/** A list of the catalogue: its member in a page (`skus`) and its items' id field (`skuId`). */
export interface ListOf {
  member: string;
  id: string;
}

/** Fetches a page of `list` at `url`; `label` names it in messages. */
export async function fetchPage(
  c: CatalogClient,
  url: string,
  list: ListOf,
  label: string,
  signal: AbortSignal,
): Promise<CatalogPage> {
  let failures = 1;
  let throttled = 0;
  for (;;) {
    try {
      const res = await c.http.request({ url, signal, accept: [400, 401, 403, 429], label });
      if (res.status !== 200) {
        const text = (
          await readBytes(res.body, MAX_ERROR_BODY, url, true).catch(() => Buffer.alloc(0))
        ).toString();
        const err = googleError(c, res.status, text, url);
        if (res.status !== 429) throw err;
        if (++throttled >= Math.max(THROTTLED_TRIES, c.retry.attempts)) throw err;
        const delayMs = backoffDelay(throttled, c.retry);
        c.log.warn(
          { page: label, throttled, delayMs },
          "rate-limited by the Cloud Billing API (429 RESOURCE_EXHAUSTED, no wait named); backing off, the pages " +
            "fetched so far are kept",
        );
        await sleep(delayMs, signal);
        continue;
      }
      return parsePage(c, await readBytes(res.body, MAX_PAGE_BYTES, url), url, list, label);
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      if (isAbortError(err)) throw err;
      const again =
        err instanceof ContrailError &&
        err.retryable &&
        BODY_FAILURES.has(err.code) &&
        failures < c.retry.attempts;
      if (!again) throw pageFailed(err, label);
      const delayMs = backoffDelay(failures, c.retry);
      c.log.warn(
        { page: label, attempt: failures, delayMs, err: errorMessage(err) },
        "catalogue page failed; retrying",
      );
      failures++;
      await sleep(delayMs, signal);
    }
  }
}

/** A page that has had its retries: the source's cooldown (SPEC §2) decides when to try the catalogue again. */
function pageFailed(err: unknown, label: string): ContrailError {
  if (err instanceof ContrailError && (err.code === "INVALID_SHAPE" || err.code === "AUTH")) return err;
  return new ContrailError(
    err instanceof ContrailError ? err.code : "UPSTREAM",
    `${label} failed: ${errorMessage(err)}`,
    { cause: err, retryable: false },
  );
}

interface GoogleStatus {
  error?: { code?: number; message?: string; status?: string; details?: { reason?: string }[] };
}

/**
 * Google's `google.rpc.Status` answer as an error. A key that is wrong (400 `API_KEY_INVALID`), missing or not
 * allowed to call the API (403 `PERMISSION_DENIED`: no key, the Cloud Billing API not enabled on its project, the
 * key restricted to other APIs) is the user's to fix: the message names CONTRAIL_GCP_API_KEY, never its value.
 */
function googleError(c: CatalogClient, status: number, text: string, url: string): ContrailError {
  let body: GoogleStatus = {};
  try {
    body = JSON.parse(text) as GoogleStatus;
  } catch {
    // Not Google's envelope (a proxy's page): the snippet below says what it was.
  }
  const e = body.error ?? {};
  const reasons = (e.details ?? []).map((d) => d?.reason).filter((r): r is string => typeof r === "string");
  const said = scrub(c, [e.status, ...reasons].filter(Boolean).join(" "));
  const message = scrub(c, snippet(e.message ?? text));
  const keyProblem =
    status === 401 ||
    status === 403 ||
    reasons.some((r) => r.startsWith("API_KEY")) ||
    (status === 400 && /API key/i.test(e.message ?? ""));
  if (keyProblem) {
    return new ContrailError(
      "AUTH",
      `the Cloud Billing Catalog refused the API key in CONTRAIL_GCP_API_KEY (HTTP ${status}${said ? ` ${said}` : ""}: ` +
        `${message}); set it to a key of a project with the Cloud Billing API enabled`,
      { status },
    );
  }
  return new ContrailError(
    "HTTP_STATUS",
    `HTTP ${status}${said ? ` ${said}` : ""} from ${redactUrl(url)}: ${message}`,
    {
      status,
      retryable: status === 429,
    },
  );
}

/** Text from upstream with the key's value taken out, in case an error ever quotes the request. */
function scrub(c: CatalogClient, text: string): string {
  return c.apiKey ? text.split(c.apiKey).join("REDACTED") : text;
}

/** Checks a page's shape and keeps its bytes and the span of its list. */
export function parsePage(
  c: CatalogClient,
  bytes: Buffer,
  url: string,
  { member, id }: ListOf,
  label: string,
): CatalogPage {
  const where = `${label} (${redactUrl(url)})`;
  let doc: unknown;
  try {
    // Strictly: bytes that are not UTF-8 are not JSON (RFC 8259 §8.1, SPEC §6), though toString() would hide them.
    doc = JSON.parse(UTF8.decode(bytes));
  } catch (err) {
    const what =
      err instanceof TypeError ? "its bytes are not UTF-8" : scrub(c, snippet(bytes.toString("utf8")));
    throw new ContrailError("INVALID_JSON", `${where} is not valid JSON (${what})`, {
      cause: err,
      retryable: true,
    });
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    throw new ContrailError("INVALID_SHAPE", `${where} is not a JSON object`);
  const page = doc as Record<string, unknown>;
  const items = page[member];
  // proto3 JSON leaves an empty list out: a page without items has no member at all.
  if (items !== undefined && !Array.isArray(items))
    throw new ContrailError("INVALID_SHAPE", `${where}: "${member}" is not a list`);
  const token = page.nextPageToken;
  if (token !== undefined && typeof token !== "string")
    throw new ContrailError("INVALID_SHAPE", `${where}: "nextPageToken" is not a string`);
  const count = items?.length ?? 0;
  const list = count > 0 ? memberSpan(bytes, member) : undefined;
  if (count > 0 && !list)
    throw new ContrailError("INVALID_SHAPE", `${where}: its "${member}" list could not be located`);
  return {
    bytes,
    ...(list ? { list } : {}),
    count,
    ids: (items ?? []).map((item: unknown) => {
      const v = (item as Record<string, unknown> | null)?.[id];
      return typeof v === "string" ? v : undefined;
    }),
    // An empty token, like none, ends the list (AIP-158).
    ...(token ? { nextPageToken: token } : {}),
  };
}
