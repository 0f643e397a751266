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
  /** The server and path that serve its main body: where a body fault (truncate, reset, stall…) goes. */
  target(f: Fakes): { server: FakeServer; path: string | RegExp };
  /** Checks a complete capture's content against exactly what its fake served. */
  check(text: Buffer, m: Manifest, f: Fakes, region: string): void;
  /** Its settings in the suite's config file (`sources.<Name>`), e.g. no pause between regions. */
  config?: Record<string, unknown>;
  /** Environment it needs besides its fake's. */
  env?(f: Fakes): Record<string, string>;
}
