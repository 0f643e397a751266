// Secrets in log lines (SPEC §3, §6): redaction by configuration. Paths (`config.gcp.apiKey`) are pino's redaction;
// a secret inside a string (Google's key in a URL's query, in an error message) is taken out of every serialised
// line by the values the configuration declares secret, whatever the call site logged, on a terminal too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/load.js";
import { createLogger, secretValues } from "../../src/log/logger.js";
import type { TerminalStream } from "../../src/log/terminal.js";

const KEY = "AIzaSyD-a+very/secret_key0123456789abcd";

function capture(pretty: boolean): { out: () => string; destination: TerminalStream } {
  let text = "";
  const destination = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    }),
    { isTTY: pretty, columns: 120 },
  ) as unknown as TerminalStream;
  return { out: () => text, destination };
}

test("the configuration's secret values are what the logger scrubs", () => {
  const config = loadConfig({
    env: { CONTRAIL_GCP_API_KEY: KEY, AZURE_CLIENT_SECRET: "short" },
    cwd: "/tmp",
  });
  // Too short a value would cut ordinary words out of lines: no real key is that short.
  assert.deepEqual(secretValues(config), [KEY]);
});

for (const pretty of [false, true]) {
  test(`a secret inside any string never reaches a ${pretty ? "terminal" : "JSON"} line: as is, JSON-escaped or percent-encoded`, () => {
    const { out, destination } = capture(pretty);
    const log = createLogger("debug", { pretty, destination, secrets: [KEY] });
    log.child({ url: `https://cloudbilling.googleapis.com/v1/services?key=${KEY}` }).warn("retrying");
    log.error({ err: `HTTP 400 from /v1/services?key=${encodeURIComponent(KEY)}` }, `failed with ${KEY}`);
    log.info({ nested: { deep: [`"${KEY}"`] } }, "quoted");
    log.flush?.();
    const text = out();
    assert.ok(text.includes("retrying") && text.includes("quoted"), text);
    for (const form of [KEY, encodeURIComponent(KEY), JSON.stringify(KEY).slice(1, -1)])
      assert.ok(!text.includes(form), `${form} in: ${text}`);
    assert.ok(text.includes("key=[redacted]"), "the URL says a key was there");
  });
}
