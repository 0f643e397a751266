// A lake in a local directory. Writes go to a temp file beside the data (same filesystem) and appear by an
// exclusive hard link, so a key is either absent or complete, and never overwritten.
import { createWriteStream } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join, sep } from "node:path";
import type { Readable } from "node:stream";
import { tap } from "../streams.js";
import { pipeline } from "node:stream/promises";
import { abortError, ContrailError } from "../errors.js";
import type { Lake, LakeEntry } from "../types.js";
import { META } from "./keys.js";

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
    try {
      const out = createWriteStream(tmp, { flags: "wx" });
      await pipeline(body, count, out, { signal });
      await fsyncFile(tmp);
      await this.publish(tmp, final, key);
      return { storedBytes };
    } catch (err) {
      body.destroy();
      throw signal.aborted ? abortError(signal) : wrapIo(err, key);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async putBytes(key: string, data: Buffer | string, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const final = this.path(key);
    const tmp = await this.tempPath();
    try {
      const fh = await open(tmp, "wx");
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (!opts.ifAbsent) {
        await mkdir(dirname(final), { recursive: true });
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

  async *list(prefix: string, opts: { startAfter?: string } = {}): AsyncIterable<LakeEntry> {
    // Walk only the directory the prefix names (keys are `/`-separated paths).
    const dirPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const keys: string[] = [];
    await this.walk(dirPart, keys);
    const after = opts.startAfter ?? "";
    const selected = keys.filter((k) => k.startsWith(prefix) && k > after && !k.startsWith(`${TMP}/`)).sort();
    for (const key of selected) {
      const s = await stat(this.path(key)).catch(() => undefined);
      if (s) yield { key, size: s.size };
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
      if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
      await rm(join(dir, name), { force: true });
    }
  }

  private async publish(tmp: string, final: string, key: string): Promise<void> {
    await mkdir(dirname(final), { recursive: true });
    try {
      await link(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new ContrailError("LAKE_EXISTS", `${key} exists already in ${this.root}; not overwriting it`);
      }
      throw err;
    }
  }

  private async tempPath(): Promise<string> {
    const dir = this.path(TMP);
    await mkdir(dir, { recursive: true });
    return join(dir, `${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  }

  private async walk(rel: string, out: string[]): Promise<void> {
    const entries = await readdir(this.path(rel), { withFileTypes: true }).catch(() => []);
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

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function wrapIo(err: unknown, key: string): Error {
  if (err instanceof ContrailError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT")
    return new ContrailError("LAKE_NOT_FOUND", `${key} is not in the lake`, { cause: err });
  if (e.name === "AbortError") return abortError();
  return new ContrailError("LAKE_IO", `cannot write ${key}: ${e.message}`, { cause: err });
}
