import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fs from "node:fs";
import { Readable } from "node:stream";
import { LocalLake } from "../../src/lake/local.js";
import { ContrailError } from "../../src/errors.js";
import { filesUnder, tempDir } from "../helpers.js";

const body = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

test("putStream: visible only when complete; never overwrites; a failed stream leaves nothing", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = new LocalLake(dir);
    const signal = new AbortController().signal;
    assert.deepEqual(await lake.putStream("A/r/1.json.gz", body("hello ", "world"), signal), {
      storedBytes: 11,
    });
    assert.equal((await lake.getBytes("A/r/1.json.gz"))?.toString(), "hello world");
    await assert.rejects(
      lake.putStream("A/r/1.json.gz", body("other"), signal),
      (e: ContrailError) => e.code === "LAKE_EXISTS",
    );
    assert.equal((await lake.getBytes("A/r/1.json.gz"))?.toString(), "hello world");

    const failing = new Readable({ read() {} });
    failing.push(Buffer.from("partial"));
    setTimeout(() => failing.destroy(new Error("upstream broke")), 20);
    await assert.rejects(lake.putStream("A/r/2.json.gz", failing, signal), /upstream broke/);
    assert.equal(existsSync(join(dir, "A/r/2.json.gz")), false);
    assert.deepEqual(filesUnder(join(dir, "_contrail/tmp")), []);

    const ac = new AbortController();
    const slow = new Readable({ read() {} });
    slow.push(Buffer.from("partial"));
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(
      lake.putStream("A/r/3.json.gz", slow, ac.signal),
      (e: ContrailError) => e.code === "ABORTED",
    );
    assert.equal(existsSync(join(dir, "A/r/3.json.gz")), false);
    assert.deepEqual(filesUnder(join(dir, "_contrail/tmp")), []);
  } finally {
    cleanup();
  }
});

test("putBytes ifAbsent is exclusive; list is sorted, prefix-scoped, honours startAfter and hides temp files", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = new LocalLake(dir);
    assert.equal(await lake.putBytes("m/a/2.json", "2", { ifAbsent: true }), true);
    assert.equal(await lake.putBytes("m/a/2.json", "x", { ifAbsent: true }), false);
    assert.equal((await lake.getBytes("m/a/2.json"))?.toString(), "2");
    await lake.putBytes("m/a/1.json", "1");
    await lake.putBytes("m/a/3.json", "3");
    await lake.putBytes("m/b/1.json", "b");
    mkdirSync(join(dir, "_contrail/tmp"), { recursive: true });
    writeFileSync(join(dir, "_contrail/tmp/1-x.tmp"), "junk");
    const keys = async (prefix: string, startAfter?: string) => {
      const out: string[] = [];
      for await (const e of lake.list(prefix, startAfter ? { startAfter } : {})) out.push(e.key);
      return out;
    };
    assert.deepEqual(await keys("m/a/"), ["m/a/1.json", "m/a/2.json", "m/a/3.json"]);
    assert.deepEqual(await keys("m/a/", "m/a/1.json"), ["m/a/2.json", "m/a/3.json"]);
    assert.deepEqual(await keys("_contrail/"), []);
    assert.equal(await lake.getBytes("nope"), undefined);
    await assert.rejects(lake.getStream("nope"), (e: ContrailError) => e.code === "LAKE_NOT_FOUND");
  } finally {
    cleanup();
  }
});

test("cleanup removes temp files of processes that no longer run, and only those", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lake = new LocalLake(dir);
    const tmp = join(dir, "_contrail/tmp");
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, `999999-dead.tmp`), "x");
    writeFileSync(join(tmp, `${process.pid}-mine.tmp`), "x");
    writeFileSync(join(tmp, `1-init.tmp`), "x");
    await lake.cleanup();
    assert.deepEqual(readdirSync(tmp).sort(), [`1-init.tmp`, `${process.pid}-mine.tmp`].sort());
  } finally {
    cleanup();
  }
});

test("an unreadable lake is an error, not an empty lake: a file where a directory should be", async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, "file"), "not a directory");
    const lake = new LocalLake(join(dir, "file"));
    await assert.rejects(
      (async () => {
        for await (const _ of lake.list("_contrail/manifests/AmazonEC2/")) void _;
      })(),
      (e: ContrailError) => e.code === "LAKE_IO" && /cannot list .*file.*ENOTDIR/.test(e.message),
    );
    // Only a lake (or a folder of it) that does not exist yet is empty.
    const fresh = new LocalLake(join(dir, "not-yet"));
    for await (const e of fresh.list("_contrail/manifests/AmazonEC2/")) assert.fail(`listed ${e.key}`);
  } finally {
    cleanup();
  }
});

// Node 20's recursive mkdir never settles under /proc (it retries ENOENT for ever, one core busy): the lake creates
// its directories itself, so such a path fails at once. Root can write almost anywhere; /proc refuses even root.
test(
  "a lake under a path where mkdir fails oddly (/proc/...) fails at once, for every kind of write",
  { timeout: 10_000 },
  async () => {
    const lake = new LocalLake(`/proc/contrail-${process.pid}/lake`);
    const t0 = Date.now();
    await assert.rejects(lake.putBytes("_contrail/probe/x.json", "{}"), (e: ContrailError) => {
      assert.equal(e.code, "LAKE_IO");
      assert.match(e.message, /cannot create \/proc\/contrail-\d+: ENOENT/);
      return true;
    });
    await assert.rejects(
      lake.putStream("A/r/1.json.gz", body("x"), new AbortController().signal),
      (e: ContrailError) => e.code === "LAKE_IO",
    );
    assert.ok(Date.now() - t0 < 2_000, `failed after ${Date.now() - t0} ms`);
  },
);

test("putStream: a body that fails before the temp file is open leaves no temp file (the open is waited for)", async () => {
  const { dir, cleanup } = tempDir();
  // The temp file's open made slow, as a busy thread pool makes it: it completes after the failure is known.
  const realOpen = fs.open;
  (fs as { open: unknown }).open = (...args: unknown[]) =>
    setTimeout(() => (realOpen as (...a: unknown[]) => void)(...args), 50);
  try {
    const lake = new LocalLake(dir);
    const failing = new Readable({
      read() {
        this.destroy(new Error("invalid JSON at byte 2"));
      },
    });
    await assert.rejects(
      lake.putStream("A/r/1.json.gz", failing, new AbortController().signal),
      /invalid JSON/,
    );
    (fs as { open: unknown }).open = realOpen;
    await new Promise((r) => setTimeout(r, 100)); // an open still in flight would have created its file by now
    assert.deepEqual(filesUnder(join(dir, "_contrail/tmp")), []);
  } finally {
    (fs as { open: unknown }).open = realOpen;
    cleanup();
  }
});
