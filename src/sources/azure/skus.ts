// Compute Resource SKUs (wire-formats §6) reduced to the VM sizes' capabilities, for the RateCard capture's
// `Capabilities` key. Pages are parsed as a token stream, one SKU at a time: the unfiltered list is tens of MB
// of mostly locations and restrictions, of which only a few KB are kept.
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type Assembler from "stream-json/assembler.js";
import type { Token } from "stream-json/parser.js";
import { ContrailError, errorMessage, isAbortError } from "../../errors.js";
import { redactUrl } from "../../http/client.js";
import { withRetry, type RetryPolicy } from "../../http/retry.js";
import type { HttpClient } from "../../types.js";
import { streamJson } from "../stream-json.js";

export const SKUS_API_VERSION = "2021-07-01";
/**
 * The unfiltered SKU list is assembled before its first byte is sent: a minute or more to the headers is normal
 * for it, unlike any other request, so it gets its own wait (the body's stall timeout still applies).
 */
export const SKUS_HEADERS_TIMEOUT = 180_000;
const MAX_PAGES = 1000;
const BODY_FAILURES = new Set(["HTTP_TRUNCATED", "HTTP_STALLED", "INVALID_JSON"]);

export interface ResourceSku {
  resourceType?: unknown;
  name?: unknown;
  size?: unknown;
  capabilities?: unknown;
}

/** `{ "<size, '_' → ' '>": { "<capability>": "<value>" } }`, first occurrence of a size wins. */
export type Capabilities = Map<string, Record<string, unknown>>;

export function skusUrl(managementUrl: string, subscriptionId: string): string {
  return `${managementUrl}/subscriptions/${encodeURIComponent(subscriptionId)}/providers/Microsoft.Compute/skus?api-version=${SKUS_API_VERSION}`;
}

/** The size a SKU stands for in the capture: `size`, else the name without `Standard_`, with `_` as spaces. */
export function sizeOf(sku: ResourceSku): string | undefined {
  const size =
    typeof sku.size === "string" && sku.size
      ? sku.size
      : typeof sku.name === "string" && sku.name
        ? sku.name.replace(/^Standard_/, "")
        : undefined;
  return size?.replace(/_/g, " ");
}

export function addSku(caps: Capabilities, sku: ResourceSku): void {
  if (sku.resourceType !== "virtualMachines") return;
  const size = sizeOf(sku);
  if (size === undefined || caps.has(size)) return;
  const entry: Record<string, unknown> = {};
  if (Array.isArray(sku.capabilities)) {
    for (const c of sku.capabilities as { name?: unknown; value?: unknown }[]) {
      if (c && typeof c.name === "string") entry[c.name] = c.value;
    }
  }
  caps.set(size, entry);
}

/** The Capabilities object as JSON (a Map keeps `__proto__`-like names as plain keys). */
export function capabilitiesJson(caps: Capabilities): string {
  return JSON.stringify(Object.fromEntries(caps));
}

export interface SkuFetch {
  http: HttpClient;
  managementUrl: string;
  subscriptionId: string;
  /** A bearer token for Resource Manager: sent only to the management URL's origin. */
  token: () => Promise<string>;
  retry: RetryPolicy;
  signal: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Every page of the SKU list (via `nextLink`), reduced to VM capabilities. */
export async function fetchVmCapabilities(f: SkuFetch): Promise<{ caps: Capabilities; pages: number }> {
  const armOrigin = new URL(f.managementUrl).origin;
  const caps: Capabilities = new Map();
  const seen = new Set<string>();
  let url: string | undefined = skusUrl(f.managementUrl, f.subscriptionId);
  let pages = 0;
  await streamJson(); // loaded before any page's body is open, so that no body waits for it
  while (url) {
    if (seen.has(url) || pages >= MAX_PAGES) {
      throw new ContrailError(
        "UPSTREAM",
        `the SKU list's nextLink loops or never ends (at ${redactUrl(url)})`,
      );
    }
    seen.add(url);
    const pageUrl: string = url;
    const headers: Record<string, string> =
      new URL(pageUrl).origin === armOrigin ? { authorization: `Bearer ${await f.token()}` } : {};
    // A page whose body breaks off is fetched again whole; its SKUs count only once it is complete.
    const page = await withRetry(
      async () => {
        const res = await f.http.request({
          url: pageUrl,
          signal: f.signal,
          headers,
          label: "skus",
          headersTimeout: SKUS_HEADERS_TIMEOUT,
        });
        return readSkuPage(res.body, pageUrl);
      },
      {
        policy: f.retry,
        signal: f.signal,
        // Statuses and connection failures were retried by the client already; here only a broken body.
        retryable: (err) => err instanceof ContrailError && BODY_FAILURES.has(err.code) && err.retryable,
        ...(f.onRetry ? { onRetry: f.onRetry } : {}),
      },
    );
    for (const sku of page.skus) addSku(caps, sku);
    pages++;
    url = page.nextLink ? new URL(page.nextLink, pageUrl).toString() : undefined;
  }
  return { caps, pages };
}

/**
 * Streams one page `{"value": [sku, ...], "nextLink": "..."}`, keeping only what addSku reads of each VM SKU
 * (resourceType, name, size, capabilities) until the page is complete.
 */
export async function readSkuPage(
  body: Readable,
  url: string,
): Promise<{ skus: ResourceSku[]; nextLink?: string }> {
  const { parser, Assembler } = await streamJson();
  const skus: ResourceSku[] = [];
  let nextLink: string | undefined;
  let depth = 0;
  let key: string | undefined;
  let inValue = false;
  let rootIsObject = false;
  let sawValue = false;
  let asm: Assembler | undefined;
  try {
    await pipeline(body, parser.asStream({ streamValues: false }), async (tokens: AsyncIterable<Token>) => {
      for await (const tok of tokens) {
        if (asm) {
          asm.consume(tok);
          if (asm.done) {
            const sku = asm.current as ResourceSku;
            if (sku && sku.resourceType === "virtualMachines") {
              skus.push({
                resourceType: sku.resourceType,
                name: sku.name,
                size: sku.size,
                capabilities: sku.capabilities,
              });
            }
            asm = undefined;
          }
          continue;
        }
        switch (tok.name) {
          case "startObject":
            if (depth === 0) rootIsObject = true;
            if (inValue && depth === 2) {
              asm = new Assembler();
              asm.consume(tok);
              continue;
            }
            depth++;
            break;
          case "startArray":
            if (depth === 1 && key === "value") inValue = sawValue = true;
            depth++;
            break;
          case "endObject":
          case "endArray":
            depth--;
            if (depth === 1) inValue = false;
            break;
          case "keyValue":
            if (depth === 1) key = tok.value;
            break;
          case "stringValue":
            if (depth === 1 && key === "nextLink") nextLink = tok.value;
            break;
        }
      }
    });
  } catch (err) {
    if (isAbortError(err) || err instanceof ContrailError) throw err;
    // A page that does not parse is most likely a glitch upstream (as getJson treats it): worth another attempt.
    throw new ContrailError(
      "INVALID_JSON",
      `${redactUrl(url)} did not return valid JSON: ${errorMessage(err)}`,
      {
        cause: err,
        retryable: true,
      },
    );
  }
  if (!rootIsObject || !sawValue) {
    throw new ContrailError("INVALID_SHAPE", `${redactUrl(url)} is not a SKU list (no "value" array)`);
  }
  return nextLink ? { skus, nextLink } : { skus };
}
