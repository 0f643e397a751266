// A streaming JSON scanner that hands over selected values whole, as compact JSON bytes, and walks past the rest.
//
// Why not a general streaming parser: an AmazonEC2 offer is larger than memory and than V8's largest string, but
// every piece we need from it (one product, one SKU's terms) is a few KB. So the scanner tokenizes only the few
// shallow levels above those pieces and cuts each wanted value out as bytes, for the caller to parse natively
// (JSON.parse, or DuckDB's JSON reader). Inside a value it only tracks strings and brackets: one tight loop over
// bytes, no token objects. A taken value loses its whitespace outside strings on the way: it is then one line (what
// a newline-delimited JSON file needs) and about a third smaller than the pretty-printed offer it came from.
import type { Readable } from "node:stream";
import { ContrailError } from "../errors.js";

/** What to do with the value at a path: hand it over, walk into it (objects and arrays only) or step over it. */
export type Choice = "take" | "descend" | "skip";

/** A value's place: object keys, and `*` for an array element. `[]` is the document itself. */
export type JsonPath = readonly string[];

export interface ScanHandlers {
  choose(path: JsonPath): Choice;
  /**
   * A taken value as compact JSON bytes: the served text without whitespace outside strings (numbers keep every
   * digit as served). The buffer is reused after this returns: copy what you keep.
   */
  value(path: JsonPath, json: Buffer): void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;

// States of the shallow tokenizer.
const VALUE = 0; // a value starts here
const KEY_OR_END = 1; // just after `{`
const ITEM_OR_END = 2; // just after `[`
const KEY = 3; // a key is due (after `,` in an object)
const IN_KEY = 4;
const COLON_DUE = 5;
const AFTER_VALUE = 6;
const RAW = 7; // inside a taken or skipped value
const DONE = 8;

interface Frame {
  object: boolean;
  key: string;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const endsBare = (b: number) => b === COMMA || b === CLOSE_OBJ || b === CLOSE_ARR || isSpace(b);

export class JsonScanner {
  private state = VALUE;
  private readonly frames: Frame[] = [];
  // The value being taken or skipped.
  private take = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private bare = false;
  // The taken value's compact bytes so far.
  private out = Buffer.allocUnsafe(1 << 16);
  private outLength = 0;
  private keyPieces: Buffer[] = [];
  private rawPath: JsonPath = [];
  private offset = 0;

  constructor(private readonly handlers: ScanHandlers) {}

  /** Feeds the next chunk of the document. */
  write(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (this.state === RAW) {
        i = this.raw(buf, i);
        continue;
      }
      const b = buf[i]!;
      if (this.state === IN_KEY) {
        i = this.key(buf, i);
        continue;
      }
      if (isSpace(b)) {
        i++;
        continue;
      }
      switch (this.state) {
        case VALUE:
          this.startValue(buf, i);
          // An object or array walked into has consumed its bracket; a raw value is scanned from its first byte.
          if ((this.state as number) !== RAW) i++;
          continue;
        case KEY_OR_END:
          if (b === CLOSE_OBJ) this.close(false);
          else this.expectKey(b);
          break;
        case ITEM_OR_END:
          if (b === CLOSE_ARR) this.close(true);
          else {
            this.state = VALUE;
            continue;
          }
          break;
        case KEY:
          this.expectKey(b);
          break;
        case COLON_DUE:
          if (b !== COLON) this.fail(b, "':'");
          this.state = VALUE;
          break;
        case AFTER_VALUE:
          this.afterValue(b);
          break;
        case DONE:
          this.fail(b, "the end of the document");
      }
      i++;
    }
    this.offset += n;
  }

  /** Checks that the document is complete. */
  end(): void {
    if (this.state === RAW && this.bare && this.frames.length === 0) this.finishRaw();
    if (this.state !== DONE) {
      throw new ContrailError("INVALID_JSON", `the JSON document ends early (at byte ${this.offset})`);
    }
  }

  private path(): string[] {
    return this.frames.map((f) => (f.object ? f.key : "*"));
  }

  private startValue(buf: Buffer, i: number): void {
    const b = buf[i]!;
    const path = this.path();
    const choice = this.handlers.choose(path);
    if (choice === "descend" && (b === OPEN_OBJ || b === OPEN_ARR)) {
      this.frames.push({ object: b === OPEN_OBJ, key: "" });
      this.state = b === OPEN_OBJ ? KEY_OR_END : ITEM_OR_END;
      return;
    }
    this.take = choice === "take";
    this.rawPath = path;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.bare = !(b === OPEN_OBJ || b === OPEN_ARR || b === QUOTE);
    this.outLength = 0;
    this.state = RAW;
  }

  /** Scans a taken or skipped value from `i`; returns where the scan stopped. */
  private raw(buf: Buffer, start: number): number {
    const n = buf.length;
    let end = -1;
    if (this.bare) {
      let i = start;
      while (i < n && !endsBare(buf[i]!)) i++;
      if (i < n) end = i;
      if (this.take) this.keep(buf, start, i);
    } else end = this.take ? this.copyNested(buf, start) : this.skipNested(buf, start);
    if (end < 0) return n;
    this.finishRaw();
    return end;
  }

  /** Walks an object, array or string; returns the index after its end, or -1 if it goes on in the next chunk. */
  private skipNested(buf: Buffer, start: number): number {
    const n = buf.length;
    let { depth, inString, escaped } = this;
    let end = -1;
    for (let i = start; i < n; i++) {
      const b = buf[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        }
      } else if (b === QUOTE) inString = true;
      else if (b === OPEN_OBJ || b === OPEN_ARR) depth++;
      else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        if (--depth === 0) {
          end = i + 1;
          break;
        }
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return end;
  }

  /**
   * As skipNested, copying the value's bytes but its whitespace outside strings to `out`. Two loops rather than one
   * with a `take` flag: these run once per byte of a GB-sized offer, and the skipping one stays the tighter.
   */
  private copyNested(buf: Buffer, start: number): number {
    const n = buf.length;
    const out = this.room(n - start);
    let o = this.outLength;
    let { depth, inString, escaped } = this;
    let end = -1;
    for (let i = start; i < n; i++) {
      const b = buf[i]!;
      if (inString) {
        out[o++] = b;
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        }
        continue;
      }
      if (b <= 0x20 && isSpace(b)) continue;
      out[o++] = b;
      if (b === QUOTE) inString = true;
      else if (b === OPEN_OBJ || b === OPEN_ARR) depth++;
      else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        if (--depth === 0) {
          end = i + 1;
          break;
        }
      }
    }
    this.outLength = o;
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return end;
  }

  private keep(buf: Buffer, start: number, end: number): void {
    const out = this.room(end - start);
    buf.copy(out, this.outLength, start, end);
    this.outLength += end - start;
  }

  /** `out` with room for `more` bytes (a value is a few KB; the buffer grows to the largest one taken). */
  private room(more: number): Buffer {
    if (this.outLength + more > this.out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLength + more));
      this.out.copy(bigger, 0, 0, this.outLength);
      this.out = bigger;
    }
    return this.out;
  }

  private finishRaw(): void {
    if (this.take) this.handlers.value(this.rawPath, this.out.subarray(0, this.outLength));
    this.outLength = 0;
    this.state = this.frames.length === 0 ? DONE : AFTER_VALUE;
  }

  private expectKey(b: number): void {
    if (b !== QUOTE) this.fail(b, "a key");
    this.keyPieces = [];
    this.escaped = false;
    this.state = IN_KEY;
  }

  /** Reads a key's bytes (the opening quote already consumed); returns where the scan stopped. */
  private key(buf: Buffer, start: number): number {
    let i = start;
    const n = buf.length;
    let escaped = this.escaped;
    for (; i < n; i++) {
      const b = buf[i]!;
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) break;
    }
    this.escaped = escaped;
    this.keyPieces.push(buf.subarray(start, i));
    if (i === n) return n;
    const text = Buffer.concat(this.keyPieces).toString("utf8");
    this.frames[this.frames.length - 1]!.key = text.includes("\\")
      ? (JSON.parse(`"${text}"`) as string)
      : text;
    this.escaped = false;
    this.state = COLON_DUE;
    return i + 1;
  }

  private afterValue(b: number): void {
    const top = this.frames[this.frames.length - 1]!;
    if (b === COMMA) this.state = top.object ? KEY : VALUE;
    else if (b === (top.object ? CLOSE_OBJ : CLOSE_ARR)) this.close(!top.object);
    else this.fail(b, top.object ? "',' or '}'" : "',' or ']'");
  }

  private close(array: boolean): void {
    const top = this.frames.pop();
    if (!top || top.object === array) throw new ContrailError("INVALID_JSON", "mismatched brackets in JSON");
    this.state = this.frames.length === 0 ? DONE : AFTER_VALUE;
  }

  private fail(b: number, expected: string): never {
    throw new ContrailError(
      "INVALID_JSON",
      `unexpected ${JSON.stringify(String.fromCharCode(b))} in JSON at ${this.path().join(".") || "the top level"}: expected ${expected}`,
    );
  }
}

/** Runs a scanner over a whole byte stream (already decompressed). */
export async function scanStream(body: Readable, handlers: ScanHandlers): Promise<void> {
  const scanner = new JsonScanner(handlers);
  for await (const chunk of body) scanner.write(chunk as Buffer);
  scanner.end();
}

/**
 * Rewrites the numbers in a JSON text as strings, so JSON.parse keeps their digits exactly as served (Azure sends
 * prices as JSON numbers: 0.192 must not pass through a double). Strings are matched first, so digits inside them stay.
 */
export function numbersAsStrings(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (m) =>
    m.startsWith('"') ? m : `"${m}"`,
  );
}
