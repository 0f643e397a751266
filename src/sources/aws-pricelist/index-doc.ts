// The Price List's index documents (service index, offers' region indexes, Savings Plans' region index): one JSON
// document each, read whole (they are small), whose one field of interest must have the expected shape.
import { ContrailError } from "../../errors.js";
import type { HttpClient } from "../../types.js";

/** `field` of the JSON document at `url`, which must be a list or a (non-list) object; else INVALID_SHAPE. */
export async function indexField(
  http: HttpClient,
  url: string,
  field: string,
  kind: "list" | "object",
  opts: { signal: AbortSignal; label: string },
): Promise<unknown> {
  const doc = await http.getJson<Record<string, unknown>>(url, opts);
  const value = doc?.[field];
  const ok =
    kind === "list" ? Array.isArray(value) : !!value && typeof value === "object" && !Array.isArray(value);
  if (!ok) throw new ContrailError("INVALID_SHAPE", `${url} has no "${field}" ${kind}`);
  return value;
}
