import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync } from "node:zlib";
import { ParallelGzip } from "../../src/capture/gzip.js";
import { tempDir } from "../helpers.js";

async function compress(input: Buffer, opts: ConstructorParameters<typeof ParallelGzip>[0], chunk = 65536) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) chunks.push(input.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), new ParallelGzip(opts), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

test("several gzip members, in order, that gunzip, zcat and gzip -t read as one stream", async () => {
  const text = Buffer.from(
    Array.from({ length: 40_000 }, (_, i) => `{"sku" : "X${i}", "price" : "0.${i}"}\n`).join(""),
  );
  const input = Buffer.concat([text, randomBytes(300_000), text]);
  const gz = await compress(input, { blockSize: 256 * 1024, concurrency: 3, level: 6 });
  let members = 0;
  for (let i = 0; i + 2 < gz.length; i++)
    if (gz[i] === 0x1f && gz[i + 1] === 0x8b && gz[i + 2] === 8) members++;
  assert.ok(members >= Math.floor(input.length / (256 * 1024)), `members: ${members}`);
  assert.deepEqual(gunzipSync(gz), input);
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, "x.json.gz");
    writeFileSync(file, gz);
    execFileSync("gzip", ["-t", file]);
    assert.deepEqual(execFileSync("zcat", [file], { maxBuffer: 64 << 20 }), input);
  } finally {
    cleanup();
  }
});

test("empty input gives one valid empty member; a one-byte input round-trips", async () => {
  assert.deepEqual(gunzipSync(await compress(Buffer.alloc(0), {})), Buffer.alloc(0));
  assert.deepEqual(gunzipSync(await compress(Buffer.from("x"), {})), Buffer.from("x"));
});

test("output is the same whatever the chunking of the input", async () => {
  const input = Buffer.from("abc".repeat(500_000));
  const a = await compress(input, { blockSize: 100_000 }, 7);
  const b = await compress(input, { blockSize: 100_000 }, 65536);
  assert.deepEqual(a, b);
});
