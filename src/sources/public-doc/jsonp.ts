// A JSONP wrapper, stripped as the body streams (SPEC §5: the spot feed may come as `callback({…});`; the JSON inside
// is stored). Nothing is buffered but the few trailing bytes that may turn out to be the wrapper's `);`.
//
// What is accepted: optional whitespace, a callback name (`[A-Za-z_$][\w$.]*`), optional whitespace, `(`, the JSON
// value (whitespace around it trimmed), `)`, an optional `;`, optional whitespace. A body that starts with `{` or `[`
// is plain JSON and passes through untouched. The legacy feed's JavaScript object literal (unquoted keys, as in
// `callback({vers:0.01,…})`) is refused rather than rewritten: quoting keys would store bytes nobody served, and that
// feed has been frozen since 2024 (wire-formats §3.1).
import { Transform, type TransformCallback } from "node:stream";
import { ContrailError } from "../../errors.js";

const MAX_NAME = 128;
/** Trailing bytes held back while they could still be the wrapper's end: a longer run is not a JSONP ending. */
const MAX_TAIL = 64 * 1024;

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const isNameStart = (c: number) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24;
const isNamePart = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e;
/** Bytes that may belong to the wrapper's end: whitespace, `)` and `;`. */
const isTail = (c: number) => WS.has(c) || c === 0x29 || c === 0x3b;

type State = "start" | "name" | "open" | "inner" | "firstKey" | "body" | "plain";

export class JsonpUnwrap extends Transform {
  private state: State = "start";
  private name = "";
  private held: Buffer = Buffer.alloc(0);
  /** Leading whitespace of the body, in chunks of its own (bounded by the JSON check's patience, not ours). */
  private lead: Buffer[] = [];

  /** `onCallback` learns the callback's name as soon as the wrapper is recognised. */
  constructor(
    private readonly where: string,
    private readonly onCallback: (name: string) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.state === "plain") return cb(null, chunk);
      const start = this.state === "body" ? 0 : this.prefix(chunk);
      // prefix() moves the state on (TypeScript does not see it through the call).
      const state = this.state as State;
      if (state === "plain") return cb(null, start === 0 ? chunk : chunk.subarray(start));
      if (state === "body") this.passBody(chunk.subarray(start));
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state === "plain") return cb();
    if (this.state !== "body") return cb(this.invalid("the body ends inside the JSONP wrapper"));
    const tail = this.held.toString("latin1");
    if (!/^\s*\)\s*;?\s*$/.test(tail))
      return cb(
        this.invalid(`the JSONP wrapper does not end with ")" or ");" (ends with ${JSON.stringify(tail)})`),
      );
    cb();
  }

  /** Walks the wrapper's opening in `chunk`; returns where the content starts (the chunk's length: not yet). */
  private prefix(chunk: Buffer): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      switch (this.state) {
        case "start":
          if (WS.has(c)) continue;
          if (isNameStart(c)) {
            this.state = "name";
            this.name = String.fromCharCode(c);
            continue;
          }
          // `{`, `[` or anything else: not JSONP; the JSON check judges it as served, leading whitespace included
          // (this chunk's from its start, earlier chunks' given back first).
          this.state = "plain";
          for (const ws of this.lead) this.push(ws);
          this.lead = [];
          return 0;
        case "name":
          if (isNamePart(c) && this.name.length < MAX_NAME) {
            this.name += String.fromCharCode(c);
            continue;
          }
          this.state = "open";
        // falls through: the byte after the name
        case "open":
          if (WS.has(c)) continue;
          if (c !== 0x28) throw this.invalid(`neither JSON nor JSONP: "${this.name}" is not followed by "("`);
          this.state = "inner";
          this.onCallback(this.name);
          continue;
        case "inner":
          if (WS.has(c)) continue;
          if (c === 0x7b) {
            // An object: its first key says whether this is JSON or a JavaScript object literal.
            this.state = "firstKey";
            this.push(chunk.subarray(i, i + 1));
            continue;
          }
          this.state = "body";
          return i;
        case "firstKey":
          if (WS.has(c)) {
            this.push(chunk.subarray(i, i + 1));
            continue;
          }
          if (c === 0x22 || c === 0x7d) {
            this.state = "body";
            return i;
          }
          throw this.invalid(
            "JSONP with JavaScript object keys (unquoted), not JSON: refused rather than rewritten",
          );
      }
    }
    // A chunk of nothing but leading whitespace: kept in case the body turns out to be plain JSON.
    if (this.state === "start") this.lead.push(chunk);
    return chunk.length;
  }

  /** Passes the content on, holding back its trailing run of whitespace, `)` and `;` (maybe the wrapper's end). */
  private passBody(part: Buffer): void {
    if (part.length === 0) return;
    let end = part.length;
    while (end > 0 && isTail(part[end - 1]!)) end--;
    if (end === 0) {
      this.held = Buffer.concat([this.held, part]);
      if (this.held.length > MAX_TAIL) throw this.invalid("the JSONP wrapper does not end");
      return;
    }
    if (this.held.length > 0) this.push(this.held);
    this.push(part.subarray(0, end));
    this.held = part.subarray(end);
  }

  private invalid(why: string): ContrailError {
    return new ContrailError("INVALID_JSON", `${this.where}: ${why}; not stored`);
  }
}
