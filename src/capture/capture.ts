// One capture: body → sha256 and length → JSON check → parallel gzip → lake, streaming, then the manifest.
// The object appears in the lake only when the body is complete and valid; any failure leaves nothing behind.
//
// Retries (one owner per policy): a request is retried by the layer that sent it (the HTTP client up to its
// headers, a small document's `getJson` whole), which marks what it gives up on (`alreadyRetried`); spot's EC2 calls
// are the AWS SDK's, and come here as not retryable. The capture retries, from scratch, only what those layers cannot
// see: a body that broke after its headers (HTTP_TRUNCATED: ended short or reset; HTTP_STALLED), a body that turned
// out not to be data (an HTML page the SDK parsed), or a lake write that failed. A complete body that is not valid
// JSON is not retried: the same bytes would come again.
import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import { tap } from "../streams.js";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { abortError, alreadyRetried, errorMessage, isRetryable } from "../errors.js";
import { withRetry, type RetryPolicy } from "../http/retry.js";
import { captureKey, isoMillis, manifestKey } from "../lake/keys.js";
import { writeCheck, writeManifest } from "../lake/records.js";
import { noteOrphan } from "../lake/repair.js";
import type { CaptureArgs, CheckRecord, Lake, Manifest, SourceName } from "../types.js";
import { ParallelGzip } from "./gzip.js";
import { jsonCheckTransform } from "./json-check.js";
import { CRAWLER } from "../version.js";

export interface CaptureDeps {
  lake: Lake;
  source: SourceName;
  log: Logger;
  retry: RetryPolicy;
  signal: AbortSignal;
  gzipLevel?: number;
  /** Observers for metrics. */
  onRetry?: (region: string, err: unknown) => void;
}

/** Streams one capture into the lake and records its manifest; retries a broken body from scratch. */
export async function capture(deps: CaptureDeps, args: CaptureArgs): Promise<Manifest> {
  const { lake, source, signal } = deps;
  const key = captureKey(source, args.region, args.capturedAt);
  const log = deps.log.child({ region: args.region, key });
  const started = Date.now();
  return withRetry(
    async (attempt) => {
      const { body, meta } = await args.open(signal, attempt);
      const hash = createHash("sha256");
      let bytes = 0;
      let values: Record<string, unknown> = {};
      const measure = tap((chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      const gz = new ParallelGzip({ level: deps.gzipLevel });
      const out = new PassThrough();
      // One controller per attempt, linked to the run's signal by a listener removed when the attempt ends
      // (AbortSignal.any on a daemon-long signal keeps every dependant alive on Node 20).
      const attemptAbort = new AbortController();
      const both = attemptAbort.signal;
      const forward = () => attemptAbort.abort(signal.reason);
      signal.addEventListener("abort", forward, { once: true });
      const check = args.serialized
        ? []
        : [
            jsonCheckTransform(args.shape, (v) => {
              values = v;
              args.onValues?.(v);
            }),
          ];
      const produce = pipeline([body, measure, ...check, gz, out], { signal: both });
      const store = lake.putStream(key, out, both);
      const [p, s] = await Promise.allSettled([produce, store]).finally(() =>
        signal.removeEventListener("abort", forward),
      );
      if (p.status === "rejected" || s.status === "rejected") {
        attemptAbort.abort();
        // The producer's error explains a store failure it caused; report the root cause.
        const err = p.status === "rejected" ? p.reason : (s as PromiseRejectedResult).reason;
        if (s.status === "fulfilled") await lake.delete(key).catch(() => undefined);
        if (signal.aborted) throw abortError(signal);
        throw err;
      }
      const storedBytes = s.value.storedBytes;
      const version = meta.version ?? (typeof values.version === "string" ? values.version : undefined);
      const manifest: Manifest = {
        manifestVersion: 1,
        kind: "capture",
        source,
        region: args.region,
        key,
        capturedAt: isoMillis(args.capturedAt),
        finishedAt: new Date().toISOString(),
        sha256: hash.digest("hex"),
        bytes,
        storedBytes,
        urls: meta.urls,
        ...(version !== undefined ? { version } : {}),
        ...(meta.etag !== undefined ? { etag: meta.etag } : {}),
        ...(meta.items !== undefined ? { items: meta.items } : {}),
        ...(meta.pages !== undefined ? { pages: meta.pages } : {}),
        ...(meta.window !== undefined ? { window: meta.window } : {}),
        ...(meta.jsonp !== undefined ? { jsonp: meta.jsonp } : {}),
        crawler: CRAWLER,
      };
      try {
        // The object is ours (its write was conditional), so a manifest already there is another's repair of it.
        if (!(await writeManifest(lake, manifest, signal)))
          log.warn(
            { manifest: manifestKey(source, args.region, args.capturedAt) },
            "manifest existed already",
          );
      } catch (err) {
        // A capture without its manifest is not a capture: remove it so the next attempt starts clean. If even that
        // fails (the lake is down), the next run repairs it (SPEC §6): the daemon's next run of this source, or a
        // start-up.
        await lake.delete(key).catch(() => noteOrphan(lake, key));
        throw err;
      }
      log.info(
        { bytes, storedBytes, durationMs: Date.now() - started, attempt, version, items: meta.items },
        "captured",
      );
      return manifest;
    },
    {
      policy: deps.retry,
      signal,
      retryable: (err) => isRetryable(err) && !alreadyRetried(err),
      onRetry: (err, attempt, delayMs) => {
        deps.onRetry?.(args.region, err);
        log.warn({ attempt, delayMs, err: errorMessage(err) }, "capture attempt failed; retrying");
      },
    },
  );
}

export async function recordCheck(
  deps: Pick<CaptureDeps, "lake" | "source" | "log">,
  args: { region: string; sameAs: string; version?: string; etag?: string; urls: string[]; checkedAt?: Date },
): Promise<CheckRecord> {
  const checkedAt = args.checkedAt ?? new Date();
  const record: CheckRecord = {
    manifestVersion: 1,
    kind: "check",
    source: deps.source,
    region: args.region,
    checkedAt: isoMillis(checkedAt),
    sameAs: args.sameAs,
    ...(args.version !== undefined ? { version: args.version } : {}),
    ...(args.etag !== undefined ? { etag: args.etag } : {}),
    urls: args.urls,
    crawler: CRAWLER,
  };
  await writeCheck(deps.lake, record);
  deps.log.info(
    { region: args.region, sameAs: args.sameAs, version: args.version },
    "unchanged; recorded the check",
  );
  return record;
}
