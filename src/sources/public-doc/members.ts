// Counts the members of a few top-level containers as the body streams (an array's elements, an object's keys), so
// that a document whose catalogue is empty (Oracle's `items: []`) is refused, and a manifest can carry its item
// count, without parsing the document. It is no validator: the capture's JSON check judges validity; this only
// follows strings and nesting well enough to count on a valid document.
import { Transform, type TransformCallback } from "node:stream";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const isOpen = (c: number) => c === 0x7b || c === 0x5b;
const isClose = (c: number) => c === 0x7d || c === 0x5d;

export class MemberCounter extends Transform {
  /** Members of each watched key's container, once the body has ended (absent: the key was not there). */
  readonly counts = new Map<string, number>();
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Raw bytes of the string being read at depth 1 (a key, maybe), or undefined. */
  private keyBytes: number[] | undefined;
  private lastKey = "";
  /** After a watched key's colon: its value is next. */
  private pending: string | undefined;
  /** The watched container being counted: its key, and whether a member has begun since the last comma. */
  private watching: { key: string; open: boolean } | undefined;

  constructor(
    private readonly keys: readonly string[],
    private readonly onEnd?: (counts: ReadonlyMap<string, number>) => Error | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (let i = 0; i < chunk.length; i++) this.step(chunk[i]!);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    cb(this.onEnd?.(this.counts));
  }

  private step(c: number): void {
    if (this.inString) return this.stringByte(c);
    if (WS.has(c)) return;
    const w = this.watching;
    if (w && this.depth === 2) {
      if (c === COMMA) w.open = false;
      else if (!isClose(c) && !w.open) {
        w.open = true;
        this.counts.set(w.key, (this.counts.get(w.key) ?? 0) + 1);
      }
    }
    if (this.pending !== undefined) {
      if (isOpen(c)) {
        this.watching = { key: this.pending, open: false };
        this.counts.set(this.pending, 0);
      }
      this.pending = undefined;
    }
    if (c === QUOTE) {
      this.inString = true;
      if (this.depth === 1) this.keyBytes = [];
    } else if (isOpen(c)) this.depth++;
    else if (isClose(c)) {
      this.depth--;
      if (this.depth === 1) this.watching = undefined;
    } else if (c === COLON && this.depth === 1 && this.keys.includes(this.lastKey))
      this.pending = this.lastKey;
  }

  private stringByte(c: number): void {
    if (this.escaped) this.escaped = false;
    else if (c === BACKSLASH) this.escaped = true;
    else if (c === QUOTE) {
      this.inString = false;
      if (this.keyBytes) this.lastKey = Buffer.from(this.keyBytes).toString("utf8");
      this.keyBytes = undefined;
      return;
    }
    // Keys longer than any watched one are not worth keeping.
    if (this.keyBytes && this.keyBytes.length <= 256) this.keyBytes.push(c);
  }
}
