// A response body as one Node stream pipeline: socket → (gunzip) → BodyMeter. The meter is the last stage, so
// every failure anywhere in the pipeline reaches the reader as the meter's error, explained (a retryable
// HTTP_STALLED or HTTP_TRUNCATED, or ABORTED); and a reader that destroys the body tears the connection down.
import type http from "node:http";
import { addAbortSignal, pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import { abortError, ContrailError } from "../errors.js";
import type { DownloadProgress } from "../types.js";

export interface BodyOptions {
  /** The URL, redacted, for messages. */
  where: string;
  label?: string;
  stallTimeout: number;
  signal: AbortSignal;
  /** Shortest gap between two progress reports in flight (the last one, `done`, always comes). */
  progressInterval: number;
  onProgress?: (p: DownloadProgress) => void;
}

/** The body of `res` as a byte stream: decoded, timed, length-checked, cancellable. */
export function responseBody(
  res: http.IncomingMessage,
  headers: Record<string, string | undefined>,
  o: BodyOptions,
): Readable {
  const gzip = headers["content-encoding"]?.toLowerCase() === "gzip";
  const length = headers["content-length"];
  // A decoded body's length is not the Content-Length; a short gzip body fails in gunzip or the HTTP parser instead.
  const expected = !gzip && length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
  const meter = new BodyMeter(o, expected);
  addAbortSignal(o.signal, meter);
  // The callback only completes the pipeline: its error reaches the reader through the meter.
  pipeline([res, ...(gzip ? [createGunzip()] : []), meter], () => undefined);
  return meter;
}

/** Counts and times the bytes going through; checks the length at the end; explains every failure. */
class BodyMeter extends Transform {
  private received = 0;
  private readonly started = Date.now();
  private lastReport = 0;
  private reported = false;
  private complete = false;
  /**
   * One timer for the whole body, re-armed with refresh(): a new setTimeout per chunk allocated two timers per 64 KB,
   * which on a gigabyte kept V8's old space churning. `waiting` marks a silence that is our reader's, not a stall.
   */
  private readonly stall: NodeJS.Timeout;
  private waiting = false;

  constructor(
    private readonly o: BodyOptions,
    private readonly expected: number | undefined,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.stall = setTimeout(() => this.stalled(), o.stallTimeout);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.received += chunk.length;
    if (Date.now() - this.lastReport >= this.o.progressInterval) this.report(false);
    cb(null, chunk);
    // A full buffer means our reader is behind (e.g. an upload): the silence that follows is ours, not a stall.
    if (this.readableLength >= this.readableHighWaterMark) this.waiting = true;
    else this.armStall();
  }

  override _read(size: number): void {
    if (!this.complete) this.armStall();
    super._read(size);
  }

  override _flush(cb: TransformCallback): void {
    this.complete = true; // every byte is in: nothing left to stall, however slowly the rest is read
    clearTimeout(this.stall);
    if (this.expected !== undefined && this.received < this.expected) {
      cb(this.brokeOff(`expected ${this.expected} bytes`));
      return;
    }
    this.report(true);
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    clearTimeout(this.stall);
    this.report(true);
    cb(err && this.explain(err));
  }

  private armStall(): void {
    this.waiting = false;
    this.stall.refresh();
  }

  private stalled(): void {
    if (this.waiting || this.complete || this.destroyed) return;
    const { where, stallTimeout } = this.o;
    const msg = `body of ${where} stalled: no data for ${stallTimeout} ms after ${this.received} bytes`;
    this.destroy(new ContrailError("HTTP_STALLED", msg, { retryable: true }));
  }

  private explain(err: Error): Error {
    if (this.o.signal.aborted) return abortError(this.o.signal);
    if (err instanceof ContrailError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    return this.brokeOff(code && !err.message.includes(code) ? `${err.message} (${code})` : err.message, err);
  }

  private brokeOff(why: string, cause?: Error): ContrailError {
    return new ContrailError(
      "HTTP_TRUNCATED",
      `body of ${this.o.where} broke off after ${this.received} bytes: ${why}`,
      {
        ...(cause ? { cause } : {}),
        retryable: true,
      },
    );
  }

  private report(done: boolean): void {
    if (this.reported || !this.o.onProgress) return;
    this.reported = done;
    this.lastReport = Date.now();
    const secs = Math.max(this.lastReport - this.started, 1) / 1000;
    this.o.onProgress({
      ...(this.o.label !== undefined ? { label: this.o.label } : {}),
      url: this.o.where,
      bytes: this.received,
      ...(this.expected !== undefined ? { total: this.expected } : {}),
      bytesPerSecond: Math.round(this.received / secs),
      done,
    });
  }
}
