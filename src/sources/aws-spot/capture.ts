// One region's spot capture: its window, every page of every slice, records enriched and written as one JSON array,
// starting with each series' price in effect at the window's start, so that the capture stands on its own.
//
// Memory and order: a window is fetched in slices of at most a day (window.ts SLICE). Each slice's records are
// collected, deduplicated and sorted (oldest first, then AZ, type, product) before they are written, so the whole
// capture is in one deterministic order while memory holds one region-day, however long the gap being covered.
// A normal hourly window is a single slice.
import { Readable } from "node:stream";
import type { CaptureMeta, Manifest, RunContext } from "../../types.js";
import type { EnrichmentIndex } from "./enrichment.js";
import { ec2Client, endpointDescription, fetchSlice } from "./history.js";
import { RecordWriter, sortUnique } from "./records.js";
import { slices, windowFor, type SpotWindow } from "./window.js";

const CHUNK = 64 * 1024;
const OPEN = Buffer.from("[");
const CLOSE = Buffer.from("]");

export async function captureRegion(
  ctx: RunContext,
  region: string,
  enrichment: () => Promise<EnrichmentIndex | undefined>,
): Promise<Manifest> {
  const capturedAt = new Date();
  const window = windowFor(capturedAt, await ctx.latest(region));
  const log = ctx.log.child({ region });
  const span = { start: window.start.toISOString(), end: window.end.toISOString() };
  if (window.basis === "clamped") {
    log.warn(
      { window: span },
      "gap since the last capture exceeds the 90 days EC2 keeps: covering the last 90 days",
    );
  } else {
    log.info({ window: span, basis: window.basis }, "spot window");
  }
  const client = await ec2Client(ctx.config, region);
  try {
    return await ctx.capture({
      region,
      capturedAt,
      shape: { root: "array" },
      serialized: true, // every string through JSON.stringify (records.ts): no byte-level re-check of our own text
      open: async (signal) => {
        // Filled in as the body streams; the capture reads it once the body has ended.
        const meta: CaptureMeta & { items: number; pages: number } = {
          urls: [endpointDescription(ctx.config, region)],
          items: 0,
          pages: 0,
          window: span,
        };
        const body = Readable.from(records(window, meta, signal), { objectMode: false });
        return { body, meta };
      },
    });
  } finally {
    client.destroy();
  }

  async function* records(w: SpotWindow, meta: { items: number; pages: number }, signal: AbortSignal) {
    const pending = enrichment(); // shared by the run's regions; loads while this region fetches
    pending.catch(() => undefined); // awaited below; an early failure here must not go unhandled
    yield OPEN;
    let writer: RecordWriter | undefined;
    const parts = slices(w.start, w.end);
    for (let i = 0; i < parts.length; i++) {
      const slice = parts[i]!;
      const { rows, pages } = await fetchSlice(client, region, slice, signal);
      meta.pages += pages;
      // EC2 also returns each series' last change before StartTime, the price in effect at the slice's start. Every
      // capture keeps those of its window's start (SPEC §5: a capture on its own shows every price in force during
      // its window); a later slice's are records the slice before it already wrote.
      const lower = i === 0 ? -Infinity : slice.start.getTime();
      const upper = slice.end.getTime(); // EC2's EndTime is inclusive; the next window starts here
      const kept = sortUnique(rows.filter((r) => r.time >= lower && r.time < upper));
      if (kept.length === 0) continue;
      writer ??= new RecordWriter((await pending)?.fragments, CHUNK);
      for (const r of kept) {
        writer.add(r);
        meta.items++;
        if (writer.size >= CHUNK) yield writer.take();
      }
    }
    if (writer && writer.size > 0) yield writer.take();
    yield CLOSE;
  }
}
