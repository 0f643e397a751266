// What the fault suite knows of each fake and each source: one kit per source, next to its fake, listed once in
// kits.ts. The harness and the fault families are written against these, never against a source by name.
import type { FakeServer } from "../fakes/server.js";
import type { Manifest } from "../../src/types.js";
import type { Fakes } from "./kits.js";

/** A fake cloud service the suite starts once per test file. */
export interface FakeKit<T> {
  start(): Promise<T>;
  close(fake: T): Promise<void>;
  /** Its HTTP servers, whose faults the harness clears after each scenario. */
  servers(fake: T): FakeServer[];
  /** Faults it keeps besides its servers' (cleared after each scenario too). */
  clearFaults?(fake: T): void;
  /** What points the crawler at it (and enables the sources that need it). */
  env(fake: T): Record<string, string>;
}

export interface SourceKit {
  /** The one region (unit) the source captures in the suite. */
  region: string;
  /** A few bytes into its body: well inside it, past the status line and headers. */
  cutAt: number;
  /** What its main body is upstream: bytes-level JSON faults (bad UTF-8) apply to JSON bodies. */
  body: "json" | "xml";
  /** Where the bad-UTF-8 faults damage a JSON body: a string value (default) or, for bodies without long ones, a key. */
  utf8In?: "value" | "key";
  /** The server and path that serve its main body: where a body fault (truncate, reset, stall…) goes. */
  target(f: Fakes): { server: FakeServer; path: string | RegExp };
  /** Checks a complete capture's content against exactly what its fake served. */
  check(text: Buffer, m: Manifest, f: Fakes, region: string): void;
  /** Its settings in the suite's config file (`sources.<Name>`), e.g. no pause between regions. */
  config?: Record<string, unknown>;
  /** Environment it needs besides its fake's. */
  env?(f: Fakes): Record<string, string>;
}

/**
 * What a failure says when a source's body comes through the HTTP client and the capture's JSON check, as every
 * single-request JSON source's does: the fault families' expectation for a source they do not name.
 */
export const HTTP_JSON_MESSAGES = {
  truncated: (cutAt: number) => new RegExp(`broke off after ${cutAt} bytes`),
  stalled: /stalled: no data for 500 ms/,
  notData: /is an HTML page, not data/,
  invalid: /JSON ends early/,
} as const;
