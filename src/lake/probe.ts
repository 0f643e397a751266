// The start-up probe (SPEC §6): a lake that cannot be written, listed or cleaned is found before any download,
// not after hours of it. Writes a small object under `_contrail/probe/`, lists it back, and removes it.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ConfigError, errorMessage, isAbortError } from "../errors.js";
import type { Lake } from "../types.js";
import { META } from "./keys.js";

const PROBE_PREFIX = `${META}/probe/`;

/**
 * Proves the lake takes what a crawl needs; throws a ConfigError (exit 2) naming `setting` (the flag or variable
 * that chose the lake) and the reason. One key per process, so crawlers starting together do not collide.
 */
export async function probeLake(lake: Lake, setting: string, signal?: AbortSignal): Promise<void> {
  const key = `${PROBE_PREFIX}${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}.json`;
  let step = "write to";
  try {
    await lake.putBytes(key, JSON.stringify({ probe: true, at: new Date().toISOString() }), {
      ifAbsent: true,
      ...(signal ? { signal } : {}),
    });
    step = "list";
    let seen = false;
    for await (const e of lake.list(PROBE_PREFIX, signal ? { signal } : {})) if (e.key === key) seen = true;
    if (!seen) throw new Error(`the object ${key} just written is not listed`);
    step = "remove from";
    await lake.delete(key);
  } catch (err) {
    if (step !== "write to") await lake.delete(key).catch(() => undefined);
    if (isAbortError(err)) throw err;
    throw new ConfigError(`${setting}: cannot ${step} the lake ${lake.description}: ${errorMessage(err)}`);
  }
}
