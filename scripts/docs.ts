// `npm run docs`: writes the tables that come from the registry (sources, settings) into their marked regions of
// README.md and docs/lake.md. test/docs.test.ts fails when a checked-in table is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { format, resolveConfig } from "prettier";
import { formatDuration } from "../src/config/duration.js";
import {
  CORE_SETTINGS,
  HISTORY_SETTINGS,
  HTTP_SETTINGS,
  SOURCE_BASE_SETTINGS,
} from "../src/config/schema.js";
import type { Setting } from "../src/config/settings.js";
import { FACTORIES, SOURCES } from "../src/sources/index.js";
import { PROVIDERS } from "../src/sources/providers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Environment variables that Node or the AWS SDK read themselves, which Contrail documents but does not declare. */
const READ_BY_OTHERS: string[][] = [
  ["extra trusted CA (private endpoints, tests)", "`NODE_EXTRA_CA_CERTS` (Node's own)", "", "none"],
];

/** Each generated region: the file and the marker name, `<!-- generated:NAME -->` … `<!-- /generated:NAME -->`. */
export const REGIONS: { file: string; name: string; render: () => string }[] = [
  { file: "README.md", name: "sources", render: sourcesTable },
  { file: "README.md", name: "settings", render: settingsTable },
  { file: "docs/lake.md", name: "sources", render: lakeSourcesTable },
];

function table(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head!), line(head!.map(() => "---")), ...body.map(line)].join("\n");
}

const code = (s: string) => `\`${s}\``;
/** The registry's sources, then one of each factory's (e.g. a service of `aws.services`). */
const DESCRIBED = [...SOURCES, ...FACTORIES.flatMap((f) => (f.doc ? [f.doc] : []))];

function sourcesTable(): string {
  return table([
    ["name", "captures", "needs", "default interval", "region segment"],
    ...DESCRIBED.map((s) => [code(s.name), s.summary, s.needs, formatDuration(s.defaultInterval), s.unit]),
  ]);
}

function lakeSourcesTable(): string {
  return table([
    ["source", "captures", "region segment"],
    ...DESCRIBED.map((s) => [code(s.name), s.summary, s.unit]),
  ]);
}

function defaultText(s: Setting): string {
  if (s.defaultDoc !== undefined) return s.defaultDoc;
  const d = s.default;
  if (d === undefined) return "none";
  if (typeof d === "string") return code(d);
  if (typeof d === "function") return "computed";
  return String(d);
}

function settingRow(s: Setting, section: string | undefined): string[] {
  const inFile = !s.secret && s.inFile !== false;
  const key = inFile ? code(section ? `${section}.${s.key}` : s.key) : "";
  const env = s.env.map(code).join(", ");
  return [s.doc + (s.secret ? " (a secret: environment only)" : ""), env, key, defaultText(s)];
}

function settingsTable(): string {
  const [first, ...rest] = SOURCE_BASE_SETTINGS.map((s) => s.key);
  const base = [code(`sources.<Name>.${first}`), ...rest.map((k) => code(`.${k}`))].join(", ");
  return table([
    ["setting", "environment variable", "config file key", "default"],
    ...CORE_SETTINGS.map((s) => settingRow(s, undefined)),
    ...PROVIDERS.flatMap((p) => (p.settings as readonly Setting[]).map((s) => settingRow(s, p.key))),
    ...READ_BY_OTHERS,
    ["per-source settings", "", base, "[Sources](#sources)"],
    ...DESCRIBED.flatMap((src) =>
      (src.settings as readonly Setting[]).map((s) => settingRow(s, `sources.${src.name}`)),
    ),
    ...HTTP_SETTINGS.map((s) => settingRow(s, "http")),
    ...HISTORY_SETTINGS.map((s) => settingRow(s, "history")),
  ]);
}

/** `text` with every region of `file` rendered anew, formatted as `prettier --check` wants it. */
export async function renderFile(file: string, text: string): Promise<string> {
  let out = text;
  for (const r of REGIONS.filter((x) => x.file === file)) {
    const open = `<!-- generated:${r.name} (npm run docs) -->`;
    const close = `<!-- /generated:${r.name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`${file}: no region ${open} … ${close}`);
    out = `${out.slice(0, start + open.length)}\n\n${r.render()}\n\n${out.slice(end)}`;
  }
  const filepath = join(ROOT, file);
  return format(out, { ...(await resolveConfig(filepath)), filepath });
}

export const DOC_FILES = [...new Set(REGIONS.map((r) => r.file))];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const file of DOC_FILES) {
    const path = join(ROOT, file);
    const before = readFileSync(path, "utf8");
    const after = await renderFile(file, before);
    if (after !== before) writeFileSync(path, after);
    process.stdout.write(`${file}: ${after === before ? "up to date" : "written"}\n`);
  }
}
