// Spot history windows without gaps (SPEC §5 "No gaps"): each capture of a region covers [previous end, now).
import type { Manifest } from "../../types.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** The first capture of a region covers this much. */
export const FIRST_WINDOW = HOUR;
/** DescribeSpotPriceHistory keeps 90 days; a longer gap is clamped to that. */
export const MAX_LOOKBACK = 90 * DAY;
/**
 * A long window is fetched in slices of at most this length, each collected, deduplicated and sorted in memory
 * before it is written: memory stays bounded by one region-day of history, whatever the gap.
 */
export const SLICE = DAY;

export interface SpotWindow {
  start: Date;
  end: Date;
  /** Why the window starts where it does, for the log. */
  basis: "first" | "previous" | "clamped";
}

/** The window of a capture starting at `end`, given the region's previous capture (if any). */
export function windowFor(end: Date, previous: Manifest | undefined): SpotWindow {
  const endMs = end.getTime();
  if (!previous) return { start: new Date(endMs - FIRST_WINDOW), end, basis: "first" };
  // A capture recorded without a window (older writers) ended where it was captured.
  const prevEnd = Date.parse(previous.window?.end ?? previous.capturedAt);
  if (Number.isNaN(prevEnd)) return { start: new Date(endMs - FIRST_WINDOW), end, basis: "first" };
  if (prevEnd < endMs - MAX_LOOKBACK) {
    return { start: new Date(endMs - MAX_LOOKBACK), end, basis: "clamped" };
  }
  // A previous end in the future (clock skew between crawlers) gives an empty window, never an overlap.
  return { start: new Date(Math.min(prevEnd, endMs)), end, basis: "previous" };
}

/** Consecutive slices of [start, end), each at most `size` long; one (possibly empty) slice for an empty window. */
export function slices(start: Date, end: Date, size = SLICE): { start: Date; end: Date }[] {
  const out: { start: Date; end: Date }[] = [];
  let s = start.getTime();
  const e = end.getTime();
  do {
    const next = Math.min(e, s + size);
    out.push({ start: new Date(s), end: new Date(next) });
    s = next;
  } while (s < e);
  return out;
}
