// The enrichment index: for each instance type, the attributes that every product of that type shares in an EC2
// offer file. Built by streaming the document through stream-json's tokenizer (real offer files are 1–3 GB, far
// beyond a V8 string); memory holds the index and one input chunk, never the document. AWS writes `products`
// before `terms`, so reading stops as soon as the `products` object closes.
import { StringDecoder } from "node:string_decoder";
import type { Token } from "stream-json/parser.js";
import { ContrailError } from "../../errors.js";
import { streamJson } from "../stream-json.js";
import { BASE_KEYS } from "./records.js";

/**
 * Attributes never copied onto spot records: where the offer's product is, not what the instance type is.
 * `location` and `locationType` as the original crawler did; `regionCode` too, which AWS added later and which
 * would otherwise stamp "us-east-1" on every region's records.
 */
export const EXCLUDED_ATTRIBUTES: ReadonlySet<string> = new Set(["location", "locationType", "regionCode"]);

/** Instance type → its shared attributes, in the offer file's order. */
export type TypeAttributes = Map<string, Record<string, string>>;

/** Folds products one at a time into the per-type intersection of their attributes. */
export class SharedAttributes {
  private readonly common = new Map<string, Map<string, string>>();
  products = 0;

  add(attributes: Map<string, string>): void {
    const type = attributes.get("instanceType");
    if (type === undefined) return; // storage, data transfer, IPs…: not an instance
    this.products++;
    const known = this.common.get(type);
    if (!known) {
      const own = new Map<string, string>();
      for (const [k, v] of attributes) if (!EXCLUDED_ATTRIBUTES.has(k)) own.set(k, v);
      this.common.set(type, own);
      return;
    }
    // Keep only what this product agrees on: a differing or missing value drops the attribute for the type.
    for (const [k, v] of known) if (attributes.get(k) !== v) known.delete(k);
  }

  result(): TypeAttributes {
    const out: TypeAttributes = new Map();
    for (const [type, attrs] of this.common) out.set(type, Object.fromEntries(attrs));
    return out;
  }
}

export interface IndexBuild {
  types: TypeAttributes;
  /** Products with an instance type. */
  products: number;
  /** The document's top-level `version`, when it came before `products`. */
  version?: string;
  /** Input bytes consumed (less than the document when reading stopped after `products`). */
  bytesRead: number;
}

const NONE = Symbol.for("object-stream.none"); // stream-chain's "no more input" marker, to flush the tokenizer

/** Walks the token stream down to products.*.attributes; states by depth: 1 root, 2 products, 3 product, 4 attrs. */
class OfferWalker {
  private depth = 0;
  private rootKey: string | undefined;
  private productKey: string | undefined;
  private attrKey: string | undefined;
  private inProducts = false;
  private attrs: Map<string, string> | undefined;
  sawProducts = false;
  done = false;
  version: string | undefined;

  constructor(private readonly shared: SharedAttributes) {}

  token(t: Token): void {
    switch (t.name) {
      case "startObject":
      case "startArray":
        this.depth++;
        if (this.depth === 2 && this.rootKey === "products" && t.name === "startObject") {
          this.inProducts = this.sawProducts = true;
        } else if (
          this.inProducts &&
          this.depth === 4 &&
          this.productKey === "attributes" &&
          t.name === "startObject"
        ) {
          this.attrs = new Map();
        }
        return;
      case "endObject":
      case "endArray":
        if (this.inProducts) {
          if (this.depth === 3 && this.attrs) {
            this.shared.add(this.attrs);
            this.attrs = undefined;
          } else if (this.depth === 2) {
            this.inProducts = false;
            this.done = true;
          }
        }
        this.depth--;
        return;
      case "keyValue":
        if (this.depth === 1) this.rootKey = t.value;
        else if (this.depth === 3) this.productKey = t.value;
        else if (this.depth === 4) this.attrKey = t.value;
        return;
      case "stringValue":
      case "numberValue":
        if (this.depth === 1 && this.rootKey === "version" && !this.sawProducts) this.version = t.value;
        else if (this.depth === 4 && this.attrs && this.attrKey !== undefined)
          this.attrs.set(this.attrKey, t.value);
        return;
      case "trueValue":
      case "falseValue":
        if (this.depth === 4 && this.attrs && this.attrKey !== undefined)
          this.attrs.set(this.attrKey, String(t.value));
        return;
      default:
        return; // null attributes count as missing
    }
  }
}

/**
 * Builds the index from an offer document's bytes. Stops reading once `products` has closed unless `fullScan`
 * (then the whole document is tokenised, which also proves it is well-formed). The caller owns `body`: breaking out
 * of the iteration destroys a Node stream, which is what an early stop wants.
 */
export async function indexOffer(
  body: AsyncIterable<Buffer | string>,
  opts: { fullScan?: boolean; onProgress?: (bytes: number) => void } = {},
): Promise<IndexBuild> {
  const shared = new SharedAttributes();
  const walker = new OfferWalker(shared);
  const { jsonParser } = await streamJson();
  const parse = jsonParser({ streamValues: false }) as unknown as (text: string | symbol) => unknown;
  const feed = (out: unknown) => {
    if (typeof out !== "object" || out === null) return; // `none`: no complete token yet
    for (const t of (out as { values: Token[] }).values) walker.token(t);
  };
  const decoder = new StringDecoder("utf8");
  let bytesRead = 0;
  try {
    for await (const chunk of body) {
      bytesRead += chunk.length;
      feed(parse(typeof chunk === "string" ? chunk : decoder.write(chunk)));
      opts.onProgress?.(bytesRead);
      if (walker.done && !opts.fullScan) break;
    }
    if (!walker.done || opts.fullScan) {
      feed(parse(decoder.end()));
      feed(parse(NONE));
    }
  } catch (err) {
    if (err instanceof Error && /^Parser/.test(err.message)) {
      throw new ContrailError("INVALID_JSON", `offer file is not valid JSON: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (!walker.sawProducts || !walker.done) {
    throw new ContrailError("INVALID_SHAPE", 'offer file has no complete top-level "products" object');
  }
  return {
    types: shared.result(),
    products: shared.products,
    ...(walker.version !== undefined ? { version: walker.version } : {}),
    bytesRead,
  };
}

/** The JSON text of a type's attributes, ready to splice into a record (`"vcpu":"2","memory":"8 GiB"`). */
export function attributesFragment(attrs: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (BASE_KEYS.includes(k)) continue;
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  }
  return parts.join(",");
}
