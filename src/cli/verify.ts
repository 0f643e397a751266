// `contrail verify`: re-reads every capture and checks it against its manifest (sha256 and sizes).
import { createHash } from "node:crypto";
import { tap } from "../streams.js";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { errorMessage } from "../errors.js";
import { manifestKeys, readManifest } from "../lake/records.js";
import type { Lake, Manifest } from "../types.js";
import { sourceFilter } from "./ls.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";

export interface VerifyResult {
  key: string;
  ok: boolean;
  problem?: string;
}

export async function verifyCapture(lake: Lake, m: Manifest): Promise<VerifyResult> {
  const hash = createHash("sha256");
  let bytes = 0;
  let stored = 0;
  try {
    const body = await lake.getStream(m.key);
    await pipeline(
      body,
      tap((chunk) => (stored += chunk.length)),
      createGunzip(),
      async function (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
        }
      },
    );
  } catch (err) {
    return { key: m.key, ok: false, problem: `unreadable: ${errorMessage(err)}` };
  }
  const sha256 = hash.digest("hex");
  if (stored !== m.storedBytes)
    return { key: m.key, ok: false, problem: `stored size ${stored}, manifest says ${m.storedBytes}` };
  if (bytes !== m.bytes)
    return { key: m.key, ok: false, problem: `content size ${bytes}, manifest says ${m.bytes}` };
  if (sha256 !== m.sha256)
    return { key: m.key, ok: false, problem: `sha256 ${sha256}, manifest says ${m.sha256}` };
  return { key: m.key, ok: true };
}

export async function verifyCommand(opts: CommonOptions & { source?: string }): Promise<number> {
  const rt = await openRuntime(opts);
  try {
    const source = sourceFilter(rt.config, opts.source);
    const keys = await manifestKeys(rt.lake, source ? { source } : {});
    let bad = 0;
    for (const key of keys) {
      let result: VerifyResult;
      try {
        const m = await readManifest(rt.lake, key);
        result = m ? await verifyCapture(rt.lake, m) : { key, ok: false, problem: "manifest vanished" };
      } catch (err) {
        result = { key, ok: false, problem: `manifest unreadable: ${errorMessage(err)}` };
      }
      if (!result.ok) bad++;
      process.stdout.write(result.ok ? `ok    ${result.key}\n` : `FAIL  ${result.key}: ${result.problem}\n`);
    }
    process.stdout.write(
      `verified ${keys.length} captures in ${rt.lake.description}: ${keys.length - bad} ok, ${bad} failed\n`,
    );
    return bad > 0 ? 1 : 0;
  } finally {
    await rt.close();
  }
}
