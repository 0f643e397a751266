// The docs' tables of sources and settings are generated from the registry (`npm run docs`): a registry change
// without regenerated docs fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DOC_FILES, renderFile } from "../scripts/docs.js";
import { SOURCES } from "../src/sources/index.js";
import { ROOT } from "./helpers.js";

for (const file of DOC_FILES) {
  test(`${file}: the generated tables are up to date (npm run docs)`, async () => {
    const text = readFileSync(join(ROOT, file), "utf8");
    assert.equal(text, await renderFile(file, text), `${file} is stale: run npm run docs`);
  });
}

test("README: a row per source of the registry", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  for (const s of SOURCES)
    assert.match(
      readme,
      new RegExp(`^\\| \`${s.name}\` +\\| ${s.summary.replace(/[.*+?^${}()|[\]\\`]/g, "\\$&")}`, "m"),
    );
});
