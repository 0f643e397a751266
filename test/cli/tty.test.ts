// The CLI on a real pseudo-terminal (util-linux `script`): one line of text per log event, never JSON or
// pino-pretty's multi-line blocks, and a live progress line while a slow offer file downloads.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { FakeAwsPricing } from "../fakes/aws-pricing.js";
import { CLI_FROM_SOURCES, cleanEnv, tempDir } from "../helpers.js";

const REGION = "us-east-1";
let aws: FakeAwsPricing;
let pricingUrl: string;

before(async () => {
  aws = new FakeAwsPricing({ regions: [REGION], products: 400 });
  pricingUrl = await aws.start();
});
after(() => aws.close());

/** The offer file in 20 pieces over about 2.5 s, with its length, as a slow link would bring it. */
function slowOffer(bytes: Buffer): Readable {
  const pieces = 20;
  const size = Math.ceil(bytes.length / pieces);
  return Readable.from(
    (async function* () {
      for (let i = 0; i < bytes.length; i += size) {
        await new Promise((r) => setTimeout(r, 125));
        yield bytes.subarray(i, i + size);
      }
    })(),
  );
}

/** Runs a shell command line in a pseudo-terminal 120 columns wide; resolves with everything it wrote. */
function inPty(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  const child = spawn("script", ["-q", "-e", "-c", `stty cols 120 rows 40; ${command}`, "/dev/null"], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}

/** The lines a terminal would show in the end: carriage returns and erase-line applied. */
function screen(raw: string): string[] {
  const lines: string[] = [""];
  // NO_COLOR is set: no colour codes to strip.
  const text = raw.split("\r\n").join("\n").split("\r\x1b[K").join("\r");
  for (const ch of text) {
    if (ch === "\n") lines.push("");
    else if (ch === "\r") lines[lines.length - 1] = "";
    else lines[lines.length - 1] += ch;
  }
  return lines.filter((l) => l !== "");
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

test("on a TTY each event is one line and a long download shows bytes, percent, rate and ETA", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const offer = aws.offerBytes(REGION);
    aws.server.fault(
      { method: "GET", path: aws.offerPath(REGION) },
      {
        kind: "replace",
        reply: {
          status: 200,
          headers: {
            "content-type": "application/json",
            "content-length": offer.length,
            etag: aws.etag(REGION),
          },
          body: slowOffer(offer),
        },
      },
    );
    const env = cleanEnv({ CONTRAIL_AWS_PRICING_URL: pricingUrl, CI: undefined, NO_COLOR: "1" });
    const argv = [process.execPath, ...CLI_FROM_SOURCES, "crawl", "--once", "--source", "AmazonEC2"];
    const { code, out } = await inPty(argv.map(quote).join(" "), dir, env);
    assert.equal(code, 0, out);

    const lines = screen(out);
    assert.ok(lines.length >= 2, out);
    for (const line of lines)
      assert.match(line, /^\d\d:\d\d:\d\d (INFO |WARN |ERROR) \S/, `one line per event: ${line}`);
    assert.ok(
      lines.some((l) => l.includes("contrail crawler starting")),
      out,
    );
    // The status line, as it was drawn while the body trickled in (and then erased).
    const size = String.raw`\d+\.\d [kM]B`;
    assert.match(out, new RegExp(`${REGION} ${size} / ${size} \\d+% ${size}/s ETA 0:0\\d`));
  } finally {
    aws.server.clearFaults();
    cleanup();
  }
});
