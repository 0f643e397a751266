// The terminal for people (SPEC §7): one line per log event, a live download status line that redraws in place
// and never wraps, and periodic JSON progress lines when the output is not a terminal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createConsole } from "../../src/log/logger.js";
import { formatEvent } from "../../src/log/pretty.js";
import { LogProgress, TtyProgress, describe, duration } from "../../src/log/progress.js";
import { Terminal } from "../../src/log/terminal.js";

/** Carriage return and erase-line: how the status line is redrawn. */
const ERASE = "\r\x1b[K";

/** A fake TTY: records what is written, with a width and no colours (unless asked). */
function fakeTty(columns = 100, colors = false) {
  const writes: string[] = [];
  return {
    columns,
    writes,
    hasColors: () => colors,
    write(text: string) {
      writes.push(text);
      return true;
    },
    /** What the screen shows: carriage returns and erase-line applied, as a terminal would. */
    screen(): string[] {
      const lines: string[] = [""];
      for (const ch of writes.join("").split(ERASE).join("\r")) {
        if (ch === "\n") lines.push("");
        else if (ch === "\r") lines[lines.length - 1] = "";
        else lines[lines.length - 1] += ch;
      }
      return lines;
    },
  };
}

const EVENT_FIELDS = {
  level: "warn",
  time: "2026-12-02T05:46:12.345Z",
  app: "contrail",
  msg: "capture failed\nafter 3 attempts",
  source: "AmazonEC2",
  region: "us-east-1",
  key: "AmazonEC2/us-east-1/2026-12-02T05:46:00.000Z.json.gz",
  bytes: 1234,
  attempt: 3,
  err: {
    type: "ContrailError",
    message: "HTTP 503 from https://x/y:\n<html>\n</html>",
    stack: "Error\n  at a\n  at b",
  },
  detail: { nested: ["a\nb", 1] },
  reason: "not enabled: needs AZURE_CLIENT_ID",
};

test("an event is one line: its message, every field, no line break even from stacks and multi-line values", () => {
  const line = formatEvent(EVENT_FIELDS);
  assert.doesNotMatch(line, /[\r\n]/);
  assert.match(line, /^\d\d:\d\d:\d\d WARN {2}capture failed\\nafter 3 attempts /);
  for (const part of [
    "source=AmazonEC2",
    "region=us-east-1",
    "key=AmazonEC2/us-east-1/2026-12-02T05:46:00.000Z.json.gz",
    "bytes=1234",
    "attempt=3",
    'err="HTTP 503 from https://x/y:\\n<html>\\n</html>"',
    'detail={"nested":["a\\nb",1]}',
    'reason="not enabled: needs AZURE_CLIENT_ID"',
  ])
    assert.ok(line.includes(part), `${part} in ${line}`);
  assert.ok(!line.includes("app="), "the fields every line has are not repeated");
});

test("the logger on a TTY writes one line per event, each a line of text, not JSON", () => {
  const tty = fakeTty();
  const { log } = createConsole("info", { pretty: true, destination: tty });
  log.info({ source: "Azure", region: "US", bytes: 5 }, "captured");
  log.warn({ err: new Error("boom\nsecond line") }, "capture failed");
  log.info({ secret: "hunter2", config: { azure: { clientSecret: "s3cr3t" } } }, "loaded");
  const out = tty.writes.join("");
  assert.equal(out.split("\n").length - 1, 3, `three events, three lines:\n${out}`);
  const lines = out.trimEnd().split("\n");
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d INFO {2}captured source=Azure region=US bytes=5$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d WARN {2}capture failed err="boom\\nsecond line"$/);
  assert.ok(!out.includes("hunter2") && !out.includes("s3cr3t"), "secrets are redacted on a TTY too");
});

test("colours only when the terminal has them", () => {
  assert.ok(formatEvent({ level: "error", msg: "x" }, true).includes("\x1b[31mERROR"));
  assert.ok(!formatEvent({ level: "error", msg: "x" }, false).includes("\x1b"));
});

test("the status line redraws in place, log lines scroll above it, and it never wraps", () => {
  const tty = fakeTty(40);
  const term = new Terminal(tty);
  term.setStatus("downloading 1");
  term.line("first event");
  term.setStatus("downloading 2 " + "x".repeat(100));
  term.line("second event");
  term.setStatus("");
  assert.deepEqual(tty.screen(), ["first event", "second event", ""]);
  for (const w of tty.writes) {
    const visible = w.split(ERASE).join("").split("\n");
    for (const l of visible)
      assert.ok(l.length < 40, `no write wider than the terminal: ${JSON.stringify(l)}`);
  }
});

test("TTY progress: a long download shows bytes, percent, rate and ETA, redrawn at most every 250 ms", () => {
  const tty = fakeTty(120);
  let now = 0;
  const progress = new TtyProgress(new Terminal(tty), { now: () => now });
  const dl = progress.start("us-east-1");
  dl.update(1e6, 1.5e9);
  assert.equal(tty.writes.length, 0, "nothing for a download younger than a second");
  let redraws = 0;
  for (now = 1000; now <= 3000; now += 10) {
    const before = tty.writes.length;
    dl.update(now * 100_000, 1.5e9);
    if (tty.writes.length > before) redraws++;
  }
  assert.ok(redraws >= 8 && redraws <= 9, `2 s of updates every 10 ms: about 8 redraws, got ${redraws}`);
  assert.deepEqual(tty.screen(), ["us-east-1 300.0 MB / 1.50 GB 20% 100.0 MB/s ETA 0:12"]);
  dl.end();
  assert.deepEqual(tty.screen(), [""], "the status line goes when the download ends");
});

test("TTY progress: unknown length shows bytes and rate; several downloads share the one line", () => {
  assert.equal(
    describe({ label: "page 3", started: 0, bytes: 2_500, total: undefined }, 2000),
    "page 3 2.5 kB 1.3 kB/s",
  );
  const tty = fakeTty(200);
  let now = 0;
  const progress = new TtyProgress(new Terminal(tty), { now: () => now });
  const a = progress.start("us-east-1");
  const b = progress.start("eu-west-1");
  now = 2000;
  a.update(4e6, 8e6);
  now = 2300;
  b.update(1e6);
  assert.deepEqual(tty.screen(), [
    "us-east-1 4.0 MB / 8.0 MB 50% 1.7 MB/s ETA 0:03  |  eu-west-1 1.0 MB 434.8 kB/s",
  ]);
  a.end();
  assert.deepEqual(tty.screen(), ["eu-west-1 1.0 MB 434.8 kB/s"]);
});

test("durations read as clocks", () => {
  assert.equal(duration(7), "0:07");
  assert.equal(duration(750), "12:30");
  assert.equal(duration(3723), "1:02:03");
});

test("not a TTY: progress is a JSON log line every 10 s per download", () => {
  const lines: Record<string, unknown>[] = [];
  const log = { info: (obj: Record<string, unknown>, msg: string) => lines.push({ ...obj, msg }) };
  let now = 0;
  const progress = new LogProgress(log as never, 10_000, () => now);
  const dl = progress.start("us-east-1", "https://pricing.example/offers/index.json");
  for (now = 0; now <= 25_000; now += 100) dl.update(now * 1000, 50e6);
  dl.end();
  assert.deepEqual(lines, [
    {
      msg: "download progress",
      label: "us-east-1",
      url: "https://pricing.example/offers/index.json",
      bytes: 10e6,
      total: 50e6,
      percent: 20,
      mbPerSec: 1,
    },
    {
      msg: "download progress",
      label: "us-east-1",
      url: "https://pricing.example/offers/index.json",
      bytes: 20e6,
      total: 50e6,
      percent: 40,
      mbPerSec: 1,
    },
  ]);
});
