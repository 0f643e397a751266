// `contrail price <instance-type>`: what a person asks first — the on-demand price history of a type (what "the
// price" means: OnDemand, hourly, the OS, shared tenancy, no preinstalled software, capacity used) and its spot
// price history per availability zone, as tables and, on a terminal, charts over time.
import type { DuckDBConnection } from "@duckdb/node-api";
import { ConfigError } from "../errors.js";
import { chart, type Period } from "../history/chart.js";
import { render } from "../history/format.js";
import { historyRoot, openHistoryDb } from "../history/query.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";

// The offer's operatingSystem → DescribeSpotPriceHistory's product descriptions (EC2-Classic and VPC names).
const SPOT_PRODUCTS: Record<string, string[]> = {
  Linux: ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
  Windows: ["Windows", "Windows (Amazon VPC)"],
  RHEL: ["Red Hat Enterprise Linux", "Red Hat Enterprise Linux (Amazon VPC)"],
  SUSE: ["SUSE Linux", "SUSE Linux (Amazon VPC)"],
};

export interface PriceOptions extends CommonOptions {
  region?: string;
  os?: string;
  since?: string;
}

export async function priceCommand(instanceType: string, opts: PriceOptions): Promise<number> {
  const os = opts.os ?? "Linux";
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  const spotProducts = SPOT_PRODUCTS[os] ?? [os];
  const onDemandSql = `SELECT region, price, currency, valid_from, valid_to FROM aws_ec2_price_history
         WHERE instance_type = $type AND term_type = 'OnDemand' AND unit = 'Hrs' AND operating_system = $os
           AND tenancy = 'Shared' AND pre_installed_sw = 'NA' AND capacity_status = 'Used'
           AND ($region IS NULL OR region = $region)
           AND ($since IS NULL OR valid_to IS NULL OR valid_to > CAST($since AS TIMESTAMPTZ))
         ORDER BY region, currency, valid_from`;
  const spotSql = `SELECT availability_zone, product_description, price, valid_from, valid_to FROM aws_spot_price_history
         WHERE instance_type = $type AND list_contains(${listLiteral(spotProducts)}, product_description)
           AND ($region IS NULL OR region = $region)
           AND ($since IS NULL OR valid_to IS NULL OR valid_to > CAST($since AS TIMESTAMPTZ))
         ORDER BY availability_zone, product_description, valid_from`;
  const rt = await openRuntime(opts);
  try {
    // Defines the tables and views the two statements name, as for `contrail query`.
    const duck = await openHistoryDb(await historyRoot(rt.config, rt.lake), `${onDemandSql}\n${spotSql}`);
    try {
      const tty = Boolean(process.stdout.isTTY);
      const params = {
        type: instanceType,
        region: opts.region ?? null,
        since: since?.toISOString() ?? null,
      };
      const onDemand = await section(
        duck.connection,
        `On-demand ${instanceType} ${os} (per hour, shared tenancy)`,
        onDemandSql,
        { ...params, os },
        (r) => `${r[0]} ${r[2]}`,
        tty,
      );
      const spot = await section(
        duck.connection,
        `Spot ${instanceType} ${spotProducts.join(" / ")} per availability zone`,
        spotSql,
        params,
        (r) => `${r[0]} ${r[1]}`,
        tty,
      );
      if (onDemand + spot === 0) {
        process.stderr.write(
          `contrail: no price history for ${instanceType} (run \`contrail history\` first?)\n`,
        );
        return 1;
      }
      return 0;
    } finally {
      duck.close();
    }
  } finally {
    await rt.close();
  }
}

/** Prints one titled table (and its chart on a terminal); returns its row count. */
async function section(
  db: DuckDBConnection,
  title: string,
  sql: string,
  params: Record<string, string | null>,
  seriesOf: (row: string[]) => string,
  tty: boolean,
): Promise<number> {
  const reader = await db.runAndReadAll(sql, params);
  const rows = reader.getRows().map((r) => r.map((v) => (v === null ? "" : String(v))));
  process.stdout.write(`\n${title}\n`);
  if (rows.length === 0) {
    process.stdout.write("(no rows)\n");
    return 0;
  }
  process.stdout.write(render(reader, "table"));
  if (tty) {
    const names = reader.columnNames();
    const [price, from, to] = ["price", "valid_from", "valid_to"].map((c) => names.indexOf(c)) as [
      number,
      number,
      number,
    ];
    const time = (s: string) => new Date(s.replace(" ", "T").replace(/\+00$/, "Z"));
    const periods: Period[] = rows.map((r) => ({
      series: seriesOf(r),
      price: Number(r[price]),
      from: time(r[from]!),
      to: r[to] ? time(r[to]!) : null,
    }));
    process.stdout.write(`\n${chart(periods)}`);
  }
  return rows.length;
}

function listLiteral(values: string[]): string {
  return `[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")}]`;
}

function parseSince(text: string): Date {
  const d = new Date(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) {
    throw new ConfigError(
      `--since ${JSON.stringify(text)}: expected a date such as 2026-01-31 (UTC) or an ISO time`,
    );
  }
  return d;
}
