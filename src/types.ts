// The contracts between Contrail's parts. Implementations depend on these, never on each other's internals.
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { BaseConfig, SourceSettings } from "./config/schema.js";

/** A source's name, as the registry (src/sources/index.ts) and the sources made from the config know it. */
export type SourceName = string;

/** One object in the lake, as a listing shows it. Keys are relative to the lake's root (and prefix). */
export interface LakeEntry {
  key: string;
  size: number;
  /** When the object was last written, where the lake says (S3 LastModified, file mtime). */
  modified?: Date;
}

/**
 * A lake is a plain byte transport: a local directory or an S3 bucket (with optional prefix).
 * Keys always use `/` and never start with one.
 */
export interface Lake {
  /** Where the lake is, for people: `s3://bucket/prefix` or an absolute directory. */
  readonly description: string;
  /**
   * Stores a stream under `key`, visible only once the stream has ended without error. If the stream errors,
   * the signal aborts or the key exists already (code `LAKE_EXISTS`), nothing is left behind.
   */
  putStream(key: string, body: Readable, signal: AbortSignal): Promise<{ storedBytes: number }>;
  /** Stores a small object. With `ifAbsent`, returns false (and writes nothing) when the key exists. */
  putBytes(
    key: string,
    data: Buffer | string,
    opts?: { ifAbsent?: boolean; signal?: AbortSignal },
  ): Promise<boolean>;
  /** Opens an object for reading; rejects with code `LAKE_NOT_FOUND` when absent. */
  getStream(key: string, signal?: AbortSignal): Promise<Readable>;
  /** Reads a small object whole; undefined when absent. */
  getBytes(key: string, signal?: AbortSignal): Promise<Buffer | undefined>;
  /**
   * Reads a small object with its version (S3: the ETag; local: a generation number), for a compare-and-swap with
   * `putIfVersion`. Undefined when absent. Keys written with `putIfVersion` are read with this, not `getBytes`.
   */
  getVersioned(key: string, signal?: AbortSignal): Promise<{ data: Buffer; version: string } | undefined>;
  /**
   * Writes a small object only if it is still at `expected` (a version from `getVersioned`), or still absent when
   * `expected` is null: of several writers with the same expectation, at most one succeeds. Resolves to the new
   * version, or undefined when the precondition did not hold (another writer got there first: read again).
   */
  putIfVersion(
    key: string,
    data: Buffer | string,
    expected: string | null,
    signal?: AbortSignal,
  ): Promise<string | undefined>;
  /** Keys under `prefix` in ascending order, optionally only those sorting after `startAfter`. */
  list(prefix: string, opts?: { startAfter?: string; signal?: AbortSignal }): AsyncIterable<LakeEntry>;
  delete(key: string): Promise<void>;
  /** Removes debris a killed process may have left (temp files, stale multipart uploads). */
  cleanup?(signal?: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/** What every capture records, readable without downloading the capture (SPEC §5 Manifest). */
export interface Manifest extends CaptureMeta {
  manifestVersion: 1;
  kind: "capture";
  source: SourceName;
  region: string;
  /** The capture object's key, relative to the lake root. */
  key: string;
  /** Capture start, ISO-8601 UTC with milliseconds; also the key's file name. */
  capturedAt: string;
  finishedAt: string;
  /** sha256 (hex) and byte length of the uncompressed content. */
  sha256: string;
  bytes: number;
  /** Byte length of the stored (gzipped) object. */
  storedBytes: number;
  /** Set when the manifest was written by a later run from the object alone (the crawler died in between). */
  repairedAt?: string;
  crawler: { name: "contrail"; version: string };
}

/** A check that found the upstream unchanged since `sameAs`: recorded so the history shows it (SPEC §5 No waste). */
export interface CheckRecord {
  manifestVersion: 1;
  kind: "check";
  source: SourceName;
  region: string;
  checkedAt: string;
  /** Key of the capture that still holds this version. */
  sameAs: string;
  version?: string;
  etag?: string;
  urls: string[];
  crawler: { name: "contrail"; version: string };
}

/** The meta-data fields a source knows about one capture besides the bytes themselves. */
export interface CaptureMeta {
  urls: string[];
  version?: string;
  etag?: string;
  items?: number;
  pages?: number;
  window?: { start: string; end: string };
  /** The body was JSONP (`<name>(…);`), stored without its wrapper: the callback's name. */
  jsonp?: string;
}

/** A JSON body's required shape: checked while streaming; the capture fails if the body does not match. */
export interface JsonShape {
  /** Top-level value must be an object (or array) with these keys present. */
  root: "object" | "array";
  requiredKeys?: string[];
  /** Top-level keys whose scalar values to report (e.g. an offer file's `version`). */
  captureKeys?: string[];
}

/** Outcome of one region (or the single unit) of a source run. */
export type RegionOutcome =
  | { region: string; status: "captured"; manifest: Manifest }
  | { region: string; status: "unchanged"; check: CheckRecord }
  | { region: string; status: "skipped"; reason: string }
  | { region: string; status: "failed"; error: Error };

export interface HttpRequest {
  url: string;
  method?: "GET" | "POST" | "HEAD";
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Follow redirects (same-origin only, and never carrying Authorization to another host). Default false. */
  followRedirects?: boolean;
  /** Statuses that are answers, not errors (besides 2xx). E.g. [304] or [302]. */
  accept?: number[];
  /** Label for logs and progress: e.g. the region. */
  label?: string;
  /**
   * Statuses worth retrying for this request besides 408, 429 and 5xx: e.g. 404 for a file an index has just
   * listed (AWS publishes the index before every file it lists is reachable). The client retries them like the rest.
   */
  retryOn?: number[];
  /** How long to wait for the response's headers (default: the client's connect timeout), for slow APIs. */
  headersTimeout?: number;
}

/**
 * A response body in flight, as the HTTP client reports it (its `onProgress` option) about once a second and once
 * more at the end, `done` (complete or failed): enough for a live progress line (bytes, rate, percent and ETA when
 * the length is known). Bodies of every request are reported; `label` and `url` tell them apart.
 */
export interface DownloadProgress {
  /** The request's label (e.g. the region), if it has one. */
  label?: string;
  /** The URL, with credentials in its query redacted. */
  url: string;
  /** Body bytes received so far (decoded, when the server compressed them). */
  bytes: number;
  /** The body's length, when the server said it (Content-Length of a body that is not compressed). */
  total?: number;
  /** Mean rate since the body started, in bytes per second. */
  bytesPerSecond: number;
  /** The last report of this body. */
  done: boolean;
}

export interface HttpResponse {
  status: number;
  url: string;
  headers: Record<string, string | undefined>;
  /** The body as a byte stream; errors with a retryable ContrailError if it stalls, is reset or ends early. */
  body: Readable;
}

export interface HttpClient {
  /**
   * Sends a request, retrying 429/5xx/network errors/timeouts (and `retryOn`) before the body starts; an error it
   * gives up on carries `attempts` (no layer above retries it again). The body itself is the caller's.
   */
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Convenience: GET a small JSON document (bounded size), with the whole exchange, body included, retried. */
  getJson<T = unknown>(
    url: string,
    opts: { signal: AbortSignal; headers?: Record<string, string>; label?: string },
  ): Promise<T>;
}

/** Everything a source needs for one run; built by the scheduler or `crawl --once`. */
export interface RunContext<S extends SourceSettings = SourceSettings> {
  config: BaseConfig;
  /** This source's settings (`sources.<Name>`): the common ones and those it declares. */
  settings: S;
  lake: Lake;
  http: HttpClient;
  log: Logger;
  signal: AbortSignal;
  /** The slot being filled, or undefined for `--once` (capture now, whatever the slot). */
  slot?: { start: Date; end: Date };
  /** Streams a capture into the lake: validate, hash, gzip, store, write the manifest. */
  capture(args: CaptureArgs): Promise<Manifest>;
  /** Records that a region was checked and found unchanged. */
  recordCheck(args: {
    region: string;
    sameAs: string;
    version?: string;
    etag?: string;
    urls: string[];
  }): Promise<CheckRecord>;
  /** Latest manifest of this source and region, if any. */
  latest(region: string): Promise<Manifest | undefined>;
  /** The run's unit leases: taken and let go by `runUnits` (src/sources/run-units.ts) alone. */
  leases: UnitLeaseHandle;
}

/**
 * The leases of a run's units (src/schedule/units.ts). A unit (a region, in ctx.slot or "now" for `--once`) is
 * claimed before any work on it: refused when the slot has a capture or a check already, or another crawler is
 * working on it. Its lease is renewed while the unit runs and let go when it ends: done, or released on failure.
 */
export interface UnitLeaseHandle {
  claim(region: string): Promise<UnitClaim>;
  finish(region: string, state: "done" | "released"): Promise<void>;
}

export type UnitClaim = { ok: true } | { ok: false; reason: string };

export interface CaptureArgs {
  region: string;
  capturedAt: Date;
  /**
   * Opens the raw content (UTF-8 JSON bytes). Called once per attempt: a body that fails mid-way with a
   * retryable error is reopened and the capture restarts from scratch.
   */
  open(signal: AbortSignal, attempt: number): Promise<{ body: Readable; meta: CaptureMeta }>;
  shape: JsonShape;
  /** Called with the top-level values named in shape.captureKeys once the body is complete. */
  onValues?(values: Record<string, unknown>): void;
  /**
   * True when the body is JSON this crawler wrote itself, every value through JSON.stringify (AmazonEC2Spot's
   * records, built from parsed XML): well-formed by construction, so the byte-level JSON check is skipped (~2 µs
   * per spot record, a tenth of a sweep's CPU before). Bytes that come from upstream are always checked.
   */
  serialized?: boolean;
}

export type { Source } from "./sources/define.js";
