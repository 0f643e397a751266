// Parallel gzip: the input is cut into blocks, each compressed on libuv's thread pool as its own gzip member,
// and the members are written in order. RFC 1952 allows several members (gunzip, zcat, Python's gzip and Node's
// zlib read them as one stream; SPEC §5 allows them), so compression uses every core while the main thread
// hashes and validates. Memory: at most (concurrency + 1) blocks in and `concurrency` compressed blocks out.
import { Transform, type TransformCallback } from "node:stream";
import { gzip as gzipCb, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";

const gzip = promisify(gzipCb) as (buf: Buffer, opts: ZlibOptions) => Promise<Buffer>;

export interface ParallelGzipOptions {
  level?: number;
  /** Uncompressed bytes per gzip member. */
  blockSize?: number;
  /** Members compressed at once. */
  concurrency?: number;
}

export const DEFAULT_GZIP_LEVEL = 6;

export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inFlight: Promise<Buffer>[] = [];

  constructor(opts: ParallelGzipOptions = {}) {
    super({ readableHighWaterMark: 1024 * 1024 });
    this.level = opts.level ?? DEFAULT_GZIP_LEVEL;
    this.blockSize = opts.blockSize ?? 1024 * 1024;
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.blockSize) {
      cb();
      return;
    }
    // Blocks are exactly blockSize bytes, so the output depends only on the content, not on how it was chunked.
    while (this.pendingBytes >= this.blockSize) this.startBlock(this.blockSize);
    this.drainTo(this.concurrency - 1).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    if (this.pendingBytes > 0 || this.inFlight.length === 0) this.startBlock();
    this.drainTo(0).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    // Members still compressing finish on the thread pool; their results are dropped.
    for (const p of this.inFlight) p.catch(() => undefined);
    this.inFlight.length = 0;
    this.pending = [];
    cb(err);
  }

  /** Starts compressing the first `size` pending bytes (all of them by default). */
  private startBlock(size = this.pendingBytes): void {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const block = all.subarray(0, size);
    const rest = all.subarray(size);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    const p = gzip(block, { level: this.level });
    p.catch(() => undefined); // observed in drainTo; avoid an unhandled rejection meanwhile
    this.inFlight.push(p);
  }

  /** Writes finished members, oldest first, until at most `max` are still compressing. */
  private async drainTo(max: number): Promise<void> {
    while (this.inFlight.length > max) {
      const member = await this.inFlight[0]!;
      this.inFlight.shift();
      this.push(member);
    }
  }
}
