// The registry: every source and setting is declared once, and what is built from the declarations holds together.
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { loadConfig, resolveSources } from "../../src/config/load.js";
import { CORE_SETTINGS, HTTP_SETTINGS, SOURCE_BASE_SETTINGS, schemas } from "../../src/config/schema.js";
import { setting, type Setting } from "../../src/config/settings.js";
import { ConfigError } from "../../src/errors.js";
import { SOURCE_NAME } from "../../src/lake/keys.js";
import { defineSource } from "../../src/sources/define.js";
import { SOURCES, selectSources, sourceNamed, sourcesFor } from "../../src/sources/index.js";
import { PROVIDERS } from "../../src/sources/providers.js";
import { tempDir, writeConfig } from "../helpers.js";

const all: readonly Setting[] = [
  ...CORE_SETTINGS,
  ...HTTP_SETTINGS,
  ...PROVIDERS.flatMap((p) => p.settings as readonly Setting[]),
  ...SOURCES.flatMap((s) => s.settings as readonly Setting[]),
];

test("source names are unique key segments; their own settings do not shadow the common ones", () => {
  const names = SOURCES.map((s) => s.name);
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, names.length, "unique, whatever the case");
  for (const s of SOURCES) {
    assert.match(s.name, SOURCE_NAME);
    assert.ok(s.defaultInterval >= 1000, `${s.name}: a default interval`);
    const own = (s.settings as readonly Setting[]).map((x) => x.key);
    for (const base of SOURCE_BASE_SETTINGS) assert.ok(!own.includes(base.key), `${s.name}.${base.key}`);
  }
});

test("every environment variable sets one setting", () => {
  const env = all.flatMap((s) => s.env);
  assert.deepEqual(
    env.filter((e, i) => env.indexOf(e) !== i),
    [],
  );
});

test("secret settings come from the environment only: the config file rejects them", () => {
  const secrets = PROVIDERS.flatMap((p) =>
    (p.settings as readonly Setting[]).filter((s) => s.secret).map((s) => [p.key, s] as const),
  );
  assert.deepEqual(secrets.map(([, s]) => s.env[0]).sort(), [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "CONTRAIL_GCP_API_KEY",
  ]);
  const { dir, cleanup } = tempDir();
  try {
    for (const [section, s] of secrets) {
      writeConfig(dir, { [section]: { [s.key]: "from-the-file" } });
      assert.throws(
        () => loadConfig({ env: {}, cwd: dir }),
        new RegExp(`${section}: unknown key "${s.key}"`),
      );
      const c = loadConfig({ env: { [s.env[0]!]: " from-the-env " }, cwd: "/tmp" }) as unknown as Record<
        string,
        Record<string, unknown>
      >;
      assert.equal(c[section]?.[s.key], "from-the-env");
    }
  } finally {
    cleanup();
  }
});

test("--source and ls --source: any case; an unknown name lists every source", () => {
  const config = loadConfig({ env: {}, cwd: "/tmp" });
  assert.equal(sourceNamed(config, "azureretail").name, "AzureRetail");
  assert.throws(
    () => sourceNamed(config, "Gcp"),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes(`expected one of ${SOURCES.map((s) => s.name).join(", ")}`),
  );
  assert.deepEqual(
    sourcesFor(config).map((s) => s.name),
    SOURCES.map((s) => s.name),
  );
  const { selected, off } = selectSources(config, undefined);
  assert.deepEqual(
    [...selected, ...off.map((o) => o.source)].map((s) => s.name).sort(),
    SOURCES.map((s) => s.name).sort(),
  );
});

test("a source made at config time (a factory's) gets its sources.<Name> settings like any other", () => {
  const made = defineSource({
    name: "AmazonRDS",
    summary: "every region's RDS offer file",
    unit: "the region code",
    needs: "nothing",
    defaultInterval: 24 * 3_600_000,
    settings: [setting({ key: "regionDelay", schema: schemas.duration(0), default: 10_000, doc: "pause" })],
    missing: () => [],
    run: async () => [],
  });
  const fail = (issue: z.core.$ZodIssue): never => {
    throw new ConfigError(`sources.${issue.path.join(".")}: ${issue.message}`);
  };
  const settings = resolveSources([...SOURCES, made], {}, { AmazonRDS: { interval: "6h" } }, fail);
  assert.deepEqual(settings.AmazonRDS, {
    enabled: undefined,
    interval: 6 * 3_600_000,
    cooldown: 120_000,
    regionDelay: 10_000,
  });
  assert.equal(settings.AmazonEC2?.interval, 12 * 3_600_000);
  assert.throws(
    () => resolveSources([...SOURCES, made], {}, { AmazonRDS: { concurrency: 3 } }, fail),
    /unrecognized key|Unrecognized key/i,
  );
});

test("the compiler knows each source's settings (checked by tsc in npm run lint)", () => {
  const c = loadConfig({ env: {}, cwd: "/tmp" });
  assert.equal(c.sources.AmazonEC2.regionDelay, 10_000);
  assert.equal(c.sources.AmazonEC2Spot.concurrency, 34);
  // @ts-expect-error AmazonEC2 declares no `concurrency`: reading it does not compile.
  assert.equal(c.sources.AmazonEC2.concurrency, undefined);
  // @ts-expect-error the `aws` section declares no `bucketRegion`.
  assert.equal(c.aws.bucketRegion, undefined);
  defineSource({
    name: "Example",
    summary: "",
    unit: "",
    needs: "nothing",
    defaultInterval: 60_000,
    settings: [setting({ key: "pageSize", schema: z.number(), default: 100, doc: "" })],
    missing: () => [],
    async run(ctx) {
      const ok: number = ctx.settings.pageSize;
      // @ts-expect-error a setting the source did not declare
      const undeclared: unknown = ctx.settings.pageLimit;
      return [ok, undeclared].length ? [] : [];
    },
  });
});
