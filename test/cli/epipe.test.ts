// A reader that stops reading (`contrail query … | head`): the pipe closes under the command's output, Node reports
// EPIPE on stdout, and the command must end quietly with 0, not crash with an unhandled 'error' event and a stack.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanEnv, startCli, tempDir } from "../helpers.js";

test("contrail query piped into a reader that stops after the first chunk: exit 0, nothing on stderr", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const child = startCli(
    [
      "query",
      "--lake",
      dir,
      "--format",
      "csv",
      "SELECT range AS n, 'row ' || range AS s FROM range(2000000)",
    ],
    { cwd: dir, env: cleanEnv() },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const first = await new Promise<string>((resolve) =>
    child.stdout!.once("data", (d: Buffer) => resolve(d.toString())),
  );
  assert.match(first, /^n,s\n0,row 0\n/, "the output began");
  child.stdout!.destroy(); // as `head` closes its end of the pipe
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (c, s) => resolve([c, s])),
  );
  assert.equal(signal, null);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});
