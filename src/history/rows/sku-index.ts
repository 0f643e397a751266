// SKU → product number, for an EC2 offer's product index, in typed arrays outside V8's heap. An 8 GB offer has 1.4
// million products: a Map of their SKU strings (with the arrays beside it) held ~150 bytes a product in the heap,
// 215 MB at its largest, and V8 hands little of that back to the system once it is garbage. Here a product costs its
// SKU's UTF-8 bytes (16 for AWS's) and three to five 32-bit words. Written by hand: no npm package keeps string keys out of
// the JavaScript heap, and this needs only add, get and compare.

/** A growable array of unsigned 32-bit words. */
export class Words {
  private a: Uint32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.a = new Uint32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.a.length) this.a = grown(this.a, this.length + 1);
    this.a[this.length++] = v;
  }
  get(i: number): number {
    return this.a[i]!;
  }
  set(i: number, v: number): void {
    this.a[i] = v;
  }
}

function grown<T extends Uint8Array | Uint32Array>(a: T, need: number): T {
  let size = Math.max(1024, a.length * 2);
  while (size < need) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/** The SKUs of an offer's products, numbered 0, 1, 2… in the order they were first added. */
export class SkuIndex {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  /** ends[i]: where SKU i's bytes end (they start where SKU i - 1's end). */
  private ends = new Uint32Array(1 << 12);
  /** Open addressing, linear probing: a product number, or -1. Kept at most half full. */
  private slots = new Int32Array(1 << 13).fill(-1);
  private count = 0;
  private scratch = Buffer.alloc(256);

  get size(): number {
    return this.count;
  }

  /** The number of `sku`, added if it is new. */
  add(sku: string): number {
    const key = this.encode(sku);
    const slot = this.find(key);
    const found = this.slots[slot]!;
    if (found >= 0) return found;
    if (this.used + key.length > this.bytes.length) this.bytes = grown(this.bytes, this.used + key.length);
    this.bytes.set(key, this.used);
    this.used += key.length;
    if (this.count === this.ends.length) this.ends = grown(this.ends, this.count + 1);
    this.ends[this.count] = this.used;
    this.slots[slot] = this.count;
    if (++this.count * 2 > this.slots.length) this.rehash();
    return this.count - 1;
  }

  /** The number of `sku`, if it was added. */
  get(sku: string): number | undefined {
    const found = this.slots[this.find(this.encode(sku))]!;
    return found >= 0 ? found : undefined;
  }

  /** Orders products a and b by their SKUs' bytes (for ASCII SKUs, as the strings compare). */
  compare(a: number, b: number): number {
    const { bytes, ends } = this;
    let i = a === 0 ? 0 : ends[a - 1]!;
    let j = b === 0 ? 0 : ends[b - 1]!;
    const ei = ends[a]!;
    const ej = ends[b]!;
    for (; i < ei && j < ej; i++, j++) if (bytes[i] !== bytes[j]) return bytes[i]! - bytes[j]!;
    return ei - i - (ej - j);
  }

  /** The SKU's UTF-8 bytes, in a scratch buffer valid until the next call. */
  private encode(sku: string): Uint8Array {
    if (sku.length * 3 > this.scratch.length) this.scratch = Buffer.alloc(sku.length * 3);
    return this.scratch.subarray(0, this.scratch.write(sku, 0, "utf8"));
  }

  /** The slot holding `key`'s number, or the empty slot where it would go. */
  private find(key: Uint8Array): number {
    const mask = this.slots.length - 1;
    for (let s = hash(key, 0, key.length) & mask; ; s = (s + 1) & mask) {
      const n = this.slots[s]!;
      if (n < 0 || this.equals(n, key)) return s;
    }
  }

  private equals(n: number, key: Uint8Array): boolean {
    const start = n === 0 ? 0 : this.ends[n - 1]!;
    if (this.ends[n]! - start !== key.length) return false;
    for (let i = 0; i < key.length; i++) if (this.bytes[start + i] !== key[i]) return false;
    return true;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let n = 0; n < this.count; n++) {
      const start = n === 0 ? 0 : this.ends[n - 1]!;
      let s = hash(this.bytes, start, this.ends[n]!) & mask;
      while (slots[s]! >= 0) s = (s + 1) & mask;
      slots[s] = n;
    }
    this.slots = slots;
  }
}

/** FNV-1a over bytes [start, end). */
function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  // Mix the low bits, which the mask keeps, with the high ones.
  return (h ^ (h >>> 15)) >>> 0;
}
