// Small stream pieces shared by the capture pipeline, the lakes and `verify`.
import { Transform } from "node:stream";

/** Passes every chunk through unchanged, showing it to `observe` first (to count or hash the bytes). */
export function tap(observe: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      observe(chunk);
      cb(null, chunk);
    },
  });
}
