// Leases on both lakes (SPEC §6): the compare-and-swap they stand on, a race for an expired lease with exactly one
// winner, renewal past the TTL, a lost lease stopping its unit, and a corrupt lease named by its key. The S3 lake
// talks to s3rver behind the proxy, which answers If-Match as S3 does (412, 404 NoSuchKey, 409).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import pino from "pino";
import { LocalLake } from "../src/lake/local.js";
import { S3Lake } from "../src/lake/s3.js";
import { leaseKey, newLease, readLease, type Lease } from "../src/lake/leases.js";
import { PROCESS_TABLE } from "../src/lake/process.js";
import { SKIP, UnitLeases } from "../src/schedule/units.js";
import type { Lake } from "../src/types.js";
import { startS3, type FakeS3 } from "./fakes/s3.js";
import { sleep, tempDir } from "./helpers.js";

const log = pino({ level: "silent" });
const KEY = leaseKey("AmazonEC2", "eu-west-1");

let s3: FakeS3;
const cleanups: (() => void)[] = [];
before(async () => {
  s3 = await startS3({ buckets: ["leases"] });
});
after(async () => {
  for (const c of cleanups) c();
  await s3.stop();
});

// Short leases for tests, but long enough for a renewal through s3rver on a machine under load.
const TTL = { local: 1500, s3: 4000 } as const;

let lakeCount = 0;
const lakes: Record<keyof typeof TTL, () => Lake> = {
  local: () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    return new LocalLake(dir);
  },
  s3: () =>
    new S3Lake({
      bucket: "leases",
      prefix: `run-${++lakeCount}`,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { ...s3.credentials },
      maxAttempts: 1,
    }),
};

function crawler(lake: Lake, owner: string, ttl: number, signal = new AbortController().signal) {
  return new UnitLeases({ lake, source: "AmazonEC2", owner, ttl, log, signal });
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** The pid of a process that has run and exited. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

/** Leaves the lease as a crawler killed mid-unit does: held, its expiry passed. */
async function plantExpired(lake: Lake, owner: string) {
  const current = await lake.getVersioned(KEY);
  const lease = newLease("AmazonEC2", "eu-west-1", owner, { kind: "now" }, -1000);
  const version = await lake.putIfVersion(KEY, JSON.stringify(lease), current?.version ?? null);
  assert.ok(version, "planting the expired lease");
}

for (const [kind, open] of Object.entries(lakes) as [keyof typeof TTL, () => Lake][]) {
  describe(`leases on the ${kind} lake`, () => {
    test("a versioned write succeeds once per expected version; a stale or absent expectation is refused", async () => {
      const lake = open();
      const key = "_contrail/leases/T/r/active.json";
      assert.equal(await lake.getVersioned(key), undefined);
      const v1 = await lake.putIfVersion(key, "one", null);
      assert.ok(v1);
      assert.equal(await lake.putIfVersion(key, "again", null), undefined, "create when it exists");
      const v2 = await lake.putIfVersion(key, "two", v1);
      assert.ok(v2 && v2 !== v1);
      assert.equal(await lake.putIfVersion(key, "stale", v1), undefined, "expecting a replaced version");
      assert.deepEqual(await lake.getVersioned(key), { data: Buffer.from("two"), version: v2 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => lake.putIfVersion(key, `racer ${i}`, v2)),
      );
      assert.equal(results.filter(Boolean).length, 1, `one winner of 8: ${results.join(", ")}`);
      const winner = results.findIndex(Boolean);
      assert.equal((await lake.getVersioned(key))?.data.toString(), `racer ${winner}`);
    });

    test("crawlers racing for an expired lease: exactly one wins, round after round", async () => {
      const lake = open();
      for (let round = 0; round < 12; round++) {
        await plantExpired(lake, `killed-${round}`);
        const contenders = Array.from({ length: 5 }, (_, i) => crawler(lake, `r${round}-c${i}`, 60_000));
        const claims = await Promise.all(contenders.map((c) => c.claim("eu-west-1")));
        const winners = claims.flatMap((c, i) => (c.ok ? [i] : []));
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(claims)}`);
        for (const c of claims) if (!c.ok) assert.equal(c.reason, SKIP.heldElsewhere);
        const held = await readLease(lake, KEY);
        assert.equal(held?.lease.owner, `r${round}-c${winners[0]}`);
        assert.equal(held?.lease.state, "held");
        await Promise.all(contenders.map((c) => c.finishAll()));
      }
    });

    test("renewal keeps a slow unit's lease past its TTL; the unit lets go when it ends", async () => {
      const lake = open();
      const ttl = TTL[kind];
      const a = crawler(lake, "slow", ttl);
      assert.deepEqual(await a.claim("eu-west-1"), { ok: true });
      const first = (await readLease(lake, KEY))!.lease;
      await sleep(2.5 * ttl);
      const b = crawler(lake, "other", ttl);
      assert.deepEqual(await b.claim("eu-west-1"), { ok: false, reason: SKIP.heldElsewhere });
      const renewed = (await readLease(lake, KEY))!.lease;
      assert.equal(renewed.owner, "slow");
      assert.equal(renewed.acquiredAt, first.acquiredAt);
      assert.ok(Date.parse(renewed.expiresAt) > Date.parse(first.expiresAt) + ttl, "renewed more than once");
      assert.ok(
        b.heldElsewhereUntil! > Date.parse(first.expiresAt),
        "the other crawler knows when to look again",
      );
      assert.equal(a.signalOf("eu-west-1")?.aborted, false);
      await a.finish("eu-west-1", "done");
      const done = (await readLease(lake, KEY))!.lease;
      assert.equal(done.state, "done");
      assert.deepEqual(
        await b.claim("eu-west-1"),
        { ok: false, reason: SKIP.doneElsewhere },
        "a --once run overlapping the capture does not capture it again",
      );
      const later = crawler(lake, "later", ttl);
      assert.deepEqual(
        await later.claim("eu-west-1"),
        { ok: true },
        "a later run takes a finished unit at once",
      );
      await later.finishAll();
    });

    test("a lease taken over under its holder stops the holder's unit, which then leaves the new lease alone", async () => {
      const lake = open();
      const ttl = TTL[kind];
      const a = crawler(lake, "holder", ttl);
      assert.deepEqual(await a.claim("eu-west-1"), { ok: true });
      // Another crawler overwrites it (as one whose clock runs far ahead would).
      const current = (await lake.getVersioned(KEY))!;
      const thief = newLease("AmazonEC2", "eu-west-1", "thief", { kind: "now" }, 60_000);
      assert.ok(await lake.putIfVersion(KEY, JSON.stringify(thief), current.version));
      const signal = a.signalOf("eu-west-1")!;
      await aborted(signal);
      assert.equal((signal.reason as { code?: string }).code, "LEASE_LOST");
      assert.match(a.lostReason("eu-west-1")!, /another crawler took the lease over/);
      await a.finishAll();
      assert.equal((await readLease(lake, KEY))?.lease.owner, "thief");
    });

    test("a lease whose holder no longer runs on this machine is taken at once; a running or foreign holder's is not", async () => {
      const lake = open();
      assert.ok(PROCESS_TABLE, "Linux's /proc names this process table");
      const dead = await exitedPid();
      const plant = async (fields: Partial<Lease>) => {
        const current = await lake.getVersioned(KEY);
        const lease = { ...newLease("AmazonEC2", "eu-west-1", "killed", { kind: "now" }, 60_000), ...fields };
        assert.ok(await lake.putIfVersion(KEY, JSON.stringify(lease), current?.version ?? null));
      };
      // Held for another minute by a pid of another machine (or container): only its TTL frees it.
      await plant({ pid: dead, processTable: "0123456789abcdef" });
      assert.deepEqual(await crawler(lake, "restart", 60_000).claim("eu-west-1"), {
        ok: false,
        reason: SKIP.heldElsewhere,
      });
      // Held by a running process of this machine (here: this test's own process, another owner).
      await plant({ pid: process.pid, processTable: PROCESS_TABLE });
      assert.deepEqual(await crawler(lake, "restart", 60_000).claim("eu-west-1"), {
        ok: false,
        reason: SKIP.heldElsewhere,
      });
      // Held by a process of this machine that has exited (killed mid-unit): the restart takes it now.
      await plant({ pid: dead, processTable: PROCESS_TABLE });
      const restart = crawler(lake, "restart", 60_000);
      assert.deepEqual(await restart.claim("eu-west-1"), { ok: true });
      const held = (await readLease(lake, KEY))!.lease;
      assert.equal(held.owner, "restart");
      assert.equal(held.pid, process.pid);
      assert.equal(held.processTable, PROCESS_TABLE);
      await restart.finishAll();
    });

    test("a corrupt lease is an error naming its key", async () => {
      const lake = open();
      await lake.putIfVersion(KEY, '{"owner": 42}', null);
      await assert.rejects(
        crawler(lake, "x", 60_000).claim("eu-west-1"),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, "LAKE_CORRUPT");
          assert.ok(err.message.includes(KEY), err.message);
          return true;
        },
      );
    });
  });
}

describe("S3 conditional writes as S3 answers them", () => {
  test("If-Match: 412 PreconditionFailed on another ETag, 404 NoSuchKey when absent, 200 with the new ETag", async () => {
    const put = (key: string, ifMatch: string) =>
      s3.client.send(new PutObjectCommand({ Bucket: "leases", Key: key, Body: "x", IfMatch: ifMatch }));
    const status = (err: unknown) => [
      (err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode,
      (err as { name: string }).name,
    ];
    await assert.rejects(put("wire/absent.json", '"0"'), (err) => {
      assert.deepEqual(status(err), [404, "NoSuchKey"]);
      return true;
    });
    const created = await s3.client.send(
      new PutObjectCommand({ Bucket: "leases", Key: "wire/a.json", Body: "a", IfNoneMatch: "*" }),
    );
    await assert.rejects(put("wire/a.json", '"not-the-etag"'), (err) => {
      assert.deepEqual(status(err), [412, "PreconditionFailed"]);
      return true;
    });
    const replaced = await put("wire/a.json", created.ETag!);
    assert.ok(replaced.ETag && replaced.ETag !== created.ETag);
    assert.equal((await s3.getObject("wire/a.json")).toString(), "x");
  });

  test("409 ConditionalRequestConflict on a lease write is tried again, and the claim is won", async () => {
    const lake = lakes.s3();
    await plantExpired(lake, "killed");
    s3.proxy.fault(
      { op: "PutObject", key: /active\.json$/ },
      { kind: "s3Error", status: 409, code: "ConditionalRequestConflict" },
      2,
    );
    const before = s3.proxy.requestsFor("PutObject").length;
    assert.deepEqual(await crawler(lake, "patient", 60_000).claim("eu-west-1"), { ok: true });
    const puts = s3.proxy.requestsFor("PutObject").slice(before);
    assert.deepEqual(
      puts.map((r) => r.status),
      [409, 409, 200],
    );
    assert.ok(
      puts.every((r) => r.headers["if-match"]),
      "each attempt is conditional on the expired lease's ETag",
    );
    assert.equal((await readLease(lake, KEY))?.lease.owner, "patient");
  });

  test("a renewal the lake refuses stops the unit before its lease can lapse", async () => {
    const lake = lakes.s3();
    const ttl = TTL.s3;
    const a = crawler(lake, "cut-off", ttl);
    assert.deepEqual(await a.claim("eu-west-1"), { ok: true });
    const expiresAt = Date.parse((await readLease(lake, KEY))!.lease.expiresAt);
    s3.proxy.denyAccess({ method: "PUT", keyPrefix: "run-" });
    try {
      const signal = a.signalOf("eu-west-1")!;
      await aborted(signal);
      assert.ok(Date.now() < expiresAt, `stopped ${Date.now() - expiresAt} ms after the lease lapsed`);
      assert.match(a.lostReason("eu-west-1")!, /could not be renewed.*s3:PutObject/);
    } finally {
      s3.proxy.allowAll();
      await a.finishAll();
    }
  });
});
