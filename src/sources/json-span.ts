// Finds where a top-level member's value lies in a JSON document's bytes, so that value can be copied as served
// (numbers such as `0.0` or `1e-05` and escapes such as `\u00e9` survive, which a parse and re-serialisation
// would rewrite). Meant for documents already known to be valid JSON: it tracks only nesting and strings.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

/** End (exclusive) of the string that starts at `at` (its opening quote). */
function stringEnd(buf: Buffer, at: number): number {
  for (let i = at + 1; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === BACKSLASH) i++;
    else if (b === QUOTE) return i + 1;
  }
  return buf.length;
}

/**
 * The byte range `[start, end)` of the value of the root object's member `key` (the last one, as JSON.parse
 * keeps the last of duplicate keys), or undefined when the root is not an object or has no such member.
 */
export function memberSpan(buf: Buffer, key: string): { start: number; end: number } | undefined {
  let depth = 0;
  let expectKey = false;
  let currentKey: string | undefined;
  let valueStart = -1;
  let found: { start: number; end: number } | undefined;
  const close = (i: number) => {
    if (valueStart >= 0) found = { start: valueStart, end: i };
    valueStart = -1;
  };
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (WS[b] === 1) continue;
    if (b === QUOTE) {
      const end = stringEnd(buf, i);
      if (depth === 1 && expectKey) {
        currentKey = JSON.parse(buf.toString("utf8", i, end)) as string;
        expectKey = false;
      } else if (depth === 1 && currentKey === key) {
        valueStart = i;
        close(end);
      }
      i = end - 1;
    } else if (b === 0x7b || b === 0x5b) {
      if (depth === 1 && currentKey === key && valueStart < 0) valueStart = i;
      depth++;
      if (depth === 1) expectKey = b === 0x7b;
    } else if (b === 0x7d || b === 0x5d) {
      depth--;
      if (depth === 1 && currentKey === key && valueStart >= 0) {
        close(i + 1);
        currentKey = undefined;
      }
    } else if (depth === 1 && b === COMMA) {
      expectKey = true;
      currentKey = undefined;
    } else if (depth === 1 && b !== COLON && currentKey === key && valueStart < 0) {
      // A scalar (number, true, false, null): it runs to the next comma, brace or whitespace.
      let j = i;
      while (j < buf.length && WS[buf[j]!] !== 1 && buf[j] !== COMMA && buf[j] !== 0x7d) j++;
      valueStart = i;
      close(j);
      i = j - 1;
    }
  }
  return found;
}

/** The bytes between an array's brackets, without surrounding whitespace (empty for `[]`). */
export function arrayInner(buf: Buffer, span: { start: number; end: number }): Buffer {
  let s = span.start + 1;
  let e = span.end - 1;
  while (s < e && WS[buf[s]!] === 1) s++;
  while (e > s && WS[buf[e - 1]!] === 1) e--;
  return buf.subarray(s, e);
}

/**
 * The byte ranges of an array's elements (`span` is the array's, brackets included), each without surrounding
 * whitespace, in order: enough to copy one element of a list as served.
 */
export function arrayElements(
  buf: Buffer,
  span: { start: number; end: number },
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let depth = 0;
  let start = -1;
  let last = -1;
  const close = () => {
    if (start >= 0) out.push({ start, end: last + 1 });
    start = -1;
  };
  for (let i = span.start + 1; i < span.end - 1; i++) {
    const b = buf[i]!;
    if (WS[b] === 1) continue;
    if (depth === 0 && b === COMMA) {
      close();
      continue;
    }
    if (start < 0) start = i;
    if (b === QUOTE) i = stringEnd(buf, i) - 1;
    else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) depth--;
    last = i;
  }
  close();
  return out;
}
