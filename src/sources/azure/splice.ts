// Adds one key to a streamed JSON object without parsing it: every byte passes through as served, except that
// `,"<key>":<json>` goes in before the root object's closing brace. Only the trailing whitespace and the last
// `}` seen are held back; whether the result is valid JSON is the capture's JSON check's business. The value may
// still be on its way (a promise): it is needed only at the end, so the document streams while it is fetched.
import { Transform } from "node:stream";

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;
const CLOSE = 0x7d; // }
const OPEN = 0x7b; // {

/** A Transform that splices `"key": json` into the root object of the JSON flowing through it. */
export function spliceKeyTransform(key: string, json: string | Promise<string>): Transform {
  /** Held-back tail: nothing, or whitespace, or a `}` and the whitespace after it. */
  let tail: Buffer[] = [];
  let tailStartsWithClose = false;
  /** The last non-whitespace byte before the tail (to tell `{}` from `{...}`). */
  let lastEmitted = -1;

  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let end = chunk.length - 1;
      while (end >= 0 && WS[chunk[end]!] === 1) end--;
      if (end < 0) {
        tail.push(chunk); // whitespace only: still the tail
        cb();
        return;
      }
      // New content: whatever was held back was not the end after all.
      for (const t of tail) this.push(t);
      if (tailStartsWithClose) lastEmitted = CLOSE;
      if (chunk[end] === CLOSE) {
        let before = end - 1;
        while (before >= 0 && WS[chunk[before]!] === 1) before--;
        if (before >= 0) lastEmitted = chunk[before]!;
        if (end > 0) this.push(chunk.subarray(0, end));
        tail = [chunk.subarray(end)];
        tailStartsWithClose = true;
      } else {
        lastEmitted = chunk[end]!;
        this.push(chunk.subarray(0, end + 1));
        tail = end + 1 < chunk.length ? [chunk.subarray(end + 1)] : [];
        tailStartsWithClose = false;
      }
      cb();
    },
    flush(cb) {
      if (!tailStartsWithClose) {
        for (const t of tail) this.push(t);
        cb();
        return;
      }
      Promise.resolve(json).then(
        (value) => {
          this.push(`${lastEmitted === OPEN ? "" : ","}${JSON.stringify(key)}:${value}`);
          for (const t of tail) this.push(t);
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
}
