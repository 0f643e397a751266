// A byte-level streaming JSON validator: checks that a body is exactly one RFC 8259 JSON value of the
// expected root type, in constant memory and at memory-bandwidth-ish speed, without decoding or building
// anything on the hot path. The text must be UTF-8 (RFC 8259 §8.1): each chunk is checked as the Unicode
// standard defines well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) by Node's SIMD
// validator, with a byte-by-byte scan only for a sequence split between chunks and to find the bad byte. It also notes which top-level keys occur and picks up a few top-level scalars
// (e.g. an offer file's `version`).
import { isUtf8 } from "node:buffer";
import { Transform } from "node:stream";
import { ContrailError } from "../errors.js";
import type { JsonShape } from "../types.js";

/** Deepest nesting accepted. */
export const MAX_JSON_DEPTH = 10_000;
/** Longest top-level key (raw bytes) compared against the shape's keys. */
const MAX_KEY_BYTES = 1024;
/** Longest raw string (or number) captured for shape.captureKeys; longer values are not recorded. */
const MAX_VALUE_BYTES = 64 * 1024;

// Parser states: small dense integers for the state switch.
const START = 0; // before the root value (a BOM may come first)
const VALUE = 1; // expect a value (after ":" or after "," in an array)
const ARR_FIRST = 2; // after "[": a value or "]"
const OBJ_FIRST = 3; // after "{": a key or "}"
const KEY = 4; // after "," in an object: a key
const COLON = 5; // after a key: ":"
const AFTER = 6; // after a value inside a container: "," or the closer
const DONE = 7; // after the root value: whitespace only
const STR = 8; // inside a string
const ESC = 9; // after a backslash in a string
const HEX4 = 10; // inside \uXXXX (this.hexLeft digits to go)
const NUM_MINUS = 11; // after "-"
const NUM_ZERO = 12; // after a leading "0"
const NUM_INT = 13; // in the integer digits
const NUM_DOT = 14; // after "."
const NUM_FRAC = 15; // in the fraction digits
const NUM_E = 16; // after "e" / "E"
const NUM_ESIGN = 17; // after the exponent's sign
const NUM_EXP = 18; // in the exponent digits
const LIT = 19; // inside true / false / null
const BOM = 20; // inside a leading UTF-8 byte-order mark

// What is being collected (raw bytes of a top-level key or of a captured top-level scalar).
const C_NONE = 0;
const C_KEY = 1;
const C_STRING = 2;
const C_NUMBER = 3;

/**
 * Bytes that need no attention inside a string: everything >= 0x20 except `"` and `\` (bytes >= 0x80 are
 * checked as UTF-8 by a pass of their own).
 */
const STR_PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 256; c++) STR_PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;
/** JSON whitespace. */
const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;
const DIGIT = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) DIGIT[c] = 1;
const HEX = new Uint8Array(256);
for (const ch of "0123456789abcdefABCDEF") HEX[ch.charCodeAt(0)] = 1;
/** Valid characters after a backslash, other than `u`. */
const ESCAPABLE = new Uint8Array(256);
for (const ch of '"\\/bfnrt') ESCAPABLE[ch.charCodeAt(0)] = 1;
/** The literals' remaining bytes, each ended by 0: after `t` comes index 1, after `f` 6, after `n` 12. */
const LITS = Uint8Array.from(Buffer.from("true\0false\0null\0", "latin1"));
const LIT_TRUE = 1;
const LIT_FALSE = 6;
const LIT_NULL = 12;

/**
 * Per lead byte: the length of its UTF-8 sequence (0: never a lead byte — continuation bytes, the overlong
 * leads C0 and C1, and F5..FF, which would encode more than U+10FFFF), and the range of the byte after it.
 * The narrower second-byte ranges exclude the overlong 3- and 4-byte forms (E0 80..9F, F0 80..8F), the UTF-16
 * surrogates U+D800..U+DFFF (ED A0..BF, as CESU-8 writes them) and code points above U+10FFFF (F4 90..BF):
 * the well-formed sequences of the Unicode standard, ch. 3, table 3-7.
 */
const U8_LEN = new Uint8Array(256);
const U8_LO = new Uint8Array(256);
const U8_HI = new Uint8Array(256);
for (let c = 0xc2; c <= 0xf4; c++) {
  U8_LEN[c] = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  U8_LO[c] = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
  U8_HI[c] = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
}

const EXPECTED: Record<number, string> = {
  [START]: "expected a value",
  [VALUE]: "expected a value",
  [ARR_FIRST]: 'expected a value or "]"',
  [OBJ_FIRST]: 'expected a key or "}"',
  [KEY]: "expected a key",
  [COLON]: 'expected ":"',
  [DONE]: "after the end of the JSON value",
  [ESC]: "invalid escape in a string",
  [HEX4]: "invalid \\u escape in a string",
  [NUM_MINUS]: "invalid number",
  [NUM_DOT]: "invalid number",
  [NUM_E]: "invalid number",
  [NUM_ESIGN]: "invalid number",
  [LIT]: "invalid literal",
  [BOM]: "invalid byte-order mark",
};

function describeByte(c: number): string {
  if (c > 0x20 && c < 0x7f) return c === 0x22 ? "'\"'" : `"${String.fromCharCode(c)}"`;
  return `byte 0x${c.toString(16).padStart(2, "0")}`;
}

/** Why `lead` cannot start a sequence, or why `b` cannot follow the lead byte `lead`. */
function utf8Problem(lead: number, b?: number): string {
  const hex = (x: number) => `0x${x.toString(16).padStart(2, "0")}`;
  if (b === undefined) {
    if (lead < 0xc0) return `UTF-8 continuation byte ${hex(lead)} without a lead byte`;
    if (lead < 0xc2) return `overlong UTF-8 sequence (lead byte ${hex(lead)})`;
    return `byte ${hex(lead)} never occurs in UTF-8`;
  }
  if (b >= 0x80 && b <= 0xbf) {
    if (lead === 0xe0 || lead === 0xf0) return `overlong UTF-8 sequence (${hex(lead)} ${hex(b)})`;
    if (lead === 0xed) return `UTF-16 surrogate encoded in UTF-8 (${hex(lead)} ${hex(b)})`;
    return `UTF-8 sequence above U+10FFFF (${hex(lead)} ${hex(b)})`;
  }
  return `truncated UTF-8 sequence (lead byte ${hex(lead)}, then ${describeByte(b)})`;
}

function invalid(message: string): ContrailError {
  return new ContrailError("INVALID_JSON", message);
}

/**
 * Validates a JSON document fed as byte chunks split anywhere. Throws a non-retryable
 * `ContrailError("INVALID_JSON")` at the first invalid byte, and in `end()` when the document is incomplete
 * or (`INVALID_SHAPE`) of the wrong root type or missing required top-level keys.
 */
export class JsonChecker {
  private readonly rootWanted: "object" | "array";
  /** Raw UTF-8 bytes of the keys to look for at the root object's top level; [0, required) are required. */
  private readonly wanted: Buffer[];
  private readonly wantedNames: string[];
  /** Per wanted key: index into captureKeys, or -1. */
  private readonly captureOf: number[];
  private readonly captureKeys: string[];
  private readonly requiredCount: number;
  private readonly seen: boolean[];
  private readonly trackKeys: boolean;
  private readonly values = new Map<string, unknown>();

  private state = START;
  private depth = 0;
  /** stack[d] = 1 when the container at depth d (1-based) is an object, 0 for an array. Grows by doubling. */
  private stack = new Uint8Array(64);
  private strKey = false;
  private hexLeft = 0;
  private litPos = 0;
  private pos = 0;
  /** The chunk being written (for the UTF-8 check that precedes a grammar error); unset between writes. */
  private chunk: Uint8Array | undefined;
  /** A UTF-8 sequence in progress: its lead byte, the continuation bytes still due, the next one's range. */
  private u8Lead = 0;
  private u8Left = 0;
  private u8Lo = 0x80;
  private u8Hi = 0xbf;
  private rootKind: "object" | "array" | "scalar" | undefined;
  private err: ContrailError | undefined;
  private result: { values: Record<string, unknown> } | undefined;

  // Collection of a top-level key's or captured value's raw bytes (only ever at depth 1).
  private coll = C_NONE;
  private collFrom = 0;
  private collLen = 0;
  private collCap = 0;
  private collOver = false;
  private collBuf: Uint8Array | undefined;
  /** Index into captureKeys of the key whose value comes next, or -1. */
  private pending = -1;

  constructor(shape: JsonShape) {
    this.rootWanted = shape.root;
    const required = [...new Set(shape.requiredKeys ?? [])];
    this.captureKeys = [...new Set(shape.captureKeys ?? [])];
    const names = [...required, ...this.captureKeys.filter((k) => !required.includes(k))];
    this.wantedNames = names;
    this.wanted = names.map((k) => Buffer.from(k, "utf8"));
    this.captureOf = names.map((k) => this.captureKeys.indexOf(k));
    this.requiredCount = required.length;
    this.seen = names.map(() => false);
    this.trackKeys = shape.root === "object" && names.length > 0;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.pos;
  }

  write(buf: Buffer | Uint8Array): void {
    if (this.err) throw this.err;
    const n = buf.length;
    let state = this.state;
    let depth = this.depth;
    let strKey = this.strKey;
    let i = 0;
    let c = 0;
    this.chunk = buf;

    main: while (i < n) {
      c = buf[i]!;
      switch (state) {
        case STR: {
          // The hot loop: most bytes of a JSON document are string contents. Skip plain bytes four at a
          // time while four more are surely there, then one at a time; stop at `"`, `\` or a control byte.
          if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
            const stop = n - 3; // i < stop: buf[i + 3] exists
            i++;
            while (i < stop) {
              c = buf[i]!;
              if (STR_PLAIN[c] === 0) break;
              c = buf[i + 1]!;
              if (STR_PLAIN[c] === 0) {
                i += 1;
                break;
              }
              c = buf[i + 2]!;
              if (STR_PLAIN[c] === 0) {
                i += 2;
                break;
              }
              c = buf[i + 3]!;
              if (STR_PLAIN[c] === 0) {
                i += 3;
                break;
              }
              i += 4;
            }
            if (i >= stop) {
              // Near the chunk's end (c may be stale here: reload it).
              if (i === n) break main;
              c = buf[i]!;
              while (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
                if (++i === n) break main;
                c = buf[i]!;
              }
            }
          }
          if (c === 0x22) {
            if (this.coll !== C_NONE) this.collectEnd(buf, i);
            i++;
            if (strKey) {
              // Peephole for the usual `"key" : ` and `"key":` (the general case is the COLON state).
              if (i + 2 < n && buf[i] === 0x20 && buf[i + 1] === 0x3a && buf[i + 2] === 0x20) {
                i += 3;
                state = VALUE;
              } else if (i < n && buf[i] === 0x3a) {
                i++;
                state = VALUE;
              } else state = COLON;
            } else if (depth !== 0) {
              // Peephole for a `,` right after the string.
              if (i < n && buf[i] === 0x2c) {
                i++;
                state = this.stack[depth] === 1 ? KEY : VALUE;
              } else state = AFTER;
            } else state = DONE;
            continue;
          }
          if (c === 0x5c) {
            state = ESC;
            i++;
            continue;
          }
          return this.fail(i, `unescaped control character 0x${c.toString(16).padStart(2, "0")} in a string`);
        }

        case AFTER: {
          while (c <= 0x20) {
            if (c !== 0x20 && WS[c] === 0) return this.failAt(i, c, state, depth);
            if (++i === n) break main;
            c = buf[i]!;
          }
          if (c === 0x2c) {
            i++;
            if (this.stack[depth] === 1) {
              state = KEY;
              continue;
            }
            state = VALUE;
            continue;
          }
          if (c === 0x7d) {
            if (this.stack[depth] !== 1) return this.failAt(i, c, state, depth);
            depth--;
            state = depth !== 0 ? AFTER : DONE;
            i++;
            continue;
          }
          if (c === 0x5d) {
            if (this.stack[depth] !== 0) return this.failAt(i, c, state, depth);
            depth--;
            state = depth !== 0 ? AFTER : DONE;
            i++;
            continue;
          }
          return this.failAt(i, c, state, depth);
        }

        case OBJ_FIRST:
        case KEY: {
          while (c <= 0x20) {
            if (c !== 0x20 && WS[c] === 0) return this.failAt(i, c, state, depth);
            if (++i === n) break main;
            c = buf[i]!;
          }
          if (c === 0x22) {
            i++;
            strKey = true;
            state = STR;
            if (depth === 1 && this.trackKeys) this.collectStart(C_KEY, i, MAX_KEY_BYTES);
            continue;
          }
          if (c === 0x7d && state === OBJ_FIRST) {
            depth--;
            state = depth !== 0 ? AFTER : DONE;
            i++;
            continue;
          }
          return this.failAt(i, c, state, depth);
        }

        case COLON: {
          while (c <= 0x20) {
            if (c !== 0x20 && WS[c] === 0) return this.failAt(i, c, state, depth);
            if (++i === n) break main;
            c = buf[i]!;
          }
          if (c !== 0x3a) return this.failAt(i, c, state, depth);
          state = VALUE;
          i++;
          continue;
        }

        case ARR_FIRST:
        case VALUE: {
          while (c <= 0x20) {
            if (c !== 0x20 && WS[c] === 0) return this.failAt(i, c, state, depth);
            if (++i === n) break main;
            c = buf[i]!;
          }
          if (depth === 1 && this.pending >= 0) this.captureStart(c, i);
          switch (c) {
            case 0x22:
              strKey = false;
              state = STR;
              i++;
              continue;
            case 0x7b:
              if (++depth >= this.stack.length) this.grow(depth, i);
              this.stack[depth] = 1;
              state = OBJ_FIRST;
              i++;
              continue;
            case 0x5b:
              if (++depth >= this.stack.length) this.grow(depth, i);
              this.stack[depth] = 0;
              state = ARR_FIRST;
              i++;
              continue;
            case 0x5d:
              if (state !== ARR_FIRST) return this.failAt(i, c, state, depth);
              depth--;
              state = depth !== 0 ? AFTER : DONE;
              i++;
              continue;
            case 0x2d:
              state = NUM_MINUS;
              i++;
              continue;
            case 0x30:
              state = NUM_ZERO;
              i++;
              continue;
            case 0x31:
            case 0x32:
            case 0x33:
            case 0x34:
            case 0x35:
            case 0x36:
            case 0x37:
            case 0x38:
            case 0x39:
              state = NUM_INT;
              i++;
              continue;
            case 0x74:
              this.litPos = LIT_TRUE;
              state = LIT;
              i++;
              continue;
            case 0x66:
              this.litPos = LIT_FALSE;
              state = LIT;
              i++;
              continue;
            case 0x6e:
              this.litPos = LIT_NULL;
              state = LIT;
              i++;
              continue;
            default:
              return this.failAt(i, c, state, depth);
          }
        }

        case ESC: {
          if (ESCAPABLE[c] === 1) state = STR;
          else if (c === 0x75) {
            this.hexLeft = 4;
            state = HEX4;
          } else return this.failAt(i, c, state, depth);
          i++;
          continue;
        }

        case HEX4: {
          if (HEX[c] !== 1) return this.failAt(i, c, state, depth);
          if (--this.hexLeft === 0) state = STR;
          i++;
          continue;
        }

        case NUM_MINUS: {
          if (c === 0x30) state = NUM_ZERO;
          else if (DIGIT[c] === 1) state = NUM_INT;
          else return this.failAt(i, c, state, depth);
          i++;
          continue;
        }

        case NUM_INT:
        case NUM_FRAC:
        case NUM_EXP:
        case NUM_ZERO: {
          if (state !== NUM_ZERO) {
            while (DIGIT[c] === 1) {
              if (++i === n) break main;
              c = buf[i]!;
            }
          }
          if (c === 0x2e && (state === NUM_INT || state === NUM_ZERO)) {
            state = NUM_DOT;
            i++;
            continue;
          }
          if ((c | 0x20) === 0x65 && state !== NUM_EXP) {
            state = NUM_E;
            i++;
            continue;
          }
          // The number ended just before this byte, which is looked at again in the next state.
          if (this.coll !== C_NONE) this.collectEnd(buf, i);
          state = depth !== 0 ? AFTER : DONE;
          continue;
        }

        case NUM_DOT: {
          if (DIGIT[c] !== 1) return this.failAt(i, c, state, depth);
          state = NUM_FRAC;
          i++;
          continue;
        }

        case NUM_E: {
          if (c === 0x2b || c === 0x2d) state = NUM_ESIGN;
          else if (DIGIT[c] === 1) state = NUM_EXP;
          else return this.failAt(i, c, state, depth);
          i++;
          continue;
        }

        case NUM_ESIGN: {
          if (DIGIT[c] !== 1) return this.failAt(i, c, state, depth);
          state = NUM_EXP;
          i++;
          continue;
        }

        case LIT: {
          if (c !== LITS[this.litPos]) return this.failAt(i, c, state, depth);
          if (LITS[++this.litPos] === 0) state = depth !== 0 ? AFTER : DONE;
          i++;
          continue;
        }

        case DONE: {
          while (WS[c] === 1) {
            if (++i === n) break main;
            c = buf[i]!;
          }
          return this.failAt(i, c, state, depth);
        }

        case START: {
          if (c === 0xef && this.pos + i === 0) {
            this.litPos = 1;
            state = BOM;
            i++;
            continue;
          }
          while (WS[c] === 1) {
            if (++i === n) break main;
            c = buf[i]!;
          }
          this.rootKind = c === 0x7b ? "object" : c === 0x5b ? "array" : "scalar";
          state = VALUE;
          continue;
        }

        case BOM: {
          if (c !== (this.litPos === 1 ? 0xbb : 0xbf)) return this.failAt(i, c, state, depth);
          state = ++this.litPos === 3 ? START : BOM;
          i++;
          continue;
        }

        default:
          throw new Error(`JsonChecker: bad state ${state}`);
      }
    }

    this.checkUtf8(buf);
    this.chunk = undefined;
    if (this.coll !== C_NONE) {
      this.collectAppend(buf, this.collFrom, n);
      this.collFrom = 0;
    }
    this.state = state;
    this.depth = depth;
    this.strKey = strKey;
    this.pos += n;
  }

  /** Finishes the document: throws unless it was one complete value of the wanted shape. */
  end(): { values: Record<string, unknown> } {
    if (this.err) throw this.err;
    if (this.result) return this.result;
    const state = this.state;
    const numberDone = state === NUM_ZERO || state === NUM_INT || state === NUM_FRAC || state === NUM_EXP;
    if (state !== DONE && !(numberDone && this.depth === 0)) {
      let where: string;
      if (state === START || state === BOM) where = "no value";
      else if (this.u8Left !== 0) where = "inside a UTF-8 sequence";
      else if (state === STR || state === ESC || state === HEX4)
        where = this.strKey ? "inside a key" : "inside a string";
      else if (state >= NUM_MINUS && state <= NUM_EXP && !numberDone) where = "inside a number";
      else if (state === LIT) where = "inside a literal";
      else where = this.stack[this.depth] === 1 ? "inside an object" : "inside an array";
      throw (this.err = invalid(`JSON ends early at byte ${this.pos} (${where})`));
    }
    if (this.rootKind !== this.rootWanted) {
      const article = this.rootKind === "object" || this.rootKind === "array" ? "an" : "a";
      throw (this.err = new ContrailError(
        "INVALID_SHAPE",
        `JSON root is ${article} ${this.rootKind ?? "nothing"}, expected ${this.rootWanted === "object" ? "an object" : "an array"}`,
      ));
    }
    const missing: string[] = [];
    for (let k = 0; k < this.requiredCount; k++) if (!this.seen[k]) missing.push(this.wantedNames[k]!);
    if (missing.length) {
      throw (this.err = new ContrailError(
        "INVALID_SHAPE",
        `JSON lacks required top-level key${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
      ));
    }
    return (this.result = { values: Object.fromEntries(this.values) });
  }

  private grow(depth: number, i: number): void {
    if (depth > MAX_JSON_DEPTH) this.fail(i, `nesting deeper than ${MAX_JSON_DEPTH}`);
    const bigger = new Uint8Array(Math.min(this.stack.length * 2, MAX_JSON_DEPTH + 1));
    bigger.set(this.stack);
    this.stack = bigger;
  }

  private failAt(i: number, c: number, state: number, depth: number): never {
    let expected = EXPECTED[state];
    if (state === AFTER) expected = this.stack[depth] === 1 ? 'expected "," or "}"' : 'expected "," or "]"';
    return this.fail(i, `unexpected ${describeByte(c)}${expected ? ` (${expected})` : ""}`);
  }

  /** A grammar error at chunk index `i`, unless the bytes before it hold an earlier, UTF-8 one. */
  private fail(i: number, what: string): never {
    if (this.chunk) this.scanUtf8(this.chunk, 0, i);
    return this.failHere(i, what);
  }

  private failHere(i: number, what: string): never {
    this.chunk = undefined;
    throw (this.err = invalid(`invalid JSON at byte ${this.pos + i}: ${what}`));
  }

  // ---- UTF-8 (RFC 8259 §8.1): a pass over each chunk after the grammar's ----
  // Outside strings the grammar admits ASCII only, so validating every byte validates the strings' contents.

  /** Checks a chunk whose grammar is fine, leaving a sequence that the next chunk completes pending. */
  private checkUtf8(buf: Uint8Array): void {
    const n = buf.length;
    // Finish the sequence the previous chunk began.
    let from = this.u8Left === 0 ? 0 : this.scanUtf8(buf, 0, Math.min(n, this.u8Left));
    // A lead byte among the last three may begin a sequence that the next chunk ends: scan that tail byte by
    // byte; the SIMD validator takes the rest, which then begins and ends on sequence boundaries.
    let tail = n;
    for (let k = n - 1; k >= from && k > n - 4; k--) {
      const b = buf[k]!;
      if (b < 0x80) break;
      if (b >= 0xc0) {
        tail = k;
        break;
      }
    }
    if (tail > from && !isUtf8(buf.subarray(from, tail))) from = this.scanUtf8(buf, from, tail);
    else from = tail;
    this.scanUtf8(buf, from, n);
  }

  /** Byte-by-byte check of buf[from, to), from and into the pending-sequence state; returns `to`. */
  private scanUtf8(buf: Uint8Array, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const c = buf[i]!;
      if (this.u8Left === 0) {
        if (c < 0x80) continue;
        const len = U8_LEN[c]!;
        if (len === 0) return this.failHere(i, utf8Problem(c));
        this.u8Lead = c;
        this.u8Left = len - 1;
        this.u8Lo = U8_LO[c]!;
        this.u8Hi = U8_HI[c]!;
      } else {
        if (c < this.u8Lo || c > this.u8Hi) return this.failHere(i, utf8Problem(this.u8Lead, c));
        this.u8Lo = 0x80;
        this.u8Hi = 0xbf;
        this.u8Left--;
      }
    }
    return to;
  }

  // ---- top-level keys and captured values (depth 1 only; off the hot path) ----

  private collectStart(kind: number, from: number, cap: number): void {
    this.coll = kind;
    this.collFrom = from;
    this.collLen = 0;
    this.collCap = cap;
    this.collOver = false;
    this.collBuf ??= new Uint8Array(MAX_VALUE_BYTES);
  }

  private collectAppend(buf: Uint8Array, from: number, to: number): void {
    if (this.collOver || to <= from) return;
    if (this.collLen + (to - from) > this.collCap) {
      this.collOver = true;
      return;
    }
    this.collBuf!.set(buf.subarray(from, to), this.collLen);
    this.collLen += to - from;
  }

  private collectEnd(buf: Uint8Array, to: number): void {
    this.collectAppend(buf, this.collFrom, to);
    const kind = this.coll;
    this.coll = C_NONE;
    const raw = this.collBuf!.subarray(0, this.collLen);
    if (kind === C_KEY) {
      this.pending = -1;
      if (this.collOver) return;
      const idx = this.matchKey(raw);
      if (idx < 0) return;
      this.seen[idx] = true;
      this.pending = this.captureOf[idx]!;
      return;
    }
    const key = this.captureKeys[this.pending]!;
    this.pending = -1;
    if (this.collOver) {
      this.values.delete(key);
      return;
    }
    const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
    this.values.set(key, kind === C_STRING ? JSON.parse(`"${text}"`) : Number(text));
  }

  private matchKey(raw: Uint8Array): number {
    if (raw.indexOf(0x5c) < 0) {
      for (let k = 0; k < this.wanted.length; k++) if (this.wanted[k]!.equals(raw)) return k;
      return -1;
    }
    const name = JSON.parse(
      `"${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8")}"`,
    ) as string;
    return this.wantedNames.indexOf(name);
  }

  /** A value starts at depth 1 right after a key named in captureKeys. */
  private captureStart(c: number, i: number): void {
    const key = this.captureKeys[this.pending]!;
    if (c === 0x22) return this.collectStart(C_STRING, i + 1, MAX_VALUE_BYTES);
    if (c === 0x2d || DIGIT[c] === 1) return this.collectStart(C_NUMBER, i, MAX_VALUE_BYTES);
    // A literal (validated as it goes on) or a container (not a scalar: not recorded).
    if (c === 0x74) this.values.set(key, true);
    else if (c === 0x66) this.values.set(key, false);
    else if (c === 0x6e) this.values.set(key, null);
    else this.values.delete(key);
    this.pending = -1;
  }
}

/**
 * A pass-through Transform that validates the bytes flowing through it (same Buffer objects, never copied).
 * Errors the stream at the first invalid byte, or at the end if the document is incomplete or of the wrong
 * shape; otherwise calls `onValues` with the captured top-level values before finishing.
 */
export function jsonCheckTransform(
  shape: JsonShape,
  onValues?: (v: Record<string, unknown>) => void,
): Transform {
  const checker = new JsonChecker(shape);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        checker.write(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      try {
        const { values } = checker.end();
        onValues?.(values);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback();
    },
  });
}
