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
  /** The block being filled, and how much of it is. */
  private block: Buffer | undefined;
  private filled = 0;
  /**
   * Blocks whose member is written, to fill again: a capture allocates `concurrency + 1` blocks, not one per MB.
   * (A fresh buffer per block made V8 count a gigabyte of short-lived external memory per gigabyte captured, and run
   * a full garbage collection every few dozen megabytes.)
   */
  private readonly spare: Buffer[] = [];
  private readonly inFlight: { block: Buffer; member: Promise<Buffer> }[] = [];

  constructor(opts: ParallelGzipOptions = {}) {
    super({ readableHighWaterMark: 1024 * 1024 });
    this.level = opts.level ?? DEFAULT_GZIP_LEVEL;
    this.blockSize = opts.blockSize ?? 1024 * 1024;
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    // Blocks are exactly blockSize bytes, so the output depends only on the content, not on how it was chunked.
    let at = 0;
    while (at < chunk.length) {
      const block = (this.block ??= this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize));
      const n = chunk.copy(block, this.filled, at);
      this.filled += n;
      at += n;
      if (this.filled === this.blockSize) this.startBlock();
    }
    if (this.inFlight.length < this.concurrency) cb();
    else this.drainTo(this.concurrency - 1).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    if (this.filled > 0 || this.inFlight.length === 0) this.startBlock();
    this.drainTo(0).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    // Members still compressing finish on the thread pool; their results are dropped (and their blocks with them).
    for (const f of this.inFlight) f.member.catch(() => undefined);
    this.inFlight.length = 0;
    this.block = undefined;
    this.spare.length = 0;
    cb(err);
  }

  /** Starts compressing the block filled so far (possibly empty: an empty input is one empty member). */
  private startBlock(): void {
    const block = this.block ?? Buffer.allocUnsafe(0);
    const member = gzip(block.subarray(0, this.filled), { level: this.level });
    member.catch(() => undefined); // observed in drainTo; avoid an unhandled rejection meanwhile
    this.inFlight.push({ block, member });
    this.block = undefined;
    this.filled = 0;
  }

  /** Writes finished members, oldest first, until at most `max` are still compressing. */
  private async drainTo(max: number): Promise<void> {
    while (this.inFlight.length > max) {
      const { block, member } = this.inFlight[0]!;
      const out = await member;
      this.inFlight.shift();
      if (block.length === this.blockSize) this.spare.push(block);
      this.push(out);
    }
  }
}
