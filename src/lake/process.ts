// Which process holds a lease, in a form another crawler on the same machine can check: a crawler killed mid-unit
// (SIGKILL, the OOM killer, a power cut of its container) leaves a lease that would keep its restart waiting out the
// TTL. A restart on the same process table sees that the holder no longer runs and takes the unit at once.
import { createHash } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";

/**
 * This process table: the boot (`/proc/sys/kernel/random/boot_id`) and the PID namespace (`/proc/self/ns/pid`), so
 * that containers sharing a kernel, or hosts sharing a name, never judge each other's pids. Undefined where Linux's
 * /proc is not at hand: leases then lapse by their TTL only.
 */
export const PROCESS_TABLE: string | undefined = (() => {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const ns = readlinkSync("/proc/self/ns/pid");
    return createHash("sha256").update(`${boot}\n${ns}`).digest("hex").slice(0, 16);
  } catch {
    return undefined;
  }
})();

/** Whether a pid of this process table runs (one we may not signal runs too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a process recorded as `pid` of `table` is known to be gone: only ever true on the same process table. */
export function processGone(table: string | undefined, pid: number | undefined): boolean {
  return (
    PROCESS_TABLE !== undefined &&
    table === PROCESS_TABLE &&
    pid !== undefined &&
    pid !== process.pid &&
    !processAlive(pid)
  );
}
