// SIGINT/SIGTERM policy (SPEC §6), against a fake process: before a command winds down, a signal exits 0 at once;
// after, the first aborts the command's signal and exits 0 after the grace period, a second exits 130 at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Shutdown } from "../../src/cli/shutdown.js";

function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    exits,
    on: (e: NodeJS.Signals, l: (s: NodeJS.Signals) => void) => emitter.on(e, l),
    off: (e: NodeJS.Signals, l: (s: NodeJS.Signals) => void) => emitter.off(e, l),
    exit: (code: number) => void exits.push(code),
    send: (sig: NodeJS.Signals) => emitter.emit(sig, sig),
    listeners: () => emitter.listenerCount("SIGINT") + emitter.listenerCount("SIGTERM"),
  };
}

function recorder() {
  const said: string[] = [];
  return {
    said,
    log: {
      stopping: (s: NodeJS.Signals) => void said.push(`stopping ${s}`),
      forced: (s: NodeJS.Signals) => void said.push(`forced ${s}`),
      overdue: () => void said.push("overdue"),
    },
  };
}

test("a signal before any command winds down exits 0 at once: nothing has started", () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc);
  proc.send("SIGTERM");
  assert.deepEqual(proc.exits, [0]);
  assert.equal(shutdown.signal.aborted, false);
  shutdown.dispose();
  assert.equal(proc.listeners(), 0);
});

test("winding down: the first signal aborts and is logged, a second exits 130 at once", () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc, 60_000);
  const { said, log } = recorder();
  const signal = shutdown.windDown(log);
  proc.send("SIGINT");
  assert.equal(signal.aborted, true);
  assert.deepEqual(proc.exits, [], "the command gets its chance to stop cleanly");
  proc.send("SIGTERM");
  assert.deepEqual(proc.exits, [130]);
  assert.deepEqual(said, ["stopping SIGINT", "forced SIGTERM"]);
  shutdown.dispose();
});

test("winding down: a command still running after the grace period is ended with 0", async () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc, 20);
  const { said, log } = recorder();
  shutdown.windDown(log);
  proc.send("SIGTERM");
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(proc.exits, [0]);
  assert.deepEqual(said, ["stopping SIGTERM", "overdue"]);
  shutdown.dispose();
});

test("without a signal, a command that returned is never ended by the policy", async () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc, 20);
  shutdown.windDown(recorder().log);
  shutdown.dispose();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(proc.exits, []);
  assert.equal(proc.listeners(), 0);
});

test("after a signal, a command that returned but left something holding the event loop still ends in time", async () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc, 20);
  const { said, log } = recorder();
  shutdown.windDown(log);
  proc.send("SIGTERM");
  shutdown.dispose();
  assert.deepEqual(proc.exits, [], "not at once: the process normally ends on its own first");
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(proc.exits, [0], "not left running as a crawler that was told to stop");
  assert.deepEqual(said, ["stopping SIGTERM", "overdue"]);
});

test("the reader of stdout gone before any command winds down: exits 0 at once", () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc);
  shutdown.outputClosed();
  assert.deepEqual(proc.exits, [0]);
  shutdown.dispose();
});

test("the reader of stdout gone while winding down: the command is stopped as by a signal, unlogged, ended with 0 after the grace period", async () => {
  const proc = fakeProcess();
  const shutdown = new Shutdown(proc, 20);
  const { said, log } = recorder();
  const signal = shutdown.windDown(log);
  shutdown.outputClosed();
  assert.equal(signal.aborted, true);
  assert.deepEqual(proc.exits, [], "the command gets its chance to stop cleanly");
  shutdown.outputClosed();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(proc.exits, [0]);
  assert.deepEqual(said, [], "nothing is logged to an output that is gone");
  shutdown.dispose();
});
