// A lake in a local directory. Writes go to a temp file beside the data (same filesystem) and appear by an
// exclusive hard link, so a key is either absent or complete, and never overwritten.
import { createWriteStream } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join, parse, sep } from "node:path";
import type { Readable } from "node:stream";
import { tap } from "../streams.js";
import { pipeline } from "node:stream/promises";
import { abortError, ContrailError } from "../errors.js";
import type { Lake, LakeEntry } from "../types.js";
import { META } from "./keys.js";
import { processAlive } from "./process.js";

const TMP = `${META}/tmp`;

export class LocalLake implements Lake {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = root;
  }

  async putStream(key: string, body: Readable, signal: AbortSignal): Promise<{ storedBytes: number }> {
    const final = this.path(key);
    const tmp = await this.tempPath();
    let storedBytes = 0;
    const count = tap((chunk) => (storedBytes += chunk.length));
    const out = createWriteStream(tmp, { flags: "wx" });
    try {
      await pipeline(body, count, out, { signal });
      await fsyncFile(tmp);
      await this.publish(tmp, final, key);
      return { storedBytes };
    } catch (err) {
      body.destroy();
      throw signal.aborted ? abortError(signal) : wrapIo(err, key);
    } finally {
      // A body that fails at once fails the pipeline before the temp file's open (on libuv's thread pool) is done:
      // the open would then create the file after it was removed. The stream closes only once it has opened.
      if (!out.closed) await new Promise<void>((resolve) => out.destroy().once("close", () => resolve()));
      await rm(tmp, { force: true });
    }
  }

  async putBytes(key: string, data: Buffer | string, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const final = this.path(key);
    const tmp = await this.tempPath();
    try {
      await writeSynced(tmp, data);
      if (!opts.ifAbsent) {
        await mkdirs(dirname(final));
        await rename(tmp, final);
        return true;
      }
      await this.publish(tmp, final, key);
      return true;
    } catch (err) {
      if (err instanceof ContrailError && err.code === "LAKE_EXISTS") return false;
      throw wrapIo(err, key);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const fh = await open(this.path(key), "r");
      return fh.createReadStream();
    } catch (err) {
      throw wrapIo(err, key);
    }
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw wrapIo(err, key);
    }
  }

  // A versioned object (a lease) is a directory `<key>.versions/` of immutable generations `1`, `2`, …; the newest is
  // the object. A writer expecting generation n creates n+1 with link(2), which fails with EEXIST when n+1 exists, so
  // of several writers expecting n exactly one succeeds, and a killed writer leaves either nothing or a whole file.
  async getVersioned(key: string): Promise<{ data: Buffer; version: string } | undefined> {
    for (;;) {
      const n = await this.newestGeneration(key);
      if (n === undefined) return undefined;
      try {
        return { data: await readFile(join(this.versionsDir(key), String(n))), version: String(n) };
      } catch (err) {
        // Pruned by the writer of a newer generation between the listing and the read: read that one.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw wrapIo(err, key);
      }
    }
  }

  async putIfVersion(
    key: string,
    data: Buffer | string,
    expected: string | null,
  ): Promise<string | undefined> {
    const newest = await this.newestGeneration(key);
    if (expected === null ? newest !== undefined : newest === undefined || String(newest) !== expected)
      return undefined;
    const next = (newest ?? 0) + 1;
    const dir = this.versionsDir(key);
    const mine = join(dir, String(next));
    const tmp = await this.tempPath();
    try {
      await writeSynced(tmp, data);
      await mkdir(dir, { recursive: true });
      await link(tmp, mine);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw wrapIo(err, key);
    } finally {
      await rm(tmp, { force: true });
    }
    // Generations below the newest are pruned, so `next` may have existed and been pruned already: then a newer
    // generation exists and this write never counted.
    if ((await this.newestGeneration(key))! > next) {
      await rm(mine, { force: true });
      return undefined;
    }
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (/^\d+$/.test(name) && Number(name) < next) await rm(join(dir, name), { force: true });
    }
    return String(next);
  }

  async *list(prefix: string, opts: { startAfter?: string } = {}): AsyncIterable<LakeEntry> {
    // Walk only the directory the prefix names (keys are `/`-separated paths).
    const dirPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const keys: string[] = [];
    await this.walk(dirPart, keys);
    const after = opts.startAfter ?? "";
    const selected = keys.filter((k) => k.startsWith(prefix) && k > after && !k.startsWith(`${TMP}/`)).sort();
    for (const key of selected) {
      // A file removed since the walk (a concurrent delete) is simply gone; any other error is the lake's.
      const s = await stat(this.path(key)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw lakeError(err, `cannot read ${key} in ${this.root}`);
      });
      if (s) yield { key, size: s.size, modified: s.mtime };
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  /** Removes temp files left by processes that no longer run (a SIGKILL mid-write). */
  async cleanup(): Promise<void> {
    const dir = this.path(TMP);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(name.split("-")[0]);
      if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
      await rm(join(dir, name), { force: true });
    }
  }

  private async publish(tmp: string, final: string, key: string): Promise<void> {
    await mkdirs(dirname(final));
    try {
      await link(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new ContrailError("LAKE_EXISTS", `${key} exists already in ${this.root}; not overwriting it`);
      }
      throw err;
    }
  }

  private versionsDir(key: string): string {
    return `${this.path(key)}.versions`;
  }

  private async newestGeneration(key: string): Promise<number | undefined> {
    let names: string[];
    try {
      names = await readdir(this.versionsDir(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw wrapIo(err, key);
    }
    const gens = names.filter((n) => /^\d+$/.test(n)).map(Number);
    return gens.length ? Math.max(...gens) : undefined;
  }

  private async tempPath(): Promise<string> {
    const dir = this.path(TMP);
    await mkdirs(dir);
    return join(dir, `${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  }

  private async walk(rel: string, out: string[]): Promise<void> {
    // Only a directory that does not exist is empty: an unreadable one (EACCES, ENOTDIR, EIO) is an error, or
    // `verify` would report "0 captures" and spot windows would restart as if the lake were new.
    const entries = await readdir(this.path(rel), { withFileTypes: true }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return [];
        throw lakeError(err, `cannot list ${this.path(rel)}`);
      },
    );
    for (const e of entries) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await this.walk(key, out);
      else if (e.isFile()) out.push(key);
    }
  }

  private path(key: string): string {
    if (key.split("/").some((p) => p === ".." || p === "."))
      throw new ContrailError("LAKE_IO", `invalid key ${key}`);
    return key ? join(this.root, key.split("/").join(sep)) : this.root;
  }
}

/** Writes a new file and flushes it to disk, so that a link or rename publishes complete bytes. */
async function writeSynced(path: string, data: Buffer | string): Promise<void> {
  const fh = await open(path, "wx");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdir(…, { recursive: true })` never settles under paths where mkdir
 * answers ENOENT although the parent exists (`/proc/x`: 51 000 failed calls in 15 s); here such a path fails at once.
 */
async function mkdirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EEXIST") return ensureDirectory(dir, e);
    if (e.code !== "ENOENT" || dir === parse(dir).root) throw lakeError(e, `cannot create ${dir}`);
  }
  await mkdirs(dirname(dir));
  try {
    await mkdir(dir); // once: a second ENOENT means this filesystem will not take it
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EEXIST") return ensureDirectory(dir, e);
    throw lakeError(e, `cannot create ${dir}`);
  }
}

async function ensureDirectory(dir: string, cause: NodeJS.ErrnoException): Promise<void> {
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw lakeError(cause, `cannot create ${dir}: a file is in the way`);
}

function lakeError(err: NodeJS.ErrnoException, what: string): ContrailError {
  return new ContrailError("LAKE_IO", `${what}: ${err.code ?? err.message}`, { cause: err });
}

function wrapIo(err: unknown, key: string): Error {
  if (err instanceof ContrailError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT")
    return new ContrailError("LAKE_NOT_FOUND", `${key} is not in the lake`, { cause: err });
  if (e.name === "AbortError") return abortError();
  return new ContrailError("LAKE_IO", `cannot write ${key}: ${e.message}`, { cause: err });
}
