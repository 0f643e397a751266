// Start-up as a user meets it: no AWS SDK notice about future Node versions on Node 20, and a clear message when
// the compiled build is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cleanEnv, runCli, tempDir } from "../helpers.js";

test("the AWS SDK's Node-version notice is not printed (the SDK's own switch), a user's own setting wins", async () => {
  const { dir, cleanup } = tempDir();
  // An S3 endpoint that denies everything, as S3 does without s3:ListBucket: the S3 client is built (that is when
  // the SDK warns), then the lake probe fails at once (403 is not retried).
  const denied = createServer((_req, res) => {
    res.writeHead(403, { "content-type": "application/xml" });
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
    );
  });
  await new Promise<void>((r) => denied.listen(0, "127.0.0.1", r));
  try {
    const s3 = {
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(denied.address() as AddressInfo).port}`,
      CONTRAIL_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    };
    const quiet = await runCli(["ls", "--lake", "s3://lake"], { cwd: dir, env: cleanEnv(s3) });
    assert.match(quiet.stderr, /AccessDenied|denied/i, "the lake probe failed");
    assert.doesNotMatch(quiet.stderr, /NodeVersionSupportWarning/);
    if (Number(process.versions.node.split(".")[0]) < 22) {
      const asked = await runCli(["ls", "--lake", "s3://lake"], {
        cwd: dir,
        env: cleanEnv({ ...s3, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "false" }),
      });
      assert.match(
        asked.stderr,
        /NodeVersionSupportWarning/,
        "the notice is the SDK's, shown when asked for",
      );
    }
  } finally {
    denied.close();
    cleanup();
  }
});
