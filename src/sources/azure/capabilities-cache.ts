// The VM capabilities reduced from the Compute Resource SKUs list, kept for a day in the lake
// (`_contrail/cache/azure-vm-capabilities.json`). The list is ~80 MB and slow to start, while what the capture
// needs from it is a few KB that change with new VM sizes, not by the hour. The lake rather than memory: an
// hourly source run from cron (`crawl --once`) or a restarted daemon finds it there, and so do replicas; a
// few KB per day is all it costs.
import type { Logger } from "pino";
import * as z from "zod";
import { errorMessage, isAbortError } from "../../errors.js";
import { META } from "../../lake/keys.js";
import type { Lake } from "../../types.js";

export const CAPABILITIES_CACHE_KEY = `${META}/cache/azure-vm-capabilities.json`;
export const CAPABILITIES_MAX_AGE = 24 * 3_600_000;

const cacheFile = z.object({
  kind: z.literal("azure-vm-capabilities"),
  formatVersion: z.literal(1),
  fetchedAt: z.string().datetime(),
  sizes: z.number().int().min(0),
  /** The `Capabilities` member's JSON text, exactly as spliced into captures. */
  capabilities: z.string(),
});

/** Capabilities fetched less than a day ago, or undefined (absent, stale, or unreadable: then logged). */
export async function readCapabilities(
  lake: Lake,
  log: Logger,
  signal: AbortSignal,
  now = Date.now(),
): Promise<string | undefined> {
  try {
    const bytes = await lake.getBytes(CAPABILITIES_CACHE_KEY, signal);
    if (!bytes) return undefined;
    const parsed = cacheFile.safeParse(JSON.parse(bytes.toString("utf8")));
    if (!parsed.success) {
      log.warn(
        { key: CAPABILITIES_CACHE_KEY },
        "the VM capabilities cache is not readable; fetching the SKUs",
      );
      return undefined;
    }
    const age = now - Date.parse(parsed.data.fetchedAt);
    return age >= 0 && age < CAPABILITIES_MAX_AGE ? parsed.data.capabilities : undefined;
  } catch (err) {
    if (isAbortError(err) || signal.aborted) throw err;
    log.warn(
      { key: CAPABILITIES_CACHE_KEY, err: errorMessage(err) },
      "the VM capabilities cache is not readable; fetching the SKUs",
    );
    return undefined;
  }
}

/** Stores freshly fetched capabilities; a failure costs only the next run a SKU download, so it is logged. */
export async function writeCapabilities(
  lake: Lake,
  log: Logger,
  capabilities: string,
  sizes: number,
  signal: AbortSignal,
): Promise<void> {
  const file: z.infer<typeof cacheFile> = {
    kind: "azure-vm-capabilities",
    formatVersion: 1,
    fetchedAt: new Date().toISOString(),
    sizes,
    capabilities,
  };
  try {
    await lake.putBytes(CAPABILITIES_CACHE_KEY, JSON.stringify(file), { signal });
  } catch (err) {
    if (isAbortError(err) || signal.aborted) throw err;
    log.warn({ key: CAPABILITIES_CACHE_KEY, err: errorMessage(err) }, "could not cache the VM capabilities");
  }
}
